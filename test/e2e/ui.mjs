// End-to-end UI test: installs the packaged .vsix into a real VS Code (server + Chromium),
// opens the example project with no launch.json and, like a user, runs
// "Debug: Select and Start Debugging" from the command palette. The Heavy Dev profiles
// must be listed, and the extension must have activated without errors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installServer, makeWorkspace, openBrowser, repoRoot, startServer, withTimeout } from '../vscode/server.mjs';

const PROFILES = ['Hot Reload Server', 'Run Server', 'Test Daemon', 'Pave DB', 'Create and Test Migrations'];
const vsix = join(repoRoot, 'dist/heavy-dev.vsix');
const shots = join(repoRoot, '.vscode-test');
mkdirSync(shots, { recursive: true });

if (!existsSync(vsix) || process.env.HEAVY_REPACKAGE !== '0') {
  execFileSync('npm', ['run', '--silent', 'package'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
}
const serverDir = installServer();
const workspace = makeWorkspace('ui');
const server = await startServer({ serverDir });
let browser;
let page;
try {
  const install = execFileSync(process.execPath, [server.main, '--install-extension', vsix, '--extensions-dir', server.extDir,
    '--user-data-dir', server.userData], { encoding: 'utf8' });
  assert.match(install, /heavy-dev.*successfully installed/i, install);

  ({ browser, page } = await openBrowser(server.url(workspace)));
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });

  await withTimeout((async () => {
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    await page.waitForSelector('.statusbar', { timeout: 60000 });
    // Give the extension host a moment to activate workspaceContains extensions.
    await page.waitForTimeout(3000);
    // The command appears once the debuggers contributed by extensions are known; retry until then.
    const command = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Debug: Select and Start Debugging' }).first();
    for (let attempt = 0; ; attempt++) {
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ timeout: 20000 });
      await input.fill('>Debug: Select and Start Debugging');
      try {
        await command.waitFor({ timeout: 3000 });
        break;
      } catch (err) {
        if (attempt >= 20) throw err;
        await page.keyboard.press('Escape');
        await page.waitForTimeout(2000);
      }
    }
    await command.click();
    // Dynamic configurations are grouped under the debugger's label, "Heavy Dev...".
    const group = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Heavy Dev' }).first();
    await group.waitFor({ timeout: 30000 });
    await page.screenshot({ path: join(shots, 'ui-select-and-start.png') });
    await group.click();
    const rows = page.locator('.quick-input-list .monaco-list-row');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Create and Test Migrations' }).first().waitFor({ timeout: 30000 });
    // Each row's accessible name is "<profile>, <folder>".
    const labels = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    assert.ok(labels.every((l) => l.endsWith(', example')), `every profile belongs to the example folder: ${labels.join(' | ')}`);
    labels.forEach((l, i) => { labels[i] = l.slice(0, -', example'.length); });
    await page.screenshot({ path: join(shots, 'ui-heavy-profiles.png') });
    assert.deepEqual(labels, PROFILES, `the picker lists each profile once, in order; it shows: ${labels.join(' | ')}`);
    await page.keyboard.press('Escape');
  })(), 180000, 'the UI test');

  const activationErrors = consoleErrors.filter((e) => /heavy-dev/i.test(e));
  assert.deepEqual(activationErrors, [], 'no errors from Heavy Dev in the window');
  const hostLog = server.logs().filter((f) => /exthost/.test(f) && f.endsWith('remoteexthost.log')).map((f) => readFileSync(f, 'utf8')).join('\n');
  assert.match(hostLog, /ExtensionService#_doActivateExtension heavy-dev\.heavy-dev/, 'the installed extension activated');
  assert.doesNotMatch(hostLog, /Activating extension heavy-dev\.heavy-dev failed/);
  console.log(`e2e UI: the .vsix installed, activated and its ${PROFILES.length} profiles are listed in "Debug: Select and Start Debugging"`);
} catch (err) {
  await page?.screenshot({ path: join(shots, 'ui-failure.png') }).catch(() => {});
  console.error(`e2e UI test failed: ${err.stack ?? err}`);
  console.error(server.output().slice(-3000));
  process.exitCode = 1;
} finally {
  await browser?.close();
  await server.stop();
}
