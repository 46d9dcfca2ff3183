import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, find, until, within } from '../support';

describe('Testing view: continuous run', function () {
  this.timeout(180000);

  it('the Run profile supports continuous run: editing a module re-runs the dependent test and only it', async () => {
    const a = await api();
    const root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    assert.equal(a.testing.runProfile.supportsContinuousRun, true);
    // A module only one test file imports (conftest.py imports the app, which does not import it).
    const module = path.join(root, 'app', 'wordy.py');
    const testFile = path.join(root, 'tests', 'test_wordy.py');
    fs.writeFileSync(module, 'def shout(s):\n    return s.upper()\n');
    fs.writeFileSync(testFile, 'from app.wordy import shout\n\n\ndef test_shout():\n    assert shout("a") == "A"\n');
    const source = new vscode.CancellationTokenSource();
    try {
      await until('test_wordy.py to be discovered', 60000, async () => {
        await within('discovery', 30000, a.testing.refresh());
        return find(a.testing.controller.items, 'test_shout');
      });
      const request = new vscode.TestRunRequest(undefined, undefined, a.testing.runProfile, true);
      const running = a.testing.runProfile.runHandler(request, source.token);
      // Let the creation of the two files settle first: this test is about the one edit below.
      await new Promise((r) => setTimeout(r, 2000));
      a.testing.lastResults.clear();
      const rerun = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no re-run within 30 s of the edit')), 30000);
        const d = a.testing.onDidRerun((e) => { clearTimeout(timer); d.dispose(); resolve(e.affected); });
      });
      // The edit breaks the test: its failure must show without anyone pressing Run.
      fs.writeFileSync(module, 'def shout(s):\n    return s.lower()\n');
      const affected = await rerun;
      assert.deepEqual(affected, [testFile]);
      const result = await until('the affected test\'s result', 30000, () => a.testing.lastResults.get('tests/test_wordy.py::test_shout'));
      assert.equal(result.outcome, 'failed');
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual([...a.testing.lastResults.keys()], ['tests/test_wordy.py::test_shout'], 'only the dependent test ran');
      // Turned off: a save runs nothing.
      source.cancel();
      await Promise.race([running, new Promise((_, reject) => setTimeout(() => reject(new Error('the continuous run did not end when cancelled')), 10000))]);
      a.testing.lastResults.clear();
      fs.writeFileSync(module, 'def shout(s):\n    return s.upper()\n');
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(a.testing.lastResults.size, 0, 'nothing runs once continuous run is off');
    } finally {
      source.cancel();
      fs.rmSync(module, { force: true });
      fs.rmSync(testFile, { force: true });
    }
  });
});
