#!/usr/bin/env node
// npm run bench (coverage part): what Run with Coverage costs against a plain warm run, as the
// Testing view asks for them (daemon requests for one test), and against a cold
// `python -m coverage run -m pytest` of the same test. Private copy of the example project;
// medians of alternating runs; nothing is asserted, the figures are printed.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const rpc = require('vscode-jsonrpc/node');
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HEAVY = path.join(repo, 'dist', 'heavy.js');
const EXAMPLE = path.join(repo, 'test', 'fixtures', 'example');
const RUNS = Number(process.env.HEAVY_BENCH_RUNS ?? 7);
const TEST = 'tests/test_logic.py::test_slugify';

if (!fs.existsSync(HEAVY)) throw new Error('dist/heavy.js is missing: run npm run build');
if (!fs.existsSync(path.join(EXAMPLE, '.venv'))) throw new Error('the example has no .venv: run bash scripts/setup-example.sh');
// As scripts/bench.mjs: both sides without PYTHONDONTWRITEBYTECODE, as developers' shells run.
if (!process.env.HEAVY_BENCH_KEEP_PYC_ENV) delete process.env.PYTHONDONTWRITEBYTECODE;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-bench-coverage-'));
fs.cpSync(EXAMPLE, root, { recursive: true, filter: (src) => !/(\.venv|__pycache__|\.pytest_cache|\.db|\.coverage)$/.test(src) });
fs.symlinkSync(path.join(EXAMPLE, '.venv'), path.join(root, '.venv'));
const python = path.join(root, '.venv', 'bin', 'python');

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const ms = (x) => `${x.toFixed(0)} ms`;

function timed(cmd, args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return elapsed;
}

const daemon = (...args) => spawnSync(process.execPath, [HEAVY, 'daemon', ...args, '--root', root], { encoding: 'utf8' });

async function waitWarm() {
  for (let i = 0; i < 400; i++) {
    const s = JSON.parse(daemon('status', '--json').stdout);
    if (s.warm === 'warm' && s.projectWarm === 'ready') return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the daemon did not get warm');
}

let runs = 0;
/** One request as the Testing view sends it; returns its wall time and result. */
async function request(c, coverage) {
  const t = process.hrtime.bigint();
  const result = await c.sendRequest('heavy/runTests', {
    runId: `bench-coverage-${++runs}`, args: [TEST], cwd: root, color: true,
    ...(coverage ? { coverage: { perTest: true, branch: false } } : {}),
  });
  const elapsed = Number(process.hrtime.bigint() - t) / 1e6;
  if (result.exitCode !== 0) throw new Error(`the run failed (${result.exitCode})`);
  if (coverage && !result.coverage?.some((f) => f.file.endsWith(path.join('app', 'logic.py')))) {
    throw new Error(`a coverage run reported no coverage of app/logic.py: ${result.coverageError ?? JSON.stringify(result.coverage)}`);
  }
  return elapsed;
}

try {
  const status = JSON.parse(daemon('start', '--json').stdout);
  await waitWarm();
  const sock = net.connect(status.socket);
  await new Promise((r, j) => { sock.once('connect', r); sock.once('error', j); });
  const c = rpc.createMessageConnection(new rpc.StreamMessageReader(sock), new rpc.StreamMessageWriter(sock));
  c.listen();
  await c.sendRequest('initialize', { processId: null, capabilities: {} });

  // Once each first: the plain request's prime, coverage.py's own imports in the worker's page cache.
  await request(c, false);
  await request(c, true);
  const plain = [];
  const measured = [];
  const coldPytest = [];
  const coldCoverage = [];
  for (let i = 0; i < RUNS; i++) {
    plain.push(await request(c, false));
    measured.push(await request(c, true));
    coldPytest.push(timed(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', TEST]));
    coldCoverage.push(timed(python, ['-m', 'coverage', 'run', '--data-file', path.join(os.tmpdir(), `heavy-bench-${process.pid}.coverage`), '-m', 'pytest', '-q', '-p', 'no:cacheprovider', TEST]));
  }
  c.dispose();
  sock.destroy();
  const [p, m, cp, cc] = [median(plain), median(measured), median(coldPytest), median(coldCoverage)];
  console.log(`\nCoverage overhead (${TEST}, medians of ${RUNS} alternating runs, editor-style daemon requests):`);
  console.log('| measure | time | ratio |');
  console.log('|---|---|---|');
  console.log(`| the same test again, from the editor, plain (Run) | ${ms(p)} | 1.0x |`);
  console.log(`| the same test again, from the editor, Run with Coverage (per test) | ${ms(m)} | ${(m / p).toFixed(1)}x the plain warm run |`);
  console.log(`| cold \`python -m pytest\` | ${ms(cp)} | |`);
  console.log(`| cold \`python -m coverage run -m pytest\` | ${ms(cc)} | ${(cc / m).toFixed(1)}x slower than Run with Coverage |`);
} finally {
  daemon('stop');
  fs.rmSync(path.join(os.tmpdir(), `heavy-bench-${process.pid}.coverage`), { force: true });
  fs.rmSync(root, { recursive: true, force: true });
}
