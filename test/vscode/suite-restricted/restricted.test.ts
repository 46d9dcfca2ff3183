import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { freePort, listening } from '../support';

describe('Restricted Mode', () => {
  it('runs nothing: starting a profile is refused and no process starts', async () => {
    assert.equal(vscode.workspace.isTrusted, false, 'the workspace opened in Restricted Mode');
    const folder = vscode.workspace.workspaceFolders![0];
    const ext = vscode.extensions.getExtension('heavy-dev.heavy-dev')!;
    const api = await ext.activate();
    const port = await freePort();
    const config = { type: 'heavy', request: 'launch', name: 'Run Server', profile: 'run-server', port, console: 'internalConsole' };
    // Heavy Dev's own gate: the profile does not resolve into anything to run.
    assert.equal(await api.profiles.resolve(folder, config), undefined);
    // And from the user's side: VS Code asks for trust (a dialog tests cannot answer) and nothing starts.
    const started = await Promise.race([
      vscode.debug.startDebugging(folder, config),
      new Promise((r) => setTimeout(() => r('still waiting for trust'), 8000)),
    ]);
    assert.notEqual(started, true);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(await listening(port), false, 'no server was started');
    assert.equal(vscode.debug.activeDebugSession, undefined);
    assert.ok(!fs.existsSync(path.join(folder.uri.fsPath, 'dev.db')));
  });
});

describe('Restricted Mode: the palette', () => {
  it('refuses Heavy commands with the reason and changes nothing', async () => {
    const folder = vscode.workspace.workspaceFolders![0];
    const ext = vscode.extensions.getExtension('heavy-dev.heavy-dev')!;
    await ext.activate();
    // Every contributed command that runs the interpreter, starts a process or writes project
    // files (all but Add Profiles to launch.json, which only offers launch configurations).
    const gated = ['heavy.cementTime', 'heavy.showTimeReport', 'heavy.verifyTimeLogs', 'heavy.pauseTimeTracking', 'heavy.resumeTimeTracking',
      'heavy.enableTimeTracking', 'heavy.timeMenu', 'heavy.paveDb', 'heavy.createAndTestMigrations', 'heavy.checkMigrations',
      'heavy.startTestDaemon', 'heavy.stopTestDaemon', 'heavy.restartTestDaemon', 'heavy.showDaemonStatus', 'heavy.replayRecording'];
    const contributed = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    assert.deepEqual(contributed.filter((id) => id !== 'heavy.addProfilesToLaunchJson' && !gated.includes(id)), [], 'a new command is listed here');
    for (const id of gated) {
      assert.equal(await vscode.commands.executeCommand(id), undefined, `${id} does nothing`);
    }
    assert.ok(!fs.existsSync(path.join(folder.uri.fsPath, '.heavy')), 'no time log was written');
    assert.ok(!fs.existsSync(path.join(folder.uri.fsPath, 'dev.db')), 'no database was paved');
  });
});
