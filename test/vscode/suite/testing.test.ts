import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID, api, find, folder } from '../support';

async function run(profile: vscode.TestRunProfile, items: vscode.TestItem[]): Promise<void> {
  const source = new vscode.CancellationTokenSource();
  await profile.runHandler(new vscode.TestRunRequest(items, undefined, profile), source.token);
}

describe('Testing view through the warm daemon', function () {
  this.timeout(180000);

  it('discovers the example tests with their files and lines', async () => {
    const { testing } = await api();
    const problems = await testing.refresh();
    assert.deepEqual(problems, []);
    const file = find(testing.controller.items, 'test_logic.py');
    const top: string[] = [];
    testing.controller.items.forEach((i) => { top.push(i.label); });
    assert.ok(file, `test_logic.py is listed; the view has ${top.join(', ')}`);
    const slugify = find(file.children, 'test_slugify')!;
    assert.ok(slugify, 'test_slugify is listed');
    assert.equal(slugify.uri?.fsPath, path.join(folder().uri.fsPath, 'tests', 'test_logic.py'));
    assert.equal(slugify.range?.start.line, 5);
    assert.ok(find(file.children, 'test_word_count[one-1]'), 'parametrized cases are listed');
  });

  it('runs tests and reports pass, skip and failures with a diff, never with stale code', async () => {
    const { testing } = await api();
    const file = find(testing.controller.items, 'test_logic.py')!;
    await run(testing.runProfile, [file]);
    assert.equal(testing.lastResults.get('tests/test_logic.py::test_slugify')?.outcome, 'passed');
    assert.equal(testing.lastResults.get('tests/test_logic.py::test_skipped')?.outcome, 'skipped');
    assert.equal(testing.lastResults.get('tests/test_logic.py::test_slugify_punctuation')?.outcome, 'xfailed');

    const logic = path.join(folder().uri.fsPath, 'app', 'logic.py');
    const original = fs.readFileSync(logic, 'utf8');
    try {
      fs.writeFileSync(logic, original.replace('title.lower()', 'title.upper()'));
      await run(testing.runProfile, [find(file.children, 'test_slugify')!]);
      const failed = testing.lastResults.get('tests/test_logic.py::test_slugify')!;
      assert.equal(failed.outcome, 'failed');
      assert.deepEqual(failed.compare, { op: '==', actual: "'HELLO-BIG-WORLD'", expected: "'hello-big-world'" });
    } finally {
      fs.writeFileSync(logic, original);
    }
    await run(testing.runProfile, [find(file.children, 'test_slugify')!]);
    assert.equal(testing.lastResults.get('tests/test_logic.py::test_slugify')?.outcome, 'passed');
  });

  it('Debug stops at a breakpoint in app code inside the forked test run', async () => {
    const { testing } = await api();
    const logic = path.join(folder().uri.fsPath, 'app', 'logic.py');
    const line = fs.readFileSync(logic, 'utf8').split('\n').findIndex((l) => l.includes('title.lower()'));
    const bp = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(logic), new vscode.Position(line, 0)));
    vscode.debug.addBreakpoints([bp]);
    let hit: { session: vscode.DebugSession; threadId: number } | undefined;
    const tracker = vscode.debug.registerDebugAdapterTrackerFactory('*', {
      createDebugAdapterTracker: (session) => ({
        onDidSendMessage: (m) => {
          if (m.type === 'event' && m.event === 'stopped' && m.body?.reason === 'breakpoint' && !hit) {
            hit = { session, threadId: m.body.threadId };
            // Let the test finish once the stop is seen.
            setTimeout(() => void session.customRequest('continue', { threadId: m.body.threadId }), 500);
          }
        },
      }),
    });
    try {
      const file = find(testing.controller.items, 'test_logic.py')!;
      await run(testing.debugProfile, [find(file.children, 'test_slugify')!]);
      assert.ok(hit, 'the breakpoint in app/logic.py was hit');
      assert.equal(testing.lastResults.get('tests/test_logic.py::test_slugify')?.outcome, 'passed');
    } finally {
      tracker.dispose();
      vscode.debug.removeBreakpoints([bp]);
      for (const s of [vscode.debug.activeDebugSession].filter(Boolean)) await vscode.debug.stopDebugging(s);
    }
  });
});
