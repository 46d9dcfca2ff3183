import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FollowedRun } from '../../../extension/testing/register';
import { EXTENSION_ID, api, find, until, within } from '../support';

/** The 0-based lines of statement details, and whether each ran. */
function lines(details: vscode.FileCoverageDetail[]): Array<[number, boolean]> {
  return details.map((d) => {
    const s = d as vscode.StatementCoverage;
    const at = s.location instanceof vscode.Range ? s.location.start : s.location;
    return [at.line, !!s.executed];
  });
}

type PerTest = vscode.TestRunProfile & {
  loadDetailedCoverageForTest?: (run: vscode.TestRun, coverage: vscode.FileCoverage, test: vscode.TestItem, token: vscode.CancellationToken) => Thenable<vscode.FileCoverageDetail[]>;
};

describe('Testing view: coverage and terminal runs', function () {
  this.timeout(180000);
  const root = () => vscode.workspace.workspaceFolders![0].uri.fsPath;

  it('Run with Coverage reports FileCoverage for app/logic.py, and per-test coverage lists only the lines that test ran', async () => {
    const { testing } = await api();
    assert.equal(testing.coverageProfile.kind, vscode.TestRunProfileKind.Coverage);
    assert.notEqual(testing.coverageProfile, testing.debugProfile, 'coverage and Debug are separate profiles');
    assert.deepEqual(await within('discovery', 60000, testing.refresh()), []);
    const check = await testing.coverageAvailable(vscode.workspace.workspaceFolders![0]);
    assert.ok(check.ok, `coverage.py is importable by the example's interpreter: ${JSON.stringify(check)}`);
    assert.equal(testing.coverageProfile.label, 'Run with Coverage');

    const file = find(testing.controller.items, 'test_logic.py')!;
    testing.lastCoverage.clear();
    const source = new vscode.CancellationTokenSource();
    await within('the coverage run', 60000, Promise.resolve(testing.coverageProfile.runHandler(new vscode.TestRunRequest([file], undefined, testing.coverageProfile), source.token)));
    assert.equal(testing.lastResults.get('tests/test_logic.py::test_slugify')?.outcome, 'passed');

    const logic = path.join(root(), 'app', 'logic.py');
    const coverage = testing.lastCoverage.get(logic);
    assert.ok(coverage, `FileCoverage for app/logic.py; reported: ${[...testing.lastCoverage.keys()].join(', ')}`);
    assert.equal(coverage.uri.fsPath, logic);
    assert.ok(coverage.statementCoverage.covered > 0, 'statements covered');
    assert.equal(coverage.statementCoverage.covered, coverage.statementCoverage.total, 'test_logic.py runs every line of app/logic.py');
    assert.equal(coverage.branchCoverage, undefined, 'branches are measured only when heavy.testing.coverageBranches is on');

    const run = undefined as unknown as vscode.TestRun;
    // Import-time lines (the two def lines) and both function bodies ran.
    assert.deepEqual(lines(await testing.coverageProfile.loadDetailedCoverage!(run, coverage, source.token)), [[0, true], [1, true], [4, true], [5, true]]);

    const slugify = find(file.children, 'test_slugify')!;
    const includes = (coverage as vscode.FileCoverage & { includesTests?: vscode.TestItem[] }).includesTests ?? [];
    assert.ok(includes.some((t) => t.id === slugify.id), `includesTests names test_slugify: ${includes.map((t) => t.label).join(', ')}`);
    assert.ok(!includes.some((t) => t.label === 'test_capsys'), 'a test that never ran app/logic.py is not listed');
    const perTest = testing.coverageProfile as PerTest;
    assert.ok(perTest.loadDetailedCoverageForTest, 'per-test coverage is implemented');
    // test_slugify ran line 2 (return "-".join(...)) and nothing else of app/logic.py.
    assert.deepEqual(lines(await perTest.loadDetailedCoverageForTest!(run, coverage, slugify, source.token)), [[1, true]]);
    const wordCount = find(file.children, 'test_word_count[one-1]')!;
    assert.deepEqual(lines(await perTest.loadDetailedCoverageForTest!(run, coverage, wordCount, source.token)), [[5, true]]);
  });

  it('with heavy.testing.coverageBranches on, branches are reported: taken and not taken', async () => {
    const { testing } = await api();
    const settings = vscode.workspace.getConfiguration('heavy.testing');
    await settings.update('coverageBranches', true, vscode.ConfigurationTarget.Workspace);
    try {
      assert.deepEqual(await within('discovery', 60000, testing.refresh()), []);
      const missing = find(testing.controller.items, 'test_missing_note_is_404')!;
      testing.lastCoverage.clear();
      const source = new vscode.CancellationTokenSource();
      await within('the coverage run', 60000, Promise.resolve(testing.coverageProfile.runHandler(new vscode.TestRunRequest([missing], undefined, testing.coverageProfile), source.token)));
      const main = testing.lastCoverage.get(path.join(root(), 'app', 'main.py'));
      assert.ok(main?.branchCoverage, 'app/main.py has branch coverage');
      assert.ok(main.branchCoverage.covered < main.branchCoverage.total, 'a 404 takes one way of `if note is None`');
      const details = await testing.coverageProfile.loadDetailedCoverage!(undefined as unknown as vscode.TestRun, main, source.token);
      const ifLine = (details as vscode.StatementCoverage[]).find((d) => (d.location as vscode.Position).line === 44);
      assert.deepEqual(ifLine?.branches.map((b) => !!b.executed), [true, false], '`if note is None:` has one branch taken, one not');
      // Which way each went: into the raise (taken by a 404) and past it to the return (not taken).
      assert.deepEqual(ifLine?.branches.map((b) => [b.label, (b.location as vscode.Position).line]),
        [['line 45 jumped to line 46', 45], ['line 45 never jumped to line 47', 46]]);
    } finally {
      await settings.update('coverageBranches', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('a `heavy test` run in a terminal shows in the Testing view as a test run, with its results and output', async () => {
    const { testing } = await api();
    assert.deepEqual(await within('discovery', 60000, testing.refresh()), []);
    testing.lastResults.clear();
    const followed = new Promise<FollowedRun>((resolve) => {
      const d = testing.onDidFollowRun((r) => { d.dispose(); resolve(r); });
    });
    const heavy = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'heavy.js');
    const cli = spawn(process.execPath, [heavy, 'test', 'tests/test_logic.py::test_slugify', 'tests/test_logic.py::test_word_count'], { cwd: root(), env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    cli.stdout.on('data', (d) => { out += d; });
    cli.stderr.on('data', (d) => { out += d; });
    const code = await within('heavy test', 60000, new Promise<number | null>((resolve) => cli.on('close', resolve)));
    assert.equal(code, 0, out);
    const record = await within('the terminal run in the Testing view', 10000, followed);
    assert.equal(record.name, 'heavy test (terminal)');
    assert.equal(record.started.origin, 'terminal');
    assert.deepEqual(record.started.args, ['tests/test_logic.py::test_slugify', 'tests/test_logic.py::test_word_count']);
    assert.deepEqual(record.results.map((r) => `${r.nodeid} ${r.outcome}`).sort(), [
      'tests/test_logic.py::test_slugify passed',
      'tests/test_logic.py::test_word_count[-0] passed',
      'tests/test_logic.py::test_word_count[one two  three-3] passed',
      'tests/test_logic.py::test_word_count[one-1] passed',
    ]);
    assert.equal(record.finished?.exitCode, 0);
    assert.match(record.output, /4 passed/, 'the run\'s output is appended');
    assert.equal(testing.lastResults.get('tests/test_logic.py::test_slugify')?.outcome, 'passed', 'results land on the tree\'s items');
  });

  it('stopping a terminal run in the Testing view cancels it in the terminal too', async () => {
    const { testing } = await api();
    assert.deepEqual(await within('discovery', 60000, testing.refresh()), []);
    const slow = path.join(root(), 'tests', 'test_slow_cancel.py');
    fs.writeFileSync(slow, 'import time\n\n\ndef test_waits():\n    time.sleep(120)\n');
    let cli: ReturnType<typeof spawn> | undefined;
    try {
      const heavy = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'heavy.js');
      const started = Date.now();
      cli = spawn(process.execPath, [heavy, 'test', 'tests/test_slow_cancel.py'], { cwd: root(), env: { ...process.env, NO_COLOR: '1' } });
      let out = '';
      cli.stdout!.on('data', (d) => { out += d; });
      cli.stderr!.on('data', (d) => { out += d; });
      const closed = new Promise<number | null>((resolve) => cli!.on('close', resolve));
      const followed = await until('the terminal run in the Testing view', 60000,
        () => testing.followedRuns.find((r) => r.started.args.includes('tests/test_slow_cancel.py') && !r.finished));
      await until('the slow test to start', 60000, () => /test_slow_cancel/.test(out + followed.output) || undefined);
      // The Testing view's own Cancel (the stop button), not an API of ours.
      await vscode.commands.executeCommand('testing.cancelRun');
      const code = await within('the terminal run to end after the stop', 30000, closed);
      assert.ok(Date.now() - started < 100000, 'the 120 s test did not run to its end');
      assert.notEqual(code, 0, `the terminal run was interrupted:\n${out}`);
      assert.match(out, /KeyboardInterrupt|Interrupted|interrupted/, out);
      await until('the followed run to end', 10000, () => followed.finished);
    } finally {
      cli?.kill('SIGINT');
      fs.rmSync(slow, { force: true });
    }
  });
});
