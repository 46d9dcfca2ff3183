import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { copyExample, HEAVY, heavySync, newTree, stopDaemon, type Run } from '../helpers/project';

// Every command, with where its own arguments go around `--root ROOT`, and whether it runs
// the project's interpreter. A ptyme log for import-ptyme, created in before().
let ptymeLog = '';
interface Command { words: string[]; extra?: () => string[]; python: boolean; longRunning?: boolean }
const COMMANDS: Command[] = [
  { words: ['profiles'], python: false },
  { words: ['profiles', 'list'], python: false },
  { words: ['profiles', 'run'], extra: () => ['run-server'], python: true },
  { words: ['db', 'pave'], python: true },
  { words: ['db', 'migrate'], python: true },
  { words: ['db', 'check'], python: true },
  { words: ['test'], python: true },
  { words: ['watch'], python: true },
  { words: ['daemon', 'start'], python: true },
  { words: ['daemon', 'stop'], python: false },
  { words: ['daemon', 'status'], python: false },
  { words: ['daemon', 'restart'], python: true },
  { words: ['time', 'track'], python: false, longRunning: true },
  { words: ['time', 'status'], python: false },
  { words: ['time', 'cement'], python: false },
  { words: ['time', 'verify'], python: false },
  { words: ['time', 'report'], python: false },
  { words: ['time', 'pause'], python: false },
  { words: ['time', 'resume'], python: false },
  { words: ['time', 'import-ptyme'], extra: () => [ptymeLog], python: false },
];
const ENV = { HEAVY_USER: 'tester', NO_COLOR: '1' };

const argsFor = (c: Command, root: string) => [...c.words, '--root', root, ...(c.extra?.() ?? [])];
const label = (c: Command) => `heavy ${c.words.join(' ')}`;

