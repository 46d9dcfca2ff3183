#!/usr/bin/env node
// npm run bench, the Hot Reload Server row: save-to-serving time of `heavy serve` against
// `uvicorn --reload` on the example app, side by side in one run, alternating saves.
// A save is timed from the write to the first response carrying the new code (polled on a
// fresh connection every 5 ms). Medians; nothing is asserted, the figures are for people.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HEAVY = path.join(repo, 'dist', 'heavy.js');
const EXAMPLE = path.join(repo, 'test', 'fixtures', 'example');
const SAVES = Number(process.env.HEAVY_BENCH_RUNS ?? 7);

if (!fs.existsSync(HEAVY)) throw new Error('dist/heavy.js is missing: run npm run build');
if (!fs.existsSync(path.join(EXAMPLE, '.venv'))) throw new Error('the example has no .venv: run bash scripts/setup-example.sh');

// Like with like, as in bench.mjs: both sides run without PYTHONDONTWRITEBYTECODE (developers'
// shells do not set it), so both keep bytecode caches; HEAVY_BENCH_KEEP_PYC_ENV=1 keeps it for both.
if (!process.env.HEAVY_BENCH_KEEP_PYC_ENV) delete process.env.PYTHONDONTWRITEBYTECODE;
const pycNote = process.env.PYTHONDONTWRITEBYTECODE ? 'PYTHONDONTWRITEBYTECODE=1 on both sides' : 'PYTHONDONTWRITEBYTECODE unset on both sides';

function copy() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-bench-serve-'));
  fs.cpSync(EXAMPLE, root, { recursive: true, filter: (src) => !/(\.venv|__pycache__|\.pytest_cache|\.db)$/.test(src) });
  fs.symlinkSync(path.join(EXAMPLE, '.venv'), path.join(root, '.venv'));
  return root;
}

// uvicorn --reload at its best: with watchfiles (uvicorn[standard]), not its 0.25 s stat polling.
// The example's venv lacks it, so it goes into a private folder on uvicorn's PYTHONPATH only.
function watchfilesPath(python) {
  const dir = path.join(os.tmpdir(), 'heavy-bench-watchfiles');
  if (!fs.existsSync(path.join(dir, 'watchfiles'))) {
    spawnSync(python, ['-m', 'pip', 'install', '-q', '--retries', '0', '--target', dir, 'watchfiles'], { stdio: 'ignore' });
  }
  return fs.existsSync(path.join(dir, 'watchfiles')) ? dir : undefined;
}

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

function hello(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/hello', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
      res.on('error', () => resolve(''));
    });
    req.on('error', () => resolve(''));
  });
}

function start(name, file, args, env, cwd) {
  const child = spawn(file, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  return { name, child, output: () => out, stop: () => { try { process.kill(-child.pid, 'SIGINT'); } catch {} } };
}

async function waitUntil(predicate, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Writes the marker into /hello and returns the milliseconds until the server answers with it. */
async function save(side, marker) {
  const main = path.join(side.root, 'app', 'main.py');
  const text = side.original.replace('return {"message": message}', `return {"message": "${marker}"}`);
  const t0 = performance.now();
  fs.writeFileSync(main, text);
  await waitUntil(async () => (await hello(side.port)).includes(marker), 60000, `${side.name} serving ${marker}\n${side.server.output()}`);
  return performance.now() - t0;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const heavy = { name: 'heavy serve', root: copy(), port: await freePort() };
const uv = { name: 'uvicorn --reload', root: copy(), port: await freePort() };
const python = path.join(uv.root, '.venv', 'bin', 'python');
const watchfiles = watchfilesPath(python);
heavy.server = start(heavy.name, process.execPath, [HEAVY, 'serve', '--root', heavy.root, '--port', String(heavy.port)], {}, heavy.root);
uv.server = start(uv.name, python, ['-m', 'uvicorn', 'app.main:app', '--reload', '--port', String(uv.port)],
  watchfiles ? { PYTHONPATH: watchfiles } : {}, uv.root);
const sides = [heavy, uv];
try {
  for (const side of sides) {
    side.original = fs.readFileSync(path.join(side.root, 'app', 'main.py'), 'utf8');
    await waitUntil(async () => (await hello(side.port)) !== '', 120000, `${side.name} to start\n${side.server.output()}`);
    side.times = [];
  }
  await save(heavy, 'warm-up');
  await save(uv, 'warm-up');
  for (let i = 0; i < SAVES; i++) {
    for (const side of i % 2 ? [uv, heavy] : [heavy, uv]) {
      side.times.push(await save(side, `edit ${i}`));
      await new Promise((r) => setTimeout(r, 300));
    }
  }
} finally {
  for (const side of sides) side.server?.stop();
  await new Promise((r) => setTimeout(r, 1500));
  for (const side of sides) fs.rmSync(side.root, { recursive: true, force: true });
}
const reloader = /WatchFiles/.test(uv.server.output()) ? 'WatchFiles' : /StatReload/.test(uv.server.output()) ? 'StatReload' : 'its reloader';
const a = median(heavy.times);
const b = median(uv.times);
console.log(`Hot Reload Server, save to first response with the new code (example app, median of ${SAVES} saves each, ${pycNote}):`);
console.log(`  heavy serve       ${a.toFixed(0)} ms   (${heavy.times.map((t) => t.toFixed(0)).join(', ')})`);
console.log(`  uvicorn --reload  ${b.toFixed(0)} ms   (${uv.times.map((t) => t.toFixed(0)).join(', ')}; ${reloader})`);
console.log(`  ratio             ${(b / a).toFixed(1)}x faster`);
