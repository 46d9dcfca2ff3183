// Runs the integration suite (test/vscode/suite) inside a real VS Code.
// HEAVY_VSCODE_LAUNCHER=server (default; works offline): the VS Code server from code-server in Chromium.
// HEAVY_VSCODE_LAUNCHER=electron: desktop VS Code through @vscode/test-electron (needs a download).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installServer, makeWorkspace, openBrowser, repoRoot, startServer, withTimeout } from './server.mjs';

const launcher = process.env.HEAVY_VSCODE_LAUNCHER ?? 'server';
const timeoutMs = Number(process.env.HEAVY_VSCODE_TIMEOUT_MS ?? 10 * 60 * 1000);

execFileSync(process.execPath, [join(repoRoot, 'scripts/build.mjs'), '--tests'], { stdio: 'inherit', cwd: repoRoot });
const workspace = makeWorkspace('it');
const results = join(mkdtempSync(join(tmpdir(), 'heavy-results-')), 'results.json');
const testsPath = join(repoRoot, 'out/test/vscode/suite/index.js');
const env = { HEAVY_TEST_RESULTS: results, HEAVY_TEST_WORKSPACE: workspace };

async function viaServer() {
  const server = await startServer({ serverDir: installServer(), env });
  let browser;
  try {
    const payload = [
      ['extensionDevelopmentPath', server.remote(repoRoot)],
      ['extensionTestsPath', server.remote(testsPath)],
      ['skipWelcome', 'true'],
    ];
    let page;
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
      })(), timeoutMs, 'the integration suite');
    } catch (err) {
      await page.screenshot({ path: join(repoRoot, '.vscode-test', 'integration-failure.png') }).catch(() => {});
      console.error(errors.join('\n'));
      console.error(server.output().slice(-4000));
      throw err;
    }
  } finally {
    await browser?.close();
    await server.stop();
  }
}

async function viaElectron() {
  const { runTests } = await import('@vscode/test-electron');
  await runTests({
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: testsPath,
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
    extensionTestsEnv: env,
  });
}

try {
  await (launcher === 'electron' ? viaElectron() : viaServer());
} catch (err) {
  console.error(`integration tests: ${err.message}`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(results, 'utf8'));
for (const t of report.tests) {
  console.log(`  ${t.state === 'passed' ? 'ok  ' : 'FAIL'} ${t.title} (${t.duration ?? 0} ms)`);
  if (t.error) console.log(`       ${t.error.replace(/\n/g, '\n       ')}`);
}
console.log(`integration (${launcher}, VS Code ${report.vscodeVersion}): ${report.passed} passed, ${report.failed} failed`);
process.exit(report.failed === 0 && report.passed > 0 ? 0 : 1);