/** Exit 2 and one line on stderr that names `subject`: no stack frames, nothing on stdout. */
function assertOneLine(r: Run, subject: string, what: string): void {
  const shown = `${what}\nexit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.doesNotMatch(r.stdout + r.stderr, /^\s+at /m, `a stack trace: ${shown}`);
  assert.equal(r.code, 2, shown);
  const lines = r.stderr.split('\n').filter((l) => l.trim());
  assert.equal(lines.length, 1, `one line on stderr: ${shown}`);
  assert.ok(lines[0].startsWith('heavy: ') && lines[0].includes(subject), `names ${subject}: ${shown}`);
  assert.equal(r.stdout, '', shown);
}

/**
 * The CLI without the power to read what it may not read. As root, chmod 000 stops nobody,
 * so the two capabilities that bypass file permissions are dropped for the child.
 */
function heavyUnprivileged(args: string[], cwd: string): Run | undefined {
  if (process.getuid?.() !== 0) return heavySync(args, cwd, ENV);
  const r = spawnSync('setpriv', ['--bounding-set=-dac_override,-dac_read_search', '--', process.execPath, HEAVY, ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, ...ENV }, timeout: 120000,
  });
  if (r.error) return undefined; // no setpriv: the case cannot be made here
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('heavy on bad input: one line, exit 2, for every command', function () {
  this.timeout(120000);
  const roots: string[] = [];

  before(() => {
    if (!fs.existsSync(HEAVY)) throw new Error('dist/heavy.js is missing: run npm run build first');
    const logs = newTree({ 'alice': '' });
    roots.push(logs);
    ptymeLog = path.join(logs, 'alice');
  });
  after(() => {
    for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
  });

  it('a root that does not exist: names the folder, and creates nothing', () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-gone-'));
    roots.push(parent);
    const missing = path.join(parent, 'no', 'such', 'project');
    for (const c of COMMANDS) {
      assertOneLine(heavySync(argsFor(c, missing), parent, ENV), `the project folder ${missing} does not exist`, label(c));
    }
    assert.deepEqual(fs.readdirSync(parent), [], 'nothing was created');
  });

  it('a root that is a file: names it, and leaves it alone', () => {
    const parent = newTree({ 'notes.txt': 'keep me\n' });
    roots.push(parent);
    const file = path.join(parent, 'notes.txt');
    for (const c of COMMANDS) {
      assertOneLine(heavySync(argsFor(c, file), parent, ENV), `the project folder ${file} is a file, not a folder`, label(c));
    }
    assert.equal(fs.readFileSync(file, 'utf8'), 'keep me\n');
    assert.deepEqual(fs.readdirSync(parent), ['notes.txt']);
  });

  it('a pyproject.toml that cannot be read (chmod 000): names the file', function () {
    const root = copyExample();
    roots.push(root);
    const pyproject = path.join(root, 'pyproject.toml');
    fs.chmodSync(pyproject, 0o000);
    try {
      for (const c of COMMANDS) {
        const r = heavyUnprivileged(argsFor(c, root), root);
        if (!r) this.skip();
        assertOneLine(r, `cannot read ${pyproject}: permission denied`, label(c));
      }
      assert.equal(fs.statSync(pyproject).mode & 0o777, 0);
      assert.equal(heavySync(['daemon', 'status', '--root', root], root).code, 3, 'no daemon was started');
    } finally {
      fs.chmodSync(pyproject, 0o644);
      stopDaemon(root);
    }
  });

  for (const [kind, interpreter] of [['a program that is not Python (/bin/ls)', '/bin/ls'], ['a text file', './not-python']] as const) {
    it(`an interpreter that is ${kind}: names it where it would run, and is no matter elsewhere`, async () => {
      const root = copyExample();
      roots.push(root);
      const marker = path.join(root, 'the-text-file-ran');
      // Executable, without #!: the system would hand it to /bin/sh, which would run this line.
      fs.writeFileSync(path.join(root, 'not-python'), `touch ${marker}\n`, { mode: 0o755 });
      const pyproject = path.join(root, 'pyproject.toml');
      fs.writeFileSync(pyproject, fs.readFileSync(pyproject, 'utf8').replace('[tool.heavy]\n', `[tool.heavy]\npython = "${interpreter}"\n`));
      const named = interpreter === '/bin/ls' ? '/bin/ls' : path.join(root, 'not-python');
      try {
        for (const c of COMMANDS) {
          if (c.python) {
            assertOneLine(heavySync(argsFor(c, root), root, ENV), `the interpreter ${named} (set by "tool.heavy.python" in ${pyproject}) is not Python`, label(c));
            continue;
          }
          const r = c.longRunning ? await untilInterrupted(argsFor(c, root), root, /tracking time for tester/) : heavySync(argsFor(c, root), root, ENV);
          const shown = `${label(c)}\nexit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
          assert.doesNotMatch(r.stdout + r.stderr, /^\s+at |internal error/m, shown);
          assert.equal(r.code, c.words.join(' ') === 'daemon status' ? 3 : 0, shown);
        }
        assert.equal(heavySync(['daemon', 'status', '--root', root], root).code, 3, 'no daemon was left running');
        assert.ok(!fs.existsSync(marker), 'the text file was run as a shell script');
      } finally {
        stopDaemon(root);
      }
    });
  }
});

/** Runs a command that runs until Ctrl+C: waits for `ready` on its output, then interrupts it. */
function untilInterrupted(args: string[], cwd: string, ready: RegExp): Promise<Run> {
  const child = spawn(process.execPath, [HEAVY, ...args], { cwd, env: { ...process.env, ...ENV } });
  let stdout = '';
  let stderr = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
  return new Promise((resolve) => {
    let interrupted = false;
    // Once: a second Ctrl+C during its clean-up would kill it.
    const check = () => {
      if (interrupted || !ready.test(stdout)) return;
      interrupted = true;
      child.kill('SIGINT');
    };
    child.stdout.on('data', (d) => { stdout += d; check(); });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
