import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeFiles, mergeRequest } from '../../daemon/cli/testCommand';
import { ContentStamps } from '../../daemon/server/contentStamps';
import { copyExample, heavyAsync, newTree, stopDaemon, waitFor } from '../helpers/project';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const summaries = (output: string) => (output.match(/watching for changes/g) ?? []).length;

describe('heavy watch: what counts as a change', () => {
  it('counts a rewrite only when the bytes changed; deletions and new files always', async () => {
    const root = newTree({ 'gen.py': 'A = 1\n', 'data.json': '{}' });
    const stamps = new ContentStamps();
    const file = path.join(root, 'gen.py');
    await stamps.takeBaseline(() => [file], () => false);
    await sleep(20); // a later write gets a later modification time
    fs.writeFileSync(file, 'A = 1\n');
    assert.equal(stamps.check(file).changed, false, 'same bytes as the baseline read');
    fs.writeFileSync(file, 'A = 2\n');
    assert.deepEqual(stamps.check(file), { changed: true, text: 'A = 2\n' });
    fs.writeFileSync(file, 'A = 2\n');
    assert.equal(stamps.check(file).changed, false);
    fs.rmSync(file);
    assert.equal(stamps.check(file).changed, true, 'deleted');
    fs.writeFileSync(file, 'A = 2\n');
    assert.equal(stamps.check(file).changed, true, 'added again');
    // A file no baseline read: its first change counts, then it is known.
    const data = path.join(root, 'data.json');
    assert.equal(stamps.check(data).changed, true);
    fs.writeFileSync(data, '{}');
    assert.equal(stamps.check(data).changed, false);
  });

  it('does not trust a baseline read that may already hold the save an event is on its way for', async () => {
    const root = newTree({ 'm.py': 'A = 1\n' });
    const file = path.join(root, 'm.py');
    const stamps = new ContentStamps();
    fs.writeFileSync(file, 'A = 2\n'); // saved; its event has not been handled yet
    await stamps.takeBaseline(() => [file], () => false);
    assert.equal(stamps.check(file).changed, true, 'the modification time is the one the baseline read');
    // Files with a pending event are left to the event.
    const other = new ContentStamps();
    await other.takeBaseline(() => [file], () => true);
    assert.equal(other.size, 0);
  });

  it('merges saves made during a run, and names many files briefly', () => {
    let req = mergeRequest(undefined, { affected: ['/p/tests/test_a.py'], changed: ['app/a.py'], why: 'a' });
    req = mergeRequest(req, { affected: ['/p/tests/test_b.py', '/p/tests/test_a.py'], changed: ['app/b.py'], why: 'b' });
    assert.deepEqual([...req.files].sort(), ['/p/tests/test_a.py', '/p/tests/test_b.py']);
    assert.equal(req.all, false);
    assert.equal(mergeRequest(req, { affected: 'all', changed: ['data.json'], why: 'c' }).all, true);
    assert.equal(describeFiles(['a', 'b', 'c', 'd']), 'a, b, c, d');
    assert.equal(describeFiles(['a', 'b', 'c', 'd', 'e']), 'a, b, c and 2 more');
  });
});

