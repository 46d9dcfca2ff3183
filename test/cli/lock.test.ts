import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { daemonPaths } from '../../daemon/server/paths';
import { processStartTime } from '../../daemon/server/processStart';
import { EXAMPLE, HEAVY, heavyAsync, heavySync, newTree, stopDaemon, waitFor, writeFiles } from '../helpers/project';

// A project with one test, served by the example's interpreter: little to warm.
const PROJECT = {
  'pyproject.toml': `[project]\nname = "locked"\n\n[tool.heavy]\npython = "${path.join(EXAMPLE, '.venv', 'bin', 'python')}"\n`,
  'tests/test_one.py': 'def test_one():\n    assert True\n',
};

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** The pids of the daemons serving `root`, from the process table. */
function daemonsFor(root: string): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.includes('__serve') && argv[argv.indexOf('--root') + 1] === root;
    } catch {
      return false;
    }
  }).map(Number);
}

function status(root: string): { running: boolean; pid?: number } {
  return JSON.parse(heavySync(['daemon', 'status', '--json', '--root', root], root).stdout);
}

function sleeper(): ChildProcess {
  return spawn('sleep', ['300'], { stdio: 'ignore' });
}

/**
 * A child with the pid `pid`, made by setting the kernel's last handed-out pid just below it
 * (root only; what a wrap-around of the pid counter does by chance). undefined when it cannot.
 */
async function sleeperWithPid(pid: number): Promise<ChildProcess | undefined> {
  const knob = '/proc/sys/kernel/ns_last_pid';
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      fs.writeFileSync(knob, String(pid - 1));
    } catch {
      return undefined;
    }
    const child = sleeper();
    if (child.pid === pid) return child;
    child.kill('SIGKILL'); // another process forked first: try again
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

describe('the daemon lock (Linux: released by the kernel when its holder dies)', function () {
  this.timeout(90000);
  const roots: string[] = [];
  const children: ChildProcess[] = [];
  const project = () => {
    const root = newTree(PROJECT, 'heavy-lock-');
    roots.push(root);
    return root;
  };

  before(function () {
    if (process.platform !== 'linux') this.skip();
    if (!fs.existsSync(HEAVY)) throw new Error('dist/heavy.js is missing: run npm run build first');
  });
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const root of roots.splice(0)) {
      stopDaemon(root);
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('a lock file naming a live process that is not a daemon neither stops a start nor gets that process signalled', () => {
    const root = project();
    const paths = daemonPaths(root);
    const other = sleeper();
    children.push(other);
    // What a dead daemon's lock looks like once its pid has been handed to another process.
    fs.writeFileSync(paths.lock, JSON.stringify({ pid: other.pid, root, started: new Date().toISOString(), startTime: '1' }));
    assert.match(heavySync(['daemon', 'status', '--root', root], root).stdout, /^no test daemon is running/);
    assert.match(heavySync(['daemon', 'stop', '--root', root], root).stdout, /^no test daemon is running/);
    assert.ok(alive(other.pid!), 'stop signalled a process that is not a daemon');

    const started = Date.now();
    const r = heavySync(['daemon', 'start', '--root', root], root);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(Date.now() - started < 10000, `took ${Date.now() - started} ms`);
    const s = status(root);
    assert.ok(s.running && s.pid !== other.pid);
    assert.ok(alive(other.pid!));
  });

  it('two starts at once give one daemon, and only one of them says it started it', async () => {
    const root = project();
    const starts = [0, 1, 2].map(() => heavyAsync(['daemon', 'start', '--root', root], root));
    const results = await Promise.all(starts.map((s) => s.done));
    for (const r of results) assert.equal(r.code, 0, r.stdout + r.stderr);
    const pids = new Set(results.map((r) => /\(pid (\d+)\)/.exec(r.stdout)?.[1]));
    assert.equal(pids.size, 1, results.map((r) => r.stdout).join(''));
    assert.equal(results.filter((r) => r.stdout.startsWith('started')).length, 1, results.map((r) => r.stdout).join(''));
    // The daemons that lost the race have gone.
    await waitFor(() => daemonsFor(root).length === 1, 10000, `one daemon for ${root}, not ${daemonsFor(root).join(', ')}`);
    assert.equal(String(daemonsFor(root)[0]), [...pids][0]);
  });

  it('a daemon killed with kill -9 is replaced at once, even when its pid now names another process', async () => {
    const root = project();
    assert.equal(heavySync(['daemon', 'start', '--root', root], root).code, 0);
    const killed = status(root).pid!;
    const recorded = JSON.parse(fs.readFileSync(daemonPaths(root).lock, 'utf8'));
    assert.equal(recorded.pid, killed);
    process.kill(killed, 'SIGKILL');
    await waitFor(() => !alive(killed), 5000, 'the daemon to die');
    // The pid counter wrapping around onto the dead daemon's pid, when this test may set it.
    const impostor = await sleeperWithPid(killed);
    if (impostor) {
      children.push(impostor);
      assert.notEqual(processStartTime(killed), recorded.startTime);
    }

    const started = Date.now();
    const r = heavySync(['daemon', 'start', '--root', root], root);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^started the test daemon/);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.notEqual(status(root).pid, killed);
    if (impostor) {
      stopDaemon(root);
      assert.ok(alive(killed), 'stop signalled the process that now has the dead daemon\'s pid');
    }
  });

  it('a project folder deleted and re-created at the same path gets a fresh daemon', async () => {
    const root = project();
    assert.equal(heavySync(['daemon', 'start', '--root', root], root).code, 0);
    const first = status(root).pid!;
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(root);
    writeFiles(root, PROJECT);
    // The daemon of the old folder notices and leaves; it never serves the new one.
    await waitFor(() => !alive(first), 10000, 'the old folder\'s daemon to stop');
    const r = heavySync(['daemon', 'start', '--root', root], root);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^started the test daemon/);
  });

  it('a start that cannot take the lock says who holds it and what it waited for, here and in the log', async () => {
    const root = project();
    const paths = daemonPaths(root);
    // Something that is not a daemon binds the lock's name and never answers on the socket.
    const squatter = spawn(process.execPath, ['-e', `require('node:net').createServer((s) => s.destroy()).listen(${JSON.stringify(paths.lockSocket)}, () => console.log('bound'))`]);
    children.push(squatter);
    await new Promise((resolve) => squatter.stdout!.once('data', resolve));
    assert.ok(await new Promise((resolve) => net.connect(paths.lockSocket!).once('connect', function (this: net.Socket) { this.destroy(); resolve(true); }).once('error', () => resolve(false))));

    const started = Date.now();
    const r = heavySync(['daemon', 'start', '--root', root], root);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.ok(Date.now() - started < 15000, `took ${Date.now() - started} ms`);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    assert.match(r.stderr, /^heavy: the test daemon cannot start: a process holds the lock \(@heavy-\d+-[0-9a-f]+\.lock\) and has not said who it is; the daemon it started \(pid \d+\) exited \(exit code 0\); its log is /);
    const log = fs.readFileSync(paths.log, 'utf8');
    assert.match(log, /not starting: another process holds the lock for this project/);
    assert.match(log, /heavy \d+: starting the daemon failed: the test daemon cannot start: a process holds the lock/);
  });
});
