// Runs the integration suites inside a real VS Code: test/vscode/suite in a trusted
// workspace, test/vscode/suite-restricted in Restricted Mode.
// HEAVY_VSCODE_LAUNCHER=server (default; works offline): the VS Code server from code-server in Chromium.
// HEAVY_VSCODE_LAUNCHER=electron: desktop VS Code through @vscode/test-electron (needs a download).
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installServer, makeWorkspace, openBrowser, repoRoot, startServer, withTimeout } from './server.mjs';

const launcher = process.env.HEAVY_VSCODE_LAUNCHER ?? 'server';
const timeoutMs = Number(process.env.HEAVY_VSCODE_TIMEOUT_MS ?? 10 * 60 * 1000);
const SUITES = [
  { name: 'suite', trusted: true },
  { name: 'suite-restricted', trusted: false },
];

execFileSync(process.execPath, [join(repoRoot, 'scripts/build.mjs'), '--tests'], { stdio: 'inherit', cwd: repoRoot });
const serverDir = launcher === 'server' ? installServer() : undefined;

async function viaServer(suite, workspace, results, env) {
  const server = await startServer({ serverDir, env, trusted: suite.trusted });
  let browser;
  let page;
  try {
    const payload = [
      ['extensionDevelopmentPath', server.remote(repoRoot)],
      ['extensionTestsPath', server.remote(join(repoRoot, 'out/test/vscode', suite.name, 'index.js'))],
      ['skipWelcome', 'true'],
    ];
    ({ browser, page } = await openBrowser(server.url(workspace, payload)));
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error' && /heavy|Activating|Cannot find/i.test(m.text())) errors.push(m.text()); });
    try {
      await withTimeout((async () => {
        while (!existsSync(results)) {
          if (/Extension Host Process exited/.test(server.output())) {
            await new Promise((r) => setTimeout(r, 1000));
            if (!existsSync(results)) throw new Error('the extension host exited without reporting results');
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      })(), timeoutMs, `the integration suite ${suite.name}`);
    } catch (err) {
      mkdirSync(join(repoRoot, '.vscode-test'), { recursive: true });
      await page.screenshot({ path: join(repoRoot, '.vscode-test', `integration-${suite.name}-failure.png`) }).catch(() => {});
      console.error(errors.join('\n'));
      console.error(server.output().slice(-4000));
      throw err;
    }
  } finally {
    await browser?.close();
    await server.stop();
  }
}

async function viaElectron(suite, workspace, env) {
  const { runTests } = await import('@vscode/test-electron');
  await runTests({
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: join(repoRoot, 'out/test/vscode', suite.name, 'index.js'),
    launchArgs: [workspace, '--disable-extensions', ...(suite.trusted ? ['--disable-workspace-trust'] : [])],
    extensionTestsEnv: env,
  });
}

let ok = true;
for (const suite of SUITES) {
  const workspace = makeWorkspace(suite.name);
  // Time tracking on from the first moment, as for a user who turned it on: the status bar
  // must appear within a second of activation. Keys go to a throwaway config folder.
  appendFileSync(join(workspace, 'pyproject.toml'), '\n[tool.heavy.time]\nenabled = true\nuser = "ada"\n');
  const tmp = mkdtempSync(join(tmpdir(), 'heavy-results-'));
  const results = join(tmp, 'results.json');
  const env = { HEAVY_TEST_RESULTS: results, HEAVY_TEST_WORKSPACE: workspace, HEAVY_CONFIG_DIR: join(tmp, 'config'), HEAVY_TEST_GREP: process.env.HEAVY_TEST_GREP ?? '' };
  try {
    await (launcher === 'electron' ? viaElectron(suite, workspace, env) : viaServer(suite, workspace, results, env));
  } catch (err) {
    if (!existsSync(results)) {
      console.error(`integration tests (${suite.name}): ${err.message}`);
      ok = false;
      continue;
    }
  }
  // The Testing view started the workspace's test daemon; it outlives the window by design.
  execFileSync(process.execPath, [join(repoRoot, 'dist', 'heavy.js'), 'daemon', 'stop', '--root', workspace], { stdio: 'ignore' });
  const report = JSON.parse(readFileSync(results, 'utf8'));
  for (const t of report.tests) {
    console.log(`  ${t.state === 'passed' ? 'ok  ' : 'FAIL'} ${t.title} (${t.duration ?? 0} ms)`);
    if (t.error) console.log(`       ${t.error.replace(/\n/g, '\n       ')}`);
  }
  for (const m of report.measurements ?? []) console.log(`  measured: ${m}`);
  console.log(`integration ${suite.name} (${launcher}, VS Code ${report.vscodeVersion}, ${suite.trusted ? 'trusted' : 'Restricted Mode'}): ${report.passed} passed, ${report.failed} failed`);
  ok &&= report.failed === 0 && report.passed > 0;
}
process.exit(ok ? 0 : 1);
