// A cold `python -m pytest` is the oracle: through the daemon, every case here must give
// its outcomes, exit code and warnings, whatever the environment, folder or filters.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connectDaemon } from '../../daemon/client';
import { Methods } from '../../daemon/protocol';
import { maskDurations, projectWarm, requestRun } from '../helpers/daemon';
import { copyExample, heavyAsync, heavySync, python, stopDaemon, waitFor } from '../helpers/project';

const FILES = {
  // The reproduction: pydantic-settings reads (and lists) the environment at import.
  'app/pyd_settings.py': 'from pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n    fee_percent: float = 1.5\n\n\nsettings = Settings()\n',
  'tests/test_pyd_fee.py': 'from app.pyd_settings import settings\n\n\ndef test_fee():\n    assert settings.fee_percent == 1.5\n',
  // Settings read by name at import, as os.environ-style apps do.
  'app/fees.py': 'import os\n\nFEE_PERCENT = float(os.environ.get("FEE_PERCENT", "1.5"))\n',
  'tests/test_fee.py': 'from app.fees import FEE_PERCENT\n\n\ndef test_fee():\n    assert FEE_PERCENT == 1.5\n',
  // Settings that list the whole environment at import, as pydantic-settings does.
  'app/conf.py': 'import os\n\nSETTINGS = {k.lower(): v for k, v in os.environ.items()}\nDEBUG = SETTINGS.get("app_debug") == "1"\n',
  'tests/test_conf.py': 'from app.conf import DEBUG\n\n\ndef test_not_debug():\n    assert not DEBUG\n',
  // A module that warns when imported.
  'app/legacy.py': 'import warnings\n\nwarnings.warn("legacy is deprecated", DeprecationWarning)\nVALUE = 1\n',
  'tests/test_legacy.py': 'from app.legacy import VALUE\n\n\ndef test_value():\n    assert VALUE == 1\n',
  // Where a run finds itself.
  'tests/test_where.py': 'import json, os, sys, warnings\n\n\ndef test_where():\n    with open(os.environ["DUMP"], "w") as f:\n        json.dump({"path": sys.path, "argv": sys.argv, "cwd": os.getcwd(), "warnoptions": sys.warnoptions,\n                   "filters": [repr(x) for x in warnings.filters]}, f)\n',
  // Imports a test makes while it runs: one that warns naming its importer (stacklevel=2), a
  // missing one, and one through importlib. The traceback and the warning's location must be
  // the cold run's, with no frame of the daemon's own in between.
  'tests/stale_api.py': 'import warnings\n\nwarnings.warn("stale_api is deprecated", DeprecationWarning, stacklevel=2)\nVALUE = 1\n',
  'tests/test_run_imports.py': 'import importlib\n\n\ndef test_warns_at_import():\n    from tests import stale_api\n    assert stale_api.VALUE == 1\n\n\n'
    + 'def test_missing():\n    import not_installed_anywhere  # noqa: F401\n\n\ndef test_dynamic():\n    importlib.import_module("tests.not_there_either")\n',
  'tests/test_hash.py': 'import os\n\n\ndef test_hash():\n    assert hash("heavy") == int(os.environ["EXPECTED_HASH"])\n',
};

/** What must agree between two runs: exit code and pytest's last line (outcome and warning counts). */
function verdict(code: number | null, output: string) {
  const lines = maskDurations(output).trim().split('\n').filter((l) => l.trim() && !l.startsWith('heavy: started the test daemon'));
  return { code, summary: lines[lines.length - 1] ?? '' };
}

