import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { HeavyApi } from '../../../extension/extension';

describe('Time tracking from the editor', function () {
  this.timeout(120000);

  it('typing in a project file (unsaved) is activity: the daemon opens a block', async () => {
    const ext = vscode.extensions.getExtension<HeavyApi>('heavy-dev.heavy-dev')!;
    const api = ext.isActive ? ext.exports : await ext.activate();
    const folder = vscode.workspace.workspaceFolders![0];
    // The launcher turned tracking on for user "ada" in the workspace's pyproject.toml.
    const deadline = Date.now() + 30000;
    let status = await api.time.status(folder);
    while (!status && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      status = await api.time.status(folder);
    }
    assert.ok(status, 'the daemon tracks time once [tool.heavy.time] enabled = true');
    assert.equal(status.user, 'ada');

    // Auto-save would turn the edit into a file change; this test is about the typing itself.
    await vscode.workspace.getConfiguration('files').update('autoSave', 'off', vscode.ConfigurationTarget.Workspace);
    // A file nothing else touched: its heartbeat is not throttled by earlier activity.
    const file = path.join(folder.uri.fsPath, 'app', 'settings.py');
    const before = status.lastActivity;
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc);
    await editor.edit((e) => e.insert(new vscode.Position(0, 0), '# typing\n'));
    while (Date.now() < deadline + 30000) {
      status = await api.time.status(folder);
      if (status?.active && status.lastActivity !== before) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(status?.active, true, JSON.stringify(status));
    assert.notEqual(status!.lastActivity, before, 'the typing was recorded');
    assert.ok(status!.todaySeconds > 0);
    assert.ok(!doc.getText().startsWith('# typing') || doc.isDirty, 'the edit was never saved');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
