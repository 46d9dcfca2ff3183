import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID, api, folder, until } from '../support';

/** Printed by the launcher after the run (the extension host's console is not visible there). */
function measured(line: string): void {
  const g = globalThis as { heavyMeasurements?: string[] };
  (g.heavyMeasurements ??= []).push(line);
  console.log(`      ${line}`);
}

/** Diagnostics Heavy Dev put on the project's time logs. */
function timeDiagnostics(): Array<[vscode.Uri, vscode.Diagnostic[]]> {
  return vscode.languages.getDiagnostics()
    .map(([uri, list]) => [uri, list.filter((d) => d.source === 'heavy time verify')] as [vscode.Uri, vscode.Diagnostic[]])
    .filter(([, list]) => list.length);
}

describe('The command palette', function () {
  this.timeout(180000);

  it('activates cheaply (timed and printed)', async () => {
    const a = await api();
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    // Loading the bundle is part of activation: time a fresh load of it in this extension host.
    const bundle = path.join(ext.extensionPath, 'dist', 'extension.js');
    const t0 = performance.now();
    delete require.cache[require.resolve(bundle)];
    require(bundle);
    const loadMs = performance.now() - t0;
    const parts = Object.entries(a.activationTimings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
    measured(`activation: activate() ${a.activationMs.toFixed(1)} ms (${parts}), loading the bundle ${loadMs.toFixed(1)} ms`);
    assert.ok(a.activationMs < 50, `activate() took ${a.activationMs} ms`);
  });

  it('registers every command of the package under the Heavy category', async () => {
    await api();
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const contributed = (ext.packageJSON.contributes.commands as Array<{ command: string; category: string }>);
    const wanted = ['heavy.addProfilesToLaunchJson', 'heavy.cementTime', 'heavy.showTimeReport', 'heavy.verifyTimeLogs',
      'heavy.pauseTimeTracking', 'heavy.resumeTimeTracking', 'heavy.enableTimeTracking', 'heavy.paveDb',
      'heavy.createAndTestMigrations', 'heavy.checkMigrations', 'heavy.startTestDaemon', 'heavy.stopTestDaemon',
      'heavy.restartTestDaemon', 'heavy.showDaemonStatus', 'heavy.replayRecording'];
    for (const id of wanted) assert.ok(contributed.some((c) => c.command === id), `${id} is contributed`);
    assert.ok(contributed.every((c) => c.category === 'Heavy'));
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const c of contributed) assert.ok(registered.has(c.command), `${c.command} is registered`);
  });

  it('has a Get Started walkthrough of four steps whose pages ship in media/', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const [walkthrough] = ext.packageJSON.contributes.walkthroughs as Array<{ id: string; steps: Array<{ id: string; media: { markdown: string } }> }>;
    assert.deepEqual(walkthrough.steps.map((s) => s.id), ['profiles', 'tests', 'debug', 'time']);
    for (const step of walkthrough.steps) assert.ok(fs.existsSync(path.join(ext.extensionPath, step.media.markdown)), step.media.markdown);
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${EXTENSION_ID}#${walkthrough.id}`, false);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('the status bar shows time within a second of activation, then follows an edit without polling', async () => {
    const a = await api();
    const first = await until('the status-bar item', 10000, () => (a.time.statusBar().visible ? a.time.statusBar() : undefined));
    measured(`status bar: first shown ${first.firstShownMs?.toFixed(0)} ms after activation: "${first.text}"`);
    assert.ok(first.firstShownMs !== undefined && first.firstShownMs < 1000, `first shown after ${first.firstShownMs} ms`);
    const ready = await until('the daemon\'s first answer', 60000, () => a.time.statusBar().snapshot);
    const answeredMs = a.time.statusBar().firstAnswerMs?.toFixed(0);
    assert.equal(ready.status.user, 'ada');
    const pushesBefore = a.time.statusBar().pushes;
    const lastBefore = ready.status.lastActivity;
    // A saved edit: the daemon's watcher records it and pushes at once.
    const file = path.join(folder().uri.fsPath, 'app', 'logic.py');
    const edited = Date.now();
    fs.appendFileSync(file, '\n# edited for the status bar\n');
    const after = await until('a pushed snapshot after the edit', 15000, () => {
      const r = a.time.statusBar();
      return r.pushes > pushesBefore && r.snapshot?.status.active && r.snapshot.status.lastActivity !== lastBefore ? r : undefined;
    });
    measured(`status bar: "${after.text}" ${Date.now() - edited} ms after a saved edit (pushed by the daemon, reason ${after.snapshot!.reason}); daemon's first answer ${answeredMs} ms after activation`);
    assert.match(after.text, /\$\(pulse\) \dh \d\dm/);
    assert.match(after.tooltip, /command:heavy\.cementTime/);
    assert.match(after.tooltip, /Branch/);
  });

  it('Cement Time writes the ledger, then Verify passes with an empty Problems panel', async () => {
    const root = folder().uri.fsPath;
    const a = await api();
    // Some activity to cement (the status-bar test made some too), once the daemon tracks.
    const before = await until('the daemon tracking time', 60000, () => a.time.status(folder()).catch(() => null));
    fs.appendFileSync(path.join(root, 'app', 'models.py'), '\n# more work\n');
    await until('the edit recorded', 15000, async () => (await a.time.status(folder()))?.lastActivity !== before!.lastActivity || undefined);
    const cemented = await vscode.commands.executeCommand<{ blocks: number; file: string; message: string }>('heavy.cementTime');
    assert.ok(cemented.blocks >= 1, cemented.message);
    assert.match(cemented.message, /^Cemented \d+ blocks?, .+, into \.heavy\/time\/ada\.jsonl/);
    assert.ok(fs.existsSync(path.join(root, '.heavy', 'time', 'ada.jsonl')));
    const again = await vscode.commands.executeCommand<{ blocks: number; message: string }>('heavy.cementTime');
    assert.equal(again.blocks, 0);
    assert.match(again.message, /^Nothing new to cement/);
    const verified = await vscode.commands.executeCommand<{ ok: boolean }>('heavy.verifyTimeLogs');
    assert.equal(verified.ok, true);
    assert.deepEqual(timeDiagnostics(), []);
  });

  it('a tampered ledger line becomes a diagnostic at that line; a clean verify clears it', async () => {
    const ledger = path.join(folder().uri.fsPath, '.heavy', 'time', 'ada.jsonl');
    const original = fs.readFileSync(ledger, 'utf8');
    const lines = original.split('\n');
    const record = JSON.parse(lines[0]);
    record.seconds += 3600;
    record.end = new Date(Date.parse(record.end) + 3600_000).toISOString();
    lines[0] = JSON.stringify(record);
    fs.writeFileSync(ledger, lines.join('\n'));
    try {
      const result = await vscode.commands.executeCommand<{ ok: boolean }>('heavy.verifyTimeLogs');
      assert.equal(result.ok, false);
      const diags = timeDiagnostics();
      assert.equal(diags.length, 1);
      assert.equal(diags[0][0].fsPath, ledger);
      assert.ok(diags[0][1].some((d) => d.range.start.line === 0 && /bad signature/.test(d.message)), diags[0][1].map((d) => `${d.range.start.line}: ${d.message}`).join('\n'));
    } finally {
      fs.writeFileSync(ledger, original);
    }
    await vscode.commands.executeCommand('heavy.verifyTimeLogs');
    assert.deepEqual(timeDiagnostics(), []);
  });

  it('Pause and Resume change the status bar (pushed) and the context the palette follows', async () => {
    const a = await api();
    await vscode.commands.executeCommand('heavy.pauseTimeTracking');
    await until('the paused status', 10000, () => a.time.statusBar().snapshot?.status.paused);
    assert.match(a.time.statusBar().text, /debug-pause.*paused/);
    await vscode.commands.executeCommand('heavy.resumeTimeTracking');
    await until('the resumed status', 10000, () => a.time.statusBar().snapshot?.status.paused === false);
  });

  it('Show Time Report renders a chart with per-day, per-branch and per-user totals', async () => {
    const a = await api();
    const report = await vscode.commands.executeCommand<{ cemented: number; users: Array<{ name: string }>; badge: string }>('heavy.showTimeReport');
    assert.ok(report.cemented > 0);
    assert.deepEqual(report.users.map((u) => u.name), ['ada']);
    assert.equal(report.badge, 'verified');
    const { html } = a.time.lastReport()!;
    assert.match(html, /<svg class="chart"/);
    assert.match(html, /<rect class="bar c0/);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    assert.doesNotMatch(html, /<script|https?:\/\//);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('Enable Time Tracking edits pyproject.toml and keeps its comments and formatting', async () => {
    const pyproject = path.join(folder().uri.fsPath, 'pyproject.toml');
    const original = fs.readFileSync(pyproject, 'utf8');
    const without = original.replace(/\n\[tool\.heavy\.time\][^[]*$/, '\n').replace('[tool.heavy]\n', '[tool.heavy]  # heavy settings\n');
    fs.writeFileSync(pyproject, without);
    try {
      assert.equal(await vscode.commands.executeCommand('heavy.enableTimeTracking'), true);
      const text = fs.readFileSync(pyproject, 'utf8');
      assert.ok(text.startsWith(without), 'everything before is untouched');
      assert.match(text.slice(without.length), /^\n?\[tool\.heavy\.time\]\nenabled = true\n$/);
      assert.equal(await vscode.commands.executeCommand('heavy.enableTimeTracking'), false, 'a second time changes nothing');
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      fs.writeFileSync(pyproject, original);
    }
  });

  it('Pave DB names the database (password masked) and paves it', async () => {
    const root = folder().uri.fsPath;
    const r = await vscode.commands.executeCommand<{ ok: boolean; message: string; question: string }>('heavy.paveDb', { yes: true });
    assert.equal(r.ok, true, r.message);
    assert.match(r.question, /^Pave DB drops every table of DATABASE_URL=sqlite:\/\/\/\.\/dev\.db and creates them again, then runs python -m scripts\.seed\. Continue\?$/);
    assert.match(r.message, /Paved .* and seeded it/);
    assert.ok(fs.existsSync(path.join(root, 'dev.db')));
  });

  it('Check Migrations and Create and Test Migrations answer as messages', async () => {
    const check = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('heavy.checkMigrations');
    assert.equal(check.ok, true, check.message);
    assert.match(check.message, /models match the migrations/);
    const migrate = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('heavy.createAndTestMigrations');
    assert.equal(migrate.ok, true, migrate.message);
    assert.equal(migrate.message, 'No model changes: no migration created.');
  });

  it('Show Daemon Status, Stop, Start and Restart the test daemon', async () => {
    const shown = await vscode.commands.executeCommand<{ running: boolean; pid: number; message: string }>('heavy.showDaemonStatus');
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    assert.equal(shown.running, true);
    assert.match(shown.message, /warm state: /);
    const stopped = await vscode.commands.executeCommand<{ running: boolean; pid: number }>('heavy.stopTestDaemon');
    assert.equal(stopped.pid, shown.pid);
    const a = await api();
    await until('the status bar to say the daemon stopped', 10000, () => /debug-disconnect/.test(a.time.statusBar().text));
    const started = await vscode.commands.executeCommand<{ running: boolean; pid: number }>('heavy.startTestDaemon');
    assert.ok(started.pid && started.pid !== shown.pid);
    const restarted = await vscode.commands.executeCommand<{ running: boolean; pid: number }>('heavy.restartTestDaemon');
    assert.ok(restarted.pid && restarted.pid !== started.pid);
    // The status bar comes back by itself with the daemon.
    await until('the status bar to follow the new daemon', 15000, () => !/debug-disconnect|loading/.test(a.time.statusBar().text) && a.time.statusBar().snapshot);
  });
});

describe('Configuration help', function () {
  this.timeout(60000);

  it('a [tool.heavy] error is a diagnostic at its key, with the CLI\'s message, refreshed on save', async () => {
    const root = folder().uri.fsPath;
    const file = path.join(root, 'pyproject.toml');
    const original = fs.readFileSync(file, 'utf8');
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc);
    const line = doc.getText().split('\n').findIndex((l) => /^workers = 2/.test(l));
    assert.ok(line > 0);
    const heavyDiagnostics = () => vscode.languages.getDiagnostics(doc.uri).filter((d) => d.source === 'Heavy Dev');
    try {
      await editor.edit((e) => e.replace(new vscode.Range(line, 0, line, 'workers = 2'.length), 'workers = "two"'));
      await doc.save();
      const [d] = await until('the diagnostic', 10000, () => (heavyDiagnostics().length ? heavyDiagnostics() : undefined));
      assert.equal(d.range.start.line, line);
      assert.match(d.message, /tool\.heavy\.tests\.workers/);
      await editor.edit((e) => e.replace(new vscode.Range(line, 0, line, 'workers = "two"'.length), 'workers = 2'));
      await doc.save();
      await until('the diagnostic to clear', 10000, () => heavyDiagnostics().length === 0);
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      fs.writeFileSync(file, original);
    }
  });
});