describe('heavy watch: loops, scope and dynamic imports', function () {
  this.timeout(180000);
  const roots: string[] = [];
  const project = (extra: Record<string, string>) => {
    const root = copyExample(extra);
    roots.push(root);
    return root;
  };
  after(() => {
    for (const root of roots) stopDaemon(root);
  });

  /** Starts `heavy watch ARGS` in `root` and waits for its first summary. */
  async function watch(root: string, args: string[]) {
    const w = heavyAsync(['watch', ...args], root);
    const fail = (err: Error) => { throw new Error(`${err.message}:\n${w.output()}`); };
    await waitFor(() => summaries(w.output()) >= 1, 90000, 'the first run').catch(fail);
    return { ...w, fail };
  }
  const stop = async (w: ReturnType<typeof heavyAsync>) => {
    w.child.kill('SIGINT');
    await w.done;
  };

  it('does not re-run when a test rewrites a source file with the same bytes', async () => {
    const root = project({
      'app/generated.py': 'VALUE = 1\n',
      // A code generator run by the test: it writes the module whether or not anything changed.
      'tests/test_generated.py': [
        'from pathlib import Path',
        'import app.generated',
        '',
        'def test_generates():',
        '    Path(app.generated.__file__).write_text("VALUE = 1\\n")',
        '    assert app.generated.VALUE == 1',
        '',
      ].join('\n'),
    });
    const w = await watch(root, ['-q', 'tests/test_generated.py']);
    try {
      assert.match(w.output(), /ok: 1 passed/);
      await sleep(10000);
      assert.equal(summaries(w.output()), 1, `re-ran after an identical rewrite:\n${w.output()}`);
      // A real edit still counts, and the rewrite it causes does not start another round.
      fs.appendFileSync(path.join(root, 'tests/test_generated.py'), '\n# edited\n');
      await waitFor(() => summaries(w.output()) >= 2, 30000, 'the re-run after an edit').catch(w.fail);
      await sleep(3000);
      assert.equal(summaries(w.output()), 2, w.output());
      assert.match(w.output(), /test_generated.py changed: running 1 affected test file\n/);
    } finally {
      await stop(w);
    }
  });

  it('re-runs only files inside the selection: the paths given, less --ignore', async () => {
    const root = project({
      'app/shared.py': 'VALUE = 1\n',
      'app/b_only.py': 'X = 1\n',
      'app/c_only.py': 'X = 1\n',
      'tests/unit/test_a.py': 'from app import shared\n\n\ndef test_a():\n    assert shared.VALUE == 1\n',
      'tests/unit/test_b.py': 'from app import b_only, shared\n\n\ndef test_b_is_ignored():\n    raise AssertionError("test_b ran although --ignore\'d")\n',
      'tests/other/test_c.py': 'from app import c_only\n\n\ndef test_c_is_outside():\n    raise AssertionError("test_c ran although outside tests/unit")\n',
    });
    const w = await watch(root, ['-q', 'tests/unit', '--ignore=tests/unit/test_b.py']);
    try {
      assert.match(w.output(), /ok: 1 passed/);
      fs.writeFileSync(path.join(root, 'app/shared.py'), 'VALUE = 1  # edited\n');
      await waitFor(() => summaries(w.output()) >= 2, 30000, 'the re-run').catch(w.fail);
      const rerun = w.output().slice(w.output().indexOf('shared.py changed'));
      assert.match(rerun, /shared.py changed: running 2 affected test files/);
      assert.match(rerun, /ok: 1 passed in [\d.]+s \(1 affected test file outside your selection not run\)/);
      assert.doesNotMatch(w.output(), /test_b ran|test_c ran|no tests ran/);

      fs.writeFileSync(path.join(root, 'app/b_only.py'), 'X = 2\n');
      await waitFor(() => /b_only.py changed; no selected test depends on it\n/.test(w.output()), 30000, 'the notice for an ignored file').catch(w.fail);
      fs.writeFileSync(path.join(root, 'app/c_only.py'), 'X = 2\n');
      await waitFor(() => /c_only.py changed; no selected test depends on it\n/.test(w.output()), 30000, 'the notice for a file outside the paths').catch(w.fail);
      await sleep(1000);
      assert.equal(summaries(w.output()), 2, w.output());
      assert.doesNotMatch(w.output(), /test_b ran|test_c ran|no tests ran/);
    } finally {
      await stop(w);
    }
  });

  it('re-runs a test whose fixture loads the edited module with importlib', async () => {
    const root = project({
      'app/plugins.py': 'NAME = "plugins"\n',
      'tests/test_plugins.py': [
        'import importlib',
        '',
        'import pytest',
        '',
        '',
        '@pytest.fixture',
        'def plugins():',
        '    return importlib.import_module("app.plugins")',
        '',
        '',
        'def test_loads(plugins):',
        '    assert plugins.NAME == "plugins"',
        '',
      ].join('\n'),
    });
    const w = await watch(root, ['-q', 'tests/test_plugins.py', 'tests/test_logic.py']);
    try {
      fs.writeFileSync(path.join(root, 'app/plugins.py'), 'NAME = "plugins"  # edited\n');
      await waitFor(() => summaries(w.output()) >= 2, 30000, 'the re-run').catch(w.fail);
      assert.match(w.output(), /plugins.py changed: running 1 affected test file\n/);
      assert.match(w.output().slice(w.output().indexOf('plugins.py changed')), /ok: 1 passed/);
    } finally {
      await stop(w);
    }
  });
});
