#!/usr/bin/env node
// npm run bench: the warm test daemon against cold pytest, side by side in one run, on a
// private copy of the bundled example project. Medians of alternating runs; no targets are
// asserted here, the ratios are printed for people (and issue notes) to read.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const rpc = require('vscode-jsonrpc/node');
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const HEAVY = path.join(repo, 'dist', 'heavy.js');
const EXAMPLE = path.join(repo, 'test', 'fixtures', 'example');
const RUNS = Number(process.env.HEAVY_BENCH_RUNS ?? 7);
const IDLE_SECONDS = Number(process.env.HEAVY_BENCH_IDLE ?? 30);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
const TEST = 'tests/test_logic.py::test_slugify';

if (!fs.existsSync(HEAVY)) throw new Error('dist/heavy.js is missing: run npm run build');
if (!fs.existsSync(path.join(EXAMPLE, '.venv'))) throw new Error('the example has no .venv: run bash scripts/setup-example.sh');

// Like with like: this machine exports PYTHONDONTWRITEBYTECODE=1, which makes every cold
// pytest recompile the project, while the daemon keeps its own bytecode cache. Developers'
// shells do not set it, so both sides run without it (HEAVY_BENCH_KEEP_PYC_ENV=1 keeps it).
const shellHadNoPyc = process.env.PYTHONDONTWRITEBYTECODE !== undefined;
if (!process.env.HEAVY_BENCH_KEEP_PYC_ENV) delete process.env.PYTHONDONTWRITEBYTECODE;

function benchCopy(extra = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-bench-'));
  fs.cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !/(\.venv|__pycache__|\.pytest_cache|\.db)$/.test(src) });
  fs.symlinkSync(path.join(EXAMPLE, '.venv'), path.join(dir, '.venv'));
  for (const [rel, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, rel), text);
  return dir;
}
const root = benchCopy();
// The same project with pydantic-settings-style settings: listed from the whole environment at import.
const listing = benchCopy({
  'app/bench_settings.py': 'import os\n\nSETTINGS = {k.lower(): v for k, v in os.environ.items()}\n',
  'tests/test_bench_settings.py': 'from app.bench_settings import SETTINGS\n\n\ndef test_settings():\n    assert SETTINGS\n',
});
const python = path.join(root, '.venv', 'bin', 'python');

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const ms = (x) => `${x.toFixed(0)} ms`;

function timed(cmd, args, env = process.env, cwd = root) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env });
  const elapsed = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return { elapsed, stdout: r.stdout };
}
const cold = (args) => timed(python, ['-m', 'pytest', '-p', 'no:cacheprovider', ...args]);
// As people run it: the `heavy` command (dist/heavy.js through its #! line, as `npm link` installs it).
const heavy = (args, env, cwd) => timed(HEAVY, args, env, cwd);
// A terminal's environment differs from the editor's (which started the daemon) in variables like these.
const terminalEnv = { ...process.env, TERM: 'xterm-256color', SHLVL: '2', OLDPWD: os.tmpdir(), _: HEAVY, COLUMNS: '120' };

async function client(dir = root) {
  const status = JSON.parse(spawnSync(process.execPath, [HEAVY, 'daemon', 'start', '--json', '--root', dir], { encoding: 'utf8' }).stdout);
  const sock = net.connect(status.socket);
  await new Promise((r, j) => { sock.once('connect', r); sock.once('error', j); });
  const c = rpc.createMessageConnection(new rpc.StreamMessageReader(sock), new rpc.StreamMessageWriter(sock));
  c.listen();
  await c.sendRequest('initialize', { processId: null, capabilities: {} });
  return { c, close: () => { c.dispose(); sock.destroy(); } };
}