describe('the daemon gives a cold run\'s results', function () {
  this.timeout(180000);
  let root: string;
  const cold = (args: string[], env: Record<string, string | undefined> = {}, cwd = root) => {
    const r = spawnSync(python(root), ['-m', 'pytest', '-p', 'no:cacheprovider', ...args], { cwd, encoding: 'utf8', env: withEnv(env) });
    return verdict(r.status, r.stdout + r.stderr);
  };
  const warm = (args: string[], env: Record<string, string | undefined> = {}, cwd = root) => {
    const r = spawnSync(process.execPath, [path.resolve(__dirname, '../../dist/heavy.js'), 'test', '-p', 'no:cacheprovider', ...args], { cwd, encoding: 'utf8', env: withEnv(env), timeout: 120000 });
    return verdict(r.status, r.stdout + r.stderr);
  };

  before(() => {
    root = copyExample(FILES);
  });
  after(() => stopDaemon(root));

  it('reads the environment at import time with the run\'s own environment (CLI): set, changed, unset', () => {
    for (const test of ['tests/test_pyd_fee.py', 'tests/test_fee.py']) {
      for (const env of [{}, { FEE_PERCENT: '3' }, { FEE_PERCENT: '1.5' }, { FEE_PERCENT: '2' }, {}, { FEE_PERCENT: '3' }]) {
        const expected = cold(['-q', test], env);
        assert.equal(expected.code, env.FEE_PERCENT && env.FEE_PERCENT !== '1.5' ? 1 : 0);
        assert.deepEqual(warm(['-q', test], env), expected, `${test} ${JSON.stringify(env)}`);
      }
    }
  });

  it('and for an editor request, also when the imports listed the whole environment', async () => {
    const daemon = (await connectDaemon(root, { start: true }))!;
    try {
      await projectWarm(daemon);
      const base = withEnv({});
      for (const extra of [{}, { FEE_PERCENT: '3', APP_DEBUG: '1' }, { FEE_PERCENT: '2' }, {}, { APP_DEBUG: '1' }]) {
        const env = { ...base, ...extra } as Record<string, string>;
        const args = ['-q', '-p', 'no:cacheprovider', 'tests/test_fee.py', 'tests/test_conf.py', 'tests/test_pyd_fee.py'];
        const r = await requestRun(daemon, root, args, { env });
        assert.deepEqual(verdict(r.exitCode, r.output), cold(args.slice(3).concat('-q'), extra), JSON.stringify(extra));
      }
    } finally {
      daemon.close();
    }
  });

  it('keeps the CLI\'s and the editor\'s contexts warm side by side: alternating rebuilds nothing', async () => {
    const daemon = (await connectDaemon(root, { start: true }))!;
    try {
      await projectWarm(daemon);
      const args = ['-q', 'tests/test_conf.py'];
      // The editor sends no environment (the daemon's own is used); the CLI sends its shell's, which differs.
      const cli = { env: withEnv({ HEAVY_TEST_SHELL_VARIABLE: 'cli' }) as Record<string, string> };
      const levels: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await requestRun(daemon, root, args, i % 2 ? cli : {});
        assert.equal(r.exitCode, 0, r.output);
        levels.push(r.level!);
        if (i === 3) await projectWarm(daemon);
        if (i >= 3) await waitFor(async () => (await daemon.connection.sendRequest(Methods.status)).contexts!.filter((c) => c.levels === 'project').length >= 2, 30000, 'both contexts warm');
      }
      // The first runs in the CLI's context fork from a lower level while its own is built; after that, both are served warm.
      assert.deepEqual(levels.slice(4), ['project', 'project', 'project', 'project'], levels.join(' '));
      const status = await daemon.connection.sendRequest(Methods.status);
      const project = status.contexts!.filter((c) => c.levels === 'project');
      assert.ok(project.length >= 2, JSON.stringify(status.contexts));
      assert.ok(project.every((c) => c.reads.includes('*')), 'the imports listed the environment, so all of it is the key');
    } finally {
      daemon.close();
    }
  });

  it('shows warnings raised at import and fails on them under error filters (-W, PYTHONWARNINGS, ini)', () => {
    const cases: Array<[string[], Record<string, string>]> = [
      [[], {}],
      [['-W', 'error::DeprecationWarning'], {}],
      [[], { PYTHONWARNINGS: 'error::DeprecationWarning' }],
      [['-o', 'filterwarnings=error::DeprecationWarning'], {}],
      [['-W', 'ignore::DeprecationWarning'], {}],
    ];
    for (const [extra, env] of cases) {
      const args = ['-q', ...extra, 'tests/test_legacy.py'];
      const expected = cold(args, env);
      assert.deepEqual(warm(args, env), expected, `${extra.join(' ')} ${JSON.stringify(env)}`);
    }
    assert.match(cold(['-q', 'tests/test_legacy.py']).summary, /1 passed, 1 warning/);
    assert.equal(cold(['-q', '-W', 'error::DeprecationWarning', 'tests/test_legacy.py']).code, 2);
  });

  it('prints what a cold run prints for imports made inside tests: tracebacks and warning locations', () => {
    // Object addresses differ between any two runs, cold or not.
    const text = (output: string) => maskDurations(output).replace(/ at 0x[0-9a-f]+/g, ' at 0x?').split('\n')
      .filter((l) => !l.startsWith('heavy: started the test daemon')).join('\n');
    for (const extra of [[], ['--tb=native'], ['-W', 'error::DeprecationWarning']]) {
      const args = ['-p', 'no:cacheprovider', '-q', ...extra, 'tests/test_run_imports.py'];
      const c = spawnSync(python(root), ['-m', 'pytest', ...args], { cwd: root, encoding: 'utf8', env: withEnv({}) });
      const w = spawnSync(process.execPath, [path.resolve(__dirname, '../../dist/heavy.js'), 'test', ...args], { cwd: root, encoding: 'utf8', env: withEnv({}), timeout: 120000 });
      assert.equal(w.status, c.status, extra.join(' '));
      assert.equal(text(w.stdout + w.stderr), text(c.stdout + c.stderr), extra.join(' '));
    }
    const plain = spawnSync(python(root), ['-m', 'pytest', '-p', 'no:cacheprovider', '-q', 'tests/test_run_imports.py'], { cwd: root, encoding: 'utf8', env: withEnv({}) });
    assert.match(plain.stdout, /tests\/test_run_imports\.py:5: DeprecationWarning: stale_api is deprecated/, 'the warning names the importing line');
  });

  it('gives a run the sys.path, sys.argv, folder and warning filters of python -m pytest, from the root and from a subfolder', () => {
    for (const [cwd, target] of [[root, 'tests/test_where.py'], [path.join(root, 'tests'), 'test_where.py']]) {
      const dump = (name: string) => JSON.parse(fs.readFileSync(path.join(root, name), 'utf8'));
      cold(['-q', target], { DUMP: path.join(root, 'cold.json'), PYTHONWARNINGS: 'default' }, cwd);
      warm(['-q', target], { DUMP: path.join(root, 'warm.json'), PYTHONWARNINGS: 'default' }, cwd);
      assert.deepEqual(dump('warm.json'), dump('cold.json'), cwd);
    }
  });

  it('runs cold when the interpreter itself would start differently (PYTHONHASHSEED)', () => {
    const seeded = spawnSync(python(root), ['-c', 'print(hash("heavy"))'], { encoding: 'utf8', env: withEnv({ PYTHONHASHSEED: '7' }) }).stdout.trim();
    const env = { PYTHONHASHSEED: '7', EXPECTED_HASH: seeded };
    assert.equal(cold(['-q', 'tests/test_hash.py'], env).code, 0);
    assert.deepEqual(warm(['-q', 'tests/test_hash.py'], env), cold(['-q', 'tests/test_hash.py'], env));
  });

  it('on Ctrl+C prints what pytest prints, and leaves no process of the test behind', async () => {
    fs.writeFileSync(path.join(root, 'tests/test_sleepy.py'),
      'import os, subprocess, sys\n\n\ndef test_sleepy():\n    p = subprocess.Popen(["sleep", "30"])\n    open(os.environ["PID_FILE"], "w").write(str(p.pid))\n    p.wait()\n');
    const pidFile = path.join(root, 'sleep.pid');
    fs.rmSync(pidFile, { force: true });
    process.env.PID_FILE = pidFile;
    const run = heavyAsync(['test', '-q', '-p', 'no:cacheprovider', 'tests/test_sleepy.py'], root);
    delete process.env.PID_FILE;
    await waitFor(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').length > 0, 60000, 'the test to start its subprocess');
    const sleeper = Number(fs.readFileSync(pidFile, 'utf8'));
    run.child.kill('SIGINT');
    const done = await run.done;
    assert.equal(done.code, 2, done.stdout + done.stderr);
    assert.match(done.stdout, /KeyboardInterrupt/);
    assert.doesNotMatch(done.stdout + done.stderr, /^heavy: /m, 'no line of heavy\'s own blaming the test');
    // The interrupt reached the test's own subprocess (as a terminal's Ctrl+C does) and it was reaped, not left defunct.
    await waitFor(() => !fs.existsSync(`/proc/${sleeper}`), 5000, `process ${sleeper} to be gone`);
  });
});

function withEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}
