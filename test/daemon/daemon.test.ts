import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connectDaemon, type DaemonConnection } from '../../daemon/client';
import { Methods, type TestResult } from '../../daemon/protocol';
import { daemonPaths } from '../../daemon/server/paths';
import { maskDurations, primesReady, projectWarm, requestRun } from '../helpers/daemon';
import { copyExample, HEAVY, heavyAsync, heavySync, junitOutcomes, python, stopDaemon, waitFor, writeFiles } from '../helpers/project';

const OUTCOMES = `import pytest


def test_compare_fails():
    assert 1 + 1 == 3


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


def test_error_in_fixture(broken):
    pass


@pytest.mark.xfail(reason="known", strict=False)
def test_xpass():
    assert True


def test_prints_and_fails():
    print("to stdout")
    assert "abc" == "abd"
`;

// Order matters: the first test checks what the second leaves behind in a previous run.
const ISOLATION = `import os

import app.settings as settings


def test_1_state_is_clean():
    assert "HEAVY_LEAK" not in os.environ
    assert not hasattr(settings, "leaked")


def test_2_leaves_state_behind():
    os.environ["HEAVY_LEAK"] = "1"
    settings.leaked = True
`;

describe('heavy test: the warm daemon', function () {
  this.timeout(120000);
  const roots: string[] = [];
  const project = (extra: Record<string, string> = {}) => {
    const root = copyExample(extra);
    roots.push(root);
    return root;
  };
  after(() => {
    for (const root of roots) stopDaemon(root);
  });

  it('gives the same outcome for every test as a cold pytest run, run after run', () => {
    const root = project({ 'tests/test_outcomes.py': OUTCOMES, 'tests/test_isolation.py': ISOLATION });
    const cold = spawnSync(python(root), ['-m', 'pytest', '-p', 'no:cacheprovider', '--junitxml=cold.xml'], { cwd: root, encoding: 'utf8' });
    const first = heavySync(['test', '--junitxml=warm1.xml'], root);
    assert.match(first.stderr, /started the test daemon/);
    const second = heavySync(['test', '--junitxml=warm2.xml'], root);
    assert.equal(first.code, cold.status, first.stdout + first.stderr);
    assert.equal(second.code, cold.status);
    const expected = junitOutcomes(path.join(root, 'cold.xml'));
    assert.ok(expected.size >= 18, `the suite has ${expected.size} tests`);
    assert.deepEqual([...new Set(expected.values())].sort(), ['error', 'failed', 'passed', 'skipped', 'xfailed']);
    assert.deepEqual(junitOutcomes(path.join(root, 'warm1.xml')), expected);
    assert.deepEqual(junitOutcomes(path.join(root, 'warm2.xml')), expected);
    assert.equal(expected.get('tests.test_isolation::test_1_state_is_clean'), 'passed');
    // The summary line is pytest's own.
    assert.match(second.stdout, /2 failed, \d+ passed, 1 skipped, 1 xfailed, 1 xpassed, 1 error/);
  });

  it('streams structured results and serves discovery warm', async () => {
    const root = project({ 'tests/test_outcomes.py': OUTCOMES });
    const daemon = (await connectDaemon(root, { start: true }))!;
    try {
      const streamed: TestResult[] = [];
      daemon.connection.onNotification(Methods.testResult, (p) => { streamed.push(p.result); });
      let output = '';
      daemon.connection.onNotification(Methods.runOutput, (p) => { output += p.data; });
      const result = await daemon.connection.sendRequest(Methods.runTests, { runId: 'r1', args: ['tests/test_outcomes.py'], cwd: root });
      assert.equal(result.exitCode, 1);
      assert.deepEqual(streamed.map((r) => r.nodeid), result.results.map((r) => r.nodeid));
      const compare = result.results.find((r) => r.nodeid.endsWith('test_compare_fails'))!;
      assert.equal(compare.outcome, 'failed');
      assert.equal(compare.file, path.join(root, 'tests', 'test_outcomes.py'));
      assert.equal(compare.line, 4);
      assert.deepEqual(compare.compare, { op: '==', actual: '2', expected: '3' });
      assert.equal(compare.failure?.line, 5);
      const printed = result.results.find((r) => r.nodeid.endsWith('test_prints_and_fails'))!;
      assert.equal(printed.stdout, 'to stdout\n');
      assert.deepEqual(printed.compare, { op: '==', actual: "'abc'", expected: "'abd'" });
      const fixture = result.results.find((r) => r.nodeid.endsWith('test_error_in_fixture'))!;
      assert.equal(fixture.outcome, 'error');
      assert.match(fixture.message!, /fixture broke/);
      assert.equal(result.results.find((r) => r.nodeid.endsWith('test_xpass'))!.outcome, 'xpassed');
      assert.match(output, /2 failed, 1 xpassed, 1 error/);

      const found = await daemon.connection.sendRequest(Methods.discover, {});
      const ids = found.items.map((i) => i.nodeid);
      assert.ok(ids.includes('tests/test_logic.py::test_word_count[one-1]'), ids.join('\n'));
      const slugify = found.items.find((i) => i.nodeid === 'tests/test_logic.py::test_slugify')!;
      assert.equal(slugify.file, path.join(root, 'tests', 'test_logic.py'));
      assert.equal(slugify.line, 6);
    } finally {
      daemon.close();
    }
  });

  it('never runs stale code: edits, same-size edits, undo, and a new conftest fixture', () => {
    const root = project();
    const logic = path.join(root, 'app', 'logic.py');
    const original = fs.readFileSync(logic, 'utf8');
    assert.equal(heavySync(['test', 'tests/test_logic.py::test_slugify'], root).code, 0);
    // Same size, same second: a bytecode cache keyed on whole seconds and size would miss it.
    fs.writeFileSync(logic, original.replace('title.lower()', 'title.upper()'));
    const broken = heavySync(['test', 'tests/test_logic.py::test_slugify'], root);
    assert.equal(broken.code, 1, broken.stdout);
    assert.match(broken.stdout, /HELLO-BIG-WORLD/);
    fs.writeFileSync(logic, original);
    assert.equal(heavySync(['test', 'tests/test_logic.py::test_slugify'], root).code, 0);
    fs.writeFileSync(logic, original.replace('title.lower()', 'title.upper()'));
    assert.equal(heavySync(['test', 'tests/test_logic.py::test_slugify'], root).code, 1);
    fs.writeFileSync(logic, original);
    writeFiles(root, {
      'tests/conftest.py': fs.readFileSync(path.join(root, 'tests', 'conftest.py'), 'utf8') + '\n\n@pytest.fixture\ndef answer():\n    return 42\n',
      'tests/test_new.py': 'def test_answer(answer):\n    assert answer == 42\n',
    });
    const fresh = heavySync(['test', '-q', 'tests/test_new.py'], root);
    assert.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
    assert.match(fresh.stdout, /1 passed/);
  });

  it('runs a repeated request primed, with the same output and results, and never from a stale prime', async () => {
    const root = project({
      'tests/test_outcomes.py': OUTCOMES,
      'tests/sub/__init__.py': '',
      'tests/sub/test_deep.py': 'def test_marker(run_marker):\n    assert "pid" in run_marker\n',
    });
    const daemon = (await connectDaemon(root, { start: true }))!;
    try {
      const run = (args: string[]) => requestRun(daemon, root, args);
      const outcomes = (r: { results: TestResult[] }) => r.results.map((x) => `${x.nodeid} ${x.outcome}`);
      await projectWarm(daemon);
      const primed = (n: number) => primesReady(daemon, n);
      const first = await run(['-rA', 'tests/test_outcomes.py']);
      await primed(1);
      const second = await run(['-rA', 'tests/test_outcomes.py']);
      assert.equal(first.primed, false);
      assert.equal(second.primed, true, 'the repeated request was prepared ahead');
      assert.equal(second.exitCode, first.exitCode);
      assert.deepEqual(outcomes(second), outcomes(first));
      assert.equal(second.output, first.output);
      assert.deepEqual(second.results.find((r) => r.nodeid.endsWith('test_compare_fails'))!.compare, { op: '==', actual: '2', expected: '3' });

      // A conftest.py appearing next to the test: the prepared configuration never saw it.
      assert.equal((await run(['-q', 'tests/sub/test_deep.py'])).exitCode, 0);
      await primed(2);
      assert.equal((await run(['-q', 'tests/sub/test_deep.py'])).primed, true);
      await primed(2);
      writeFiles(root, { 'tests/sub/conftest.py': 'import pytest\n\n\n@pytest.fixture\ndef run_marker():\n    return {}\n' });
      const shadowed = await run(['-q', 'tests/sub/test_deep.py']);
      assert.equal(shadowed.exitCode, 1, shadowed.output);
      assert.equal(shadowed.primed, false);
      const status = await daemon.connection.sendRequest(Methods.status);
      assert.ok(status.runs.primed >= 2, JSON.stringify(status.runs));
    } finally {
      daemon.close();
    }
  });

  it('checks a prime against the files and folders its configuration came from', () => {
    const root = project({ 'tests/sub/__init__.py': '', 'tests/sub/test_deep.py': 'def test_x():\n    pass\n' });
    // The check that runs when a prime is about to be used, without the watcher that usually drops it first.
    const script = `
import os, sys
sys.path.insert(0, ${JSON.stringify(path.resolve(__dirname, '../../daemon/python'))})
from heavydev import primes as hw, project
project.set_root(os.getcwd())
sys.path.insert(0, project.ROOT)
config = hw.prepare_config(["-q", "-p", "no:cacheprovider", "tests/sub/test_deep.py"], [])
stamps = hw.inputs_of(config)
print("fresh", hw.unchanged(stamps))
open("tests/sub/conftest.py", "w").write("")
print("after a new conftest", hw.unchanged(stamps))
os.remove("tests/sub/conftest.py")
stamps = hw.inputs_of(config)
with open("app/settings.py", "a") as f:
    f.write("# edited\\n")
print("after editing a module the conftest imports", hw.unchanged(stamps))
stamps = hw.inputs_of(config)
open("pytest.ini", "w").write("[pytest]\\n")
print("after a new pytest.ini", hw.unchanged(stamps))
`;
    const r = spawnSync(python(root), ['-c', script], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['fresh True', 'after a new conftest False', 'after editing a module the conftest imports False', 'after a new pytest.ini False']);
  });

  it('starts a session ahead only when nothing but pytest itself takes part in starting it', () => {
    const root = project({ 'tests/sub/__init__.py': '', 'tests/sub/test_deep.py': 'def test_x():\n    pass\n' });
    const script = `
import os, sys
sys.path.insert(0, ${JSON.stringify(path.resolve(__dirname, '../../daemon/python'))})
from heavydev import primes as hw, project
project.set_root(os.getcwd())
sys.path.insert(0, project.ROOT)
def ahead(*args):
    sys.modules.pop("tests.sub.conftest", None)  # each case writes a new one
    return hw.session_primable(hw.prepare_config(["-q", *args, "tests/sub/test_deep.py"], []))
print("plain", ahead())
for option in ["--junitxml=out.xml", "--cache-clear", "--markers", "--fixtures", "-o log_file=x.log", "--log-file=x.log", "--help"]:
    print(option, ahead(*option.split()))
open("tests/sub/conftest.py", "w").write("def pytest_configure(config):\\n    pass\\n")
print("conftest pytest_configure", ahead())
open("tests/sub/conftest.py", "w").write("def pytest_sessionstart(session):\\n    pass\\n")
print("conftest pytest_sessionstart", ahead())
open("tests/sub/conftest.py", "w").write("def pytest_report_header(config):\\n    return 'hello'\\n")
print("conftest pytest_report_header (called after go)", ahead())
os.remove("tests/sub/conftest.py")
# The cache files pytest_configure reads: another run rewriting them makes the prime stale.
config = hw.prepare_config(["-q", "--lf", "tests/sub/test_deep.py"], [])
contents = hw.cache_contents(config)
print("cache fresh", hw.same_contents(contents))
os.makedirs(".pytest_cache/v/cache", exist_ok=True)
open(".pytest_cache/v/cache/nodeids", "w").write("[]")
print("after another run wrote nodeids", hw.same_contents(contents))
contents = hw.cache_contents(config)
open(".pytest_cache/v/cache/nodeids", "w").write("[]")
print("after another run rewrote the same nodeids", hw.same_contents(contents))
`;
    const r = spawnSync(python(root), ['-c', script], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'plain True',
      '--junitxml=out.xml False', '--cache-clear False', '--markers False', '--fixtures False', '-o log_file=x.log False', '--log-file=x.log False', '--help False',
      'conftest pytest_configure False', 'conftest pytest_sessionstart False', 'conftest pytest_report_header (called after go) True',
      'cache fresh True', 'after another run wrote nodeids False', 'after another run rewrote the same nodeids True',
    ]);
  });

  it('never runs a project hook ahead, and never uses a session started before the cache changed', async () => {
    const root = project({
      'tests/sub/__init__.py': '',
      'tests/sub/conftest.py': 'import os\n\n\ndef pytest_configure(config):\n    with open(os.path.join(str(config.rootpath), "configured.log"), "a") as f:\n        f.write("configured\\n")\n',
      'tests/sub/test_deep.py': 'def test_x():\n    pass\n',
      'tests/test_flag.py': 'import os\n\n\ndef test_flag():\n    assert not os.path.exists("flag")\n\n\ndef test_other():\n    pass\n',
    });
    const daemon = (await connectDaemon(root, { start: true }))!;
    try {
      const run = (args: string[]) => requestRun(daemon, root, args);
      await projectWarm(daemon);

      // A conftest.py with pytest_configure: primed only up to the parsed configuration, so
      // its hook runs once per run, never for a prime that waits (or is thrown away).
      const log = path.join(root, 'configured.log');
      const configured = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').length - 1 : 0);
      const before = configured(); // warming up collects once, as discovery does
      for (let i = 0; i < 3; i++) {
        if (i > 0) await primesReady(daemon, 1, 'a prime');
        const r = await run(['-q', 'tests/sub/test_deep.py']);
        assert.equal(r.exitCode, 0, r.output);
        assert.equal(r.primed, i > 0);
      }
      await primesReady(daemon, 1, 'a prime');
      assert.equal(configured() - before, 3);

      // --lf read the cache when its session was started ahead; a run in between rewrote it.
      fs.writeFileSync(path.join(root, 'flag'), '');
      assert.equal((await run(['-q', '--lf', 'tests/test_flag.py'])).exitCode, 1);
      await primesReady(daemon, 2, 'the --lf request primed');
      fs.rmSync(path.join(root, 'flag'));
      assert.equal((await run(['-q', 'tests/test_flag.py::test_flag'])).exitCode, 0);
      const again = await run(['-q', '--lf', 'tests/test_flag.py']);
      const cold = spawnSync(python(root), ['-m', 'pytest', '-q', '--lf', 'tests/test_flag.py'], { cwd: root, encoding: 'utf8' });
      assert.equal(again.primed, false);
      assert.equal(again.exitCode, cold.status);
      assert.equal(again.output, maskDurations(cold.stdout));
      assert.match(again.output, /2 passed/);

      // Two requests in turn: each run rewrites the cache's nodeids (with the same ids), which
      // must not spoil the other's prime.
      const a = ['-q', 'tests/test_flag.py::test_other'];
      const b = ['-q', 'tests/test_flag.py::test_flag'];
      await run(a);
      await run(b);
      await primesReady(daemon, 2, 'both requests primed');
      assert.equal((await run(a)).primed, true);
      assert.equal((await run(b)).primed, true);
    } finally {
      daemon.close();
    }
  });

  it('reports a segfault, os._exit and a hang past the timeout as errors of that test, and stays up', () => {
    const root = project({
      'tests/test_crash.py': 'import ctypes, os, time\n\n\ndef test_segfault():\n    ctypes.string_at(0)\n\n\ndef test_exit():\n    os._exit(3)\n\n\ndef test_hang():\n    time.sleep(600)\n\n\ndef test_fine():\n    assert True\n',
    });
    fs.appendFileSync(path.join(root, 'pyproject.toml'), 'timeout = 3\n');
    for (const [name, reason] of [['test_segfault', /SIGSEGV/], ['test_exit', /exited with code 3/], ['test_hang', /timed out after 3s/]] as const) {
      const r = heavySync(['test', `tests/test_crash.py::${name}`], root);
      assert.notEqual(r.code, 0, name);
      assert.match(r.stdout, new RegExp(`tests/test_crash.py::${name}: `));
      assert.match(r.stdout, reason);
      const ok = heavySync(['test', '-q', 'tests/test_crash.py::test_fine'], root);
      assert.equal(ok.code, 0, `after ${name}: ${ok.stdout}${ok.stderr}`);
    }
  });

  it('ends a run when pytest is done, even if a test left a process holding its output', () => {
    const root = project({
      'tests/test_orphan.py': 'import subprocess\n\n\ndef test_starts_a_server():\n    subprocess.Popen(["sleep", "60"])\n',
    });
    const started = Date.now();
    const r = heavySync(['test', '-s', '-q', 'tests/test_orphan.py'], root);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /1 passed/);
    assert.ok(Date.now() - started < 30000, `took ${Date.now() - started} ms: it waited for the orphan`);
  });

  it('runs two clients in parallel, and Ctrl+C cancels a run but leaves the daemon healthy', async () => {
    const root = project({
      'tests/test_slow.py': 'import os, time\n\n\ndef test_slow(tmp_path_factory):\n    marker = os.environ.get("HEAVY_TEST_MARKS")\n    with open(marker, "a") as f:\n        f.write(f"start {time.time()}\\n")\n    time.sleep(1.5)\n    with open(marker, "a") as f:\n        f.write(f"end {time.time()}\\n")\n\n\ndef test_forever():\n    open(os.environ["HEAVY_TEST_MARKS"] + ".forever", "w").close()\n    time.sleep(600)\n',
    });
    const marks = path.join(root, 'marks.txt');
    process.env.HEAVY_TEST_MARKS = marks;
    try {
      assert.equal(heavySync(['daemon', 'start'], root).code, 0);
      const a = heavyAsync(['test', '-q', 'tests/test_slow.py::test_slow'], root);
      const b = heavyAsync(['test', '-q', 'tests/test_slow.py::test_slow'], root);
      const [ra, rb] = await Promise.all([a.done, b.done]);
      assert.equal(ra.code, 0, ra.stdout + ra.stderr);
      assert.equal(rb.code, 0, rb.stdout + rb.stderr);
      const lines = fs.readFileSync(marks, 'utf8').trim().split('\n');
      // Both started before either ended: they ran side by side, not one after the other.
      assert.deepEqual(lines.map((l) => l.split(' ')[0]), ['start', 'start', 'end', 'end']);

      const c = heavyAsync(['test', 'tests/test_slow.py::test_forever'], root);
      await waitFor(() => fs.existsSync(marks + '.forever'), 30000, 'the test to start');
      c.child.kill('SIGINT');
      const rc = await c.done;
      assert.equal(rc.code, 2, rc.stdout + rc.stderr);
      assert.match(rc.stdout, /KeyboardInterrupt|Interrupted/);
      const status = JSON.parse(heavySync(['daemon', 'status', '--json'], root).stdout);
      assert.equal(status.runs.active, 0);
      assert.equal(heavySync(['test', '-q', 'tests/test_logic.py'], root).code, 0);
    } finally {
      delete process.env.HEAVY_TEST_MARKS;
    }
  });

  it('recovers from kill -9 of the daemon and of the warm Python process', async () => {
    const root = project();
    assert.equal(heavySync(['daemon', 'start'], root).code, 0);
    const before = JSON.parse(heavySync(['daemon', 'status', '--json'], root).stdout);
    for (const key of ['pid', 'uptimeSeconds', 'python', 'warm', 'memory']) assert.ok(key in before, key);
    await waitFor(() => JSON.parse(heavySync(['daemon', 'status', '--json'], root).stdout).warm === 'warm', 30000, 'warm');
    const warm = JSON.parse(heavySync(['daemon', 'status', '--json'], root).stdout);
    assert.ok(warm.lastRebuild.seconds > 0);
    assert.ok(warm.memory.workerRssBytes > 0);
    // The socket is private to this user.
    const paths = daemonPaths(root);
    assert.equal(fs.statSync(paths.socket).mode & 0o777, 0o600);
    assert.equal(fs.statSync(paths.dir).mode & 0o777, 0o700);

    process.kill(warm.workerPid, 'SIGKILL');
    const afterWorker = heavySync(['test', '-q', 'tests/test_logic.py::test_slugify'], root);
    assert.equal(afterWorker.code, 0, afterWorker.stdout + afterWorker.stderr);

    process.kill(warm.pid, 'SIGKILL');
    await waitFor(() => { try { process.kill(warm.pid, 0); return false; } catch { return true; } }, 5000, 'the daemon to die');
    assert.ok(fs.existsSync(paths.lock), 'kill -9 leaves the lock behind');
    const afterDaemon = heavySync(['test', '-q', 'tests/test_logic.py::test_slugify'], root);
    assert.equal(afterDaemon.code, 0, afterDaemon.stdout + afterDaemon.stderr);
    assert.match(afterDaemon.stderr, /started the test daemon/);
    const replaced = JSON.parse(heavySync(['daemon', 'status', '--json'], root).stdout);
    assert.notEqual(replaced.pid, warm.pid);
    // start is idempotent.
    const again = JSON.parse(heavySync(['daemon', 'start', '--json'], root).stdout);
    assert.equal(again.pid, replaced.pid);
    assert.equal(again.started, false);
    // restart replaces it, and says so in one document.
    const restarted = JSON.parse(heavySync(['daemon', 'restart', '--json'], root).stdout);
    assert.equal(restarted.previousPid, replaced.pid);
    assert.notEqual(restarted.pid, replaced.pid);
    assert.equal(restarted.started, true);
    assert.match(heavySync(['daemon', 'restart'], root).stdout, new RegExp(`^restarted the test daemon for .* \\(pid ${restarted.pid}, now \\d+\\)\\n$`));
  });

  it('with --root from outside the project, runs pytest in the project as if started there', () => {
    const root = project();
    const r = heavySync(['test', '--root', root, '-q'], path.dirname(root));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /11 passed, 1 skipped, 1 xfailed/);
  });


  it('started as the installed `heavy` command, hands tests the environment it was given', () => {
    const root = project({
      'tests/test_env_seen.py': 'import os\n\ndef test_env():\n'
        + '    print("seen:", repr(os.environ.get("NODE_EXTRA_CA_CERTS")), [k for k in os.environ if k.startswith("HEAVY_SAVED")])\n',
    });
    const seen = (ca: string | undefined) => {
      const env = { ...process.env };
      if (ca === undefined) delete env.NODE_EXTRA_CA_CERTS;
      else env.NODE_EXTRA_CA_CERTS = ca;
      // The file itself, as `npm link` installs it: through its #! line, not `node dist/heavy.js`.
      const r = spawnSync(HEAVY, ['test', '-q', '-s', 'tests/test_env_seen.py'], { cwd: root, encoding: 'utf8', env });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      return /seen: (.*)/.exec(r.stdout)?.[1];
    };
    assert.equal(seen('/etc/ssl/certs/some bundle.pem'), "'/etc/ssl/certs/some bundle.pem' []");
    assert.equal(seen(''), "'' []");
    assert.equal(seen(undefined), 'None []');
  });
  it('adds [tool.heavy.tests] args to every run', () => {
    const root = project();
    fs.writeFileSync(path.join(root, 'pyproject.toml'), fs.readFileSync(path.join(root, 'pyproject.toml'), 'utf8')
      .replace('[tool.heavy.tests]\n', '[tool.heavy.tests]\nargs = ["-p", "no:cacheprovider", "-k", "slugify"]\n'));
    const r = heavySync(['test', '-q'], root);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /1 passed, 11 deselected, 1 xfailed/);
    assert.ok(!fs.existsSync(path.join(root, '.pytest_cache')), '-p no:cacheprovider reached pytest');
  });

  it('behaves as pytest on bad input: unknown node id, usage errors, syntax errors', async () => {
    const root = project();
    const cold = spawnSync(python(root), ['-m', 'pytest', '-p', 'no:cacheprovider', 'tests/test_logic.py::test_nope'], { cwd: root, encoding: 'utf8' });
    const warm = heavySync(['test', 'tests/test_logic.py::test_nope'], root);
    assert.equal(cold.status, 4);
    assert.equal(warm.code, 4);
    const notFound = (text: string) => /ERROR: not found: .*test_nope.*/.exec(text)?.[0];
    assert.ok(notFound(cold.stdout + cold.stderr));
    assert.equal(notFound(warm.stdout + warm.stderr), notFound(cold.stdout + cold.stderr));

    // Usage errors and --help read as \`python -m pytest\`'s own (the latter also from a primed run).
    const pytest = (args: string[]) => spawnSync(python(root), ['-m', 'pytest', ...args], { cwd: root, encoding: 'utf8' });
    const usage = (text: string) => text.split('\n').filter((l) => /usage:|error:/.test(l)).join('\n');
    const coldUsage = pytest(['--bogus']);
    assert.match(usage(coldUsage.stderr), /^ERROR: usage: python -m pytest \[options\]/);
    const warmUsage = heavySync(['test', '--bogus'], root);
    assert.equal(warmUsage.code, coldUsage.status);
    assert.equal(usage(warmUsage.stdout + warmUsage.stderr), usage(coldUsage.stderr));
    const coldHelp = pytest(['--help']).stdout.split('\n')[0];
    assert.match(coldHelp, /^usage: python -m pytest /);
    assert.equal(heavySync(['test', '--help'], root).stdout.split('\n')[0], coldHelp);
    await waitFor(() => JSON.parse(heavySync(['daemon', 'status', '--json'], root).stdout).primes > 0, 10000, 'a prime');
    const primedHelp = heavySync(['test', '--help'], root);
    assert.equal(primedHelp.stdout.split('\n')[0], coldHelp);
    assert.equal(JSON.parse(heavySync(['daemon', 'status', '--json'], root).stdout).runs.primed, 1);

    // `heavy test -s ... | head -1`: the reader leaves early; heavy stops quietly, as pytest does.
    writeFiles(root, { 'tests/test_loud.py': 'def test_loud():\n    print(("x" * 99 + "\\n") * 40000)\n' });
    const piped = spawn(process.execPath, [HEAVY, 'test', '-s', 'tests/test_loud.py'], { cwd: root });
    let pipedErr = '';
    piped.stderr.on('data', (d) => { pipedErr += d; });
    piped.stdout.once('data', () => piped.stdout.destroy());
    const pipedCode = await new Promise((resolve) => piped.on('close', resolve));
    assert.equal(pipedCode, 1, pipedErr);
    assert.doesNotMatch(pipedErr, /EPIPE|Unhandled/);

    writeFiles(root, { 'tests/test_broken.py': 'def test_x(:\n    pass\n' });
    const syntax = heavySync(['test', 'tests/test_broken.py'], root);
    assert.equal(syntax.code, 2);
    assert.match(syntax.stdout, /SyntaxError/);
    assert.match(syntax.stdout, /ERROR collecting tests\/test_broken.py/);
    assert.equal(heavySync(['test', '-q', 'tests/test_logic.py'], root).code, 0);
  });

  it('heavy watch re-runs only the tests affected by a save', async () => {
    const root = project({ 'app/unused.py': 'X = 1\n' });
    const w = heavyAsync(['watch', '-q'], root);
    try {
      await waitFor(() => /ok: .*passed.*watching for changes/.test(w.output()), 60000, 'the first run');
      fs.appendFileSync(path.join(root, 'tests', 'test_logic.py'), '\n\ndef test_added():\n    assert True\n');
      await waitFor(() => /test_logic.py changed: running 1 affected test file/.test(w.output()), 20000, 'the affected run').catch((err) => { throw new Error(`${err.message}:\n${w.output()}`); });
      await waitFor(() => (w.output().match(/watching for changes/g) ?? []).length >= 2, 20000, 'the second summary');
      assert.match(w.output(), /ok: 6 passed, 1 skipped, 1 xfailed/);
      fs.appendFileSync(path.join(root, 'app', 'unused.py'), 'Y = 2\n');
      await waitFor(() => /unused.py changed; no test depends on it/.test(w.output()), 20000, 'the no-op notice');
      // Watch runs follow saves, which drop primes: none are made for them.
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(JSON.parse(heavySync(['daemon', 'status', '--json'], root).stdout).primes, 0);
      // Likewise the editor's discovery after a save; its other discovery is primed.
      const daemon = (await connectDaemon(root, { start: false }))!;
      try {
        await daemon.connection.sendRequest(Methods.discover, { repeatable: false });
        await new Promise((r) => setTimeout(r, 800));
        assert.equal((await daemon.connection.sendRequest(Methods.status)).primes, 0);
        await daemon.connection.sendRequest(Methods.discover, {});
        await waitFor(async () => (await daemon.connection.sendRequest(Methods.status)).primes === 1, 10000, 'a discovery prime');
      } finally {
        daemon.close();
      }
    } finally {
      w.child.kill('SIGINT');
      await w.done;
    }
  });

  it('says which interpreter lacks pytest, or does not exist', function () {
    this.timeout(120000);
    const root = project();
    fs.rmSync(path.join(root, '.venv'));
    fs.appendFileSync(path.join(root, 'pyproject.toml'), '');
    const toml = fs.readFileSync(path.join(root, 'pyproject.toml'), 'utf8').replace('[tool.heavy]\n', '[tool.heavy]\npython = "/nonexistent/bin/python"\n');
    fs.writeFileSync(path.join(root, 'pyproject.toml'), toml);
    const missing = heavySync(['test'], root);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stdout + missing.stderr, /\/nonexistent\/bin\/python does not exist/);
    stopDaemon(root);

    const bare = path.join(root, 'bare-venv');
    assert.equal(spawnSync('python3', ['-m', 'venv', '--without-pip', bare]).status, 0);
    fs.writeFileSync(path.join(root, 'pyproject.toml'), toml.replace('/nonexistent/bin/python', `${bare}/bin/python`));
    const noPytest = heavySync(['test'], root);
    assert.notEqual(noPytest.code, 0);
    assert.match(noPytest.stdout + noPytest.stderr, new RegExp(`pytest is not installed in ${bare}/bin/python.*-m pip install pytest`));
  });
});