function cpuSeconds(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Memory a process does not share with its parent (kB of private dirty pages). */
function privateKb(pid) {
  try {
    return Number(/Private_Dirty:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function descendants(pid) {
  const out = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (ppid === pid) out.push(Number(entry), ...descendants(Number(entry)));
    } catch { /* gone */ }
  }
  return out;
}

async function waitWarm(dir = root) {
  for (let i = 0; i < 400; i++) {
    const s = JSON.parse(spawnSync(process.execPath, [HEAVY, 'daemon', 'status', '--json', '--root', dir], { encoding: 'utf8' }).stdout);
    if (s.warm === 'warm' && s.projectWarm === 'ready') return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the daemon did not get warm');
}

const rows = [];
function report(name, coldMs, warmMs, target) {
  const ratio = coldMs / warmMs;
  rows.push({ name, cold: ms(coldMs), warm: ms(warmMs), ratio: `${ratio.toFixed(1)}x`, target });
}

try {
  spawnSync(process.execPath, [HEAVY, 'daemon', 'start', '--root', root], { stdio: 'inherit' });
  await waitWarm();
  const { c, close } = await client();

  // 1. one test, cold against warm, alternating.
  const c1 = [], w1 = [], d1 = [], own = [];
  heavy(['test', '-q', TEST]);
  for (let i = 0; i < RUNS; i++) {
    c1.push(cold(['-q', TEST]).elapsed);
    w1.push(heavy(['test', '-q', TEST]).elapsed);
    const t = process.hrtime.bigint();
    const r = await c.sendRequest('heavy/runTests', { runId: `bench-${i}`, args: ['-q', TEST], cwd: root });
    d1.push(Number(process.hrtime.bigint() - t) / 1e6);
    own.push(r.results.reduce((sum, x) => sum + x.duration * 1000, 0));
  }
  report('single test again: CLI (heavy test)', median(c1), median(w1), '>= 10x');
  report('single test again: editor/daemon request', median(c1), median(d1), '>= 10x');
  rows.push({ name: "  the test's own duration", cold: '', warm: `${median(own).toFixed(1)} ms`, ratio: '', target: 'within 50 ms' });

  // 1b. a different test each time: never the request just run, so never primed.
  const others = (await c.sendRequest('heavy/discover', {})).items.map((i) => i.nodeid).filter((id) => id.startsWith('tests/test_logic.py::') && !id.startsWith(TEST)).slice(0, 3);
  if (others.length < 3) throw new Error('the example needs three tests in tests/test_logic.py');
  const w1b = [], d1b = [];
  for (let i = 0; i < RUNS; i++) {
    w1b.push(heavy(['test', '-q', others[(2 * i) % 3]]).elapsed);
    const t = process.hrtime.bigint();
    const r = await c.sendRequest('heavy/runTests', { runId: `bench-other-${i}`, args: ['-q', others[(2 * i + 1) % 3]], cwd: root });
    if (r.primed) throw new Error('a request different from the last ones ran primed');
    d1b.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  report('a different test each time: CLI', median(c1), median(w1b), '');
  report('a different test each time: editor/daemon request', median(c1), median(d1b), '');

  // 2. right after editing a module the test imports.
  const logic = path.join(root, 'app', 'logic.py');
  const original = fs.readFileSync(logic, 'utf8');
  const c2 = [], w2 = [], d2 = [];
  for (let i = 0; i < RUNS; i++) {
    fs.writeFileSync(logic, `${original}\n# edit ${i}\n`);
    c2.push(cold(['-q', TEST]).elapsed);
    fs.writeFileSync(logic, `${original}\n# edit ${i} again\n`);
    w2.push(heavy(['test', '-q', TEST]).elapsed);
    await new Promise((r) => setTimeout(r, 1500));
    fs.writeFileSync(logic, `${original}\n# edit ${i} once more\n`);
    const t = process.hrtime.bigint();
    const r = await c.sendRequest('heavy/runTests', { runId: `bench-edit-${i}`, args: ['-q', TEST], cwd: root });
    if (r.exitCode !== 0) throw new Error('the run after an edit failed');
    d2.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  fs.writeFileSync(logic, original);
  report('run right after an edit (CLI)', median(c2), median(w2), '>= 4x');
  report('run right after an edit (editor/daemon request)', median(c2), median(d2), '>= 4x');

  // 3. discovery.
  const c3 = [], w3 = [], d3 = [];
  for (let i = 0; i < RUNS; i++) {
    c3.push(cold(['--collect-only', '-q']).elapsed);
    w3.push(heavy(['test', '--collect-only', '-q']).elapsed);
    const t = process.hrtime.bigint();
    const found = await c.sendRequest('heavy/discover', {});
    if (!found.items.length) throw new Error('discovery found nothing');
    d3.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  report('discovery: heavy test --collect-only', median(c3), median(w3), '>= 5x');
  report('discovery: editor/daemon request', median(c3), median(d3), '>= 5x');

  // 3b. the same test twice in a row: the second arrives while its prime would be prepared; it must not wait for it.
  const first = [], second = [];
  for (let i = 0; i < RUNS; i++) {
    const args = ['-q', TEST, '-k', `slugify or not_a_test_${i}`];
    let t = process.hrtime.bigint();
    await c.sendRequest('heavy/runTests', { runId: `bench-twice-a-${i}`, args, cwd: root });
    first.push(Number(process.hrtime.bigint() - t) / 1e6);
    await new Promise((r) => setTimeout(r, 300)); // the prime for it is being prepared now
    t = process.hrtime.bigint();
    await c.sendRequest('heavy/runTests', { runId: `bench-twice-b-${i}`, args, cwd: root });
    second.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  rows.push({ name: 'same test twice in a row: first / second (editor)', cold: ms(median(first)), warm: ms(median(second)), ratio: `${(median(first) / median(second)).toFixed(2)}x`, target: 'second not slower' });

  // 3c. a terminal and the editor in turn: their environments differ, which must not rebuild anything per run.
  const alternate = async (label, dir, test, conn) => {
    const cli = [], editor = [], levels = [];
    for (let i = 0; i < RUNS + 2; i++) {
      const w = heavy(['test', '-q', test], terminalEnv, dir).elapsed;
      const t = process.hrtime.bigint();
      const r = await conn.sendRequest('heavy/runTests', { runId: `bench-alt-${label}-${i}`, args: ['-q', test], cwd: dir });
      const d = Number(process.hrtime.bigint() - t) / 1e6;
      levels.push(r.level);
      if (i >= 2) { cli.push(w); editor.push(d); } // the first two may build the terminal's context
    }
    const s = await conn.sendRequest('heavy/status');
    report(`terminal and editor in turn${label}: CLI`, median(c1), median(cli), '');
    report(`terminal and editor in turn${label}: editor`, median(c1), median(editor), '');
    return { levels: levels.slice(2), contexts: s.contexts, memory: s.memory };
  };
  const plainAlt = await alternate('', root, TEST, c);
  spawnSync(process.execPath, [HEAVY, 'daemon', 'start', '--root', listing], { stdio: 'ignore' });
  await waitWarm(listing);
  const other = await client(listing);
  const listedAlt = await alternate(' (project lists os.environ)', listing, 'tests/test_bench_settings.py', other.c);
  other.close();
  spawnSync(process.execPath, [HEAVY, 'daemon', 'stop', '--root', listing]);

  // 4. memory, after the runs above.
  await waitWarm();
  const status = await c.sendRequest('heavy/status');
  await new Promise((r) => setTimeout(r, 1500)); // let the primes for the last requests settle
  const pythons = descendants(status.pid);
  const pythonPrivateMb = pythons.reduce((sum, p) => sum + privateKb(p), 0) / 1024;
  const primes = (await c.sendRequest('heavy/status')).primes;
  close();

  // 5. idle CPU.
  const pids = [status.pid, ...descendants(status.pid)];
  const before = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const after = pids.reduce((s, p) => s + cpuSeconds(p), 0);

  console.log(`\nHeavy Dev benchmark: example project, median of ${RUNS} alternating runs (${os.cpus().length} cores)`);
  console.log(`node ${process.version}; NODE_EXTRA_CA_CERTS is ${process.env.NODE_EXTRA_CA_CERTS === undefined ? 'not set' : 'set'}; PYTHONDONTWRITEBYTECODE is ${process.env.PYTHONDONTWRITEBYTECODE === undefined ? `unset for both sides${shellHadNoPyc ? ' (this shell sets it; a developer\'s usually does not)' : ''}` : 'set for both sides'}\n`);
  console.table(rows);
  console.log(`runs that used a prime: ${status.runs.primed} of ${status.runs.total}`);
  console.log(`daemon Node RSS:        ${(status.memory.nodeRssBytes / 1048576).toFixed(0)} MB (target < 100 MB)`);
  console.log(`warm Python parent RSS: ${(status.memory.workerRssBytes / 1048576).toFixed(0)} MB`);
  console.log(`warm Python processes:  ${pythons.length} (levels 0-2 per context, ${primes} primes), ${pythonPrivateMb.toFixed(0)} MB private memory in all`);
  for (const [label, alt] of [['terminal and editor in turn', plainAlt], ['the same, project listing os.environ', listedAlt]]) {
    console.log(`${label}: after the first two, editor runs served from level ${[...new Set(alt.levels)].join('/')}; warm contexts (${((alt.memory.warmPrivateBytes ?? 0) / 1048576).toFixed(0)} MB private in all warm processes):`);
    for (const ctx of alt.contexts) console.log(`  ${ctx.levels} (${ctx.runs} runs, ${((ctx.privateBytes ?? 0) / 1048576).toFixed(0)} MB private): keyed on ${ctx.reads.length} read(s)${ctx.reads.includes('*') ? ', the whole environment' : ''}`);
  }
  console.log(`idle CPU over ${IDLE_SECONDS}s:      ${(after - before).toFixed(2)} CPU-seconds across ${pids.length} processes (${((after - before) / IDLE_SECONDS * 100).toFixed(2)}%)`);
} finally {
  for (const dir of [root, listing]) {
    spawnSync(process.execPath, [HEAVY, 'daemon', 'stop', '--root', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
