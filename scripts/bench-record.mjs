#!/usr/bin/env node
// npm run bench, the Record and Replay row (issue 13).
// 1. Recording overhead: `heavy record` on a copy of the example app; N GETs of /hello straight
//    to the app and N through the recording proxy, alternating, each side on its own keep-alive
//    connection. p50, p95 and p99 latency side by side, and the proxy/direct ratio of medians.
// 2. Replay: the recording just made, replayed by `heavy replay --json` against a fresh server
//    with a hit counter: requests/s as Artillery reports it and as the server saw it, errors, and
//    whether the server saw users x recorded requests.
// HEAVY_BENCH_RECORD_N (300, so that p99 is not just the slowest) requests per side, HEAVY_BENCH_REPLAY_USERS (2) users. Nothing is
// asserted; the figures are for people.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HEAVY = path.join(repo, 'dist', 'heavy.js');
const EXAMPLE = path.join(repo, 'test', 'fixtures', 'example');
const N = Number(process.env.HEAVY_BENCH_RECORD_N ?? 300);
const USERS = Number(process.env.HEAVY_BENCH_REPLAY_USERS ?? 2);
const WARMUP = 10;

if (!fs.existsSync(HEAVY)) throw new Error('dist/heavy.js is missing: run npm run build');
if (!fs.existsSync(path.join(EXAMPLE, '.venv'))) throw new Error('the example has no .venv: run bash scripts/setup-example.sh');

// A hit counter in front of the example app, so the replay's fidelity is what the server saw.
// It counts the one recorded route: heavy replay's own liveness probe (HEAD /) is not traffic.
const COUNTED = `
import time

from app.main import app

HITS = {"n": 0, "first": None, "last": None}


@app.middleware("http")
async def count_hits(request, call_next):
    if request.url.path == "/hello":
        HITS["n"] += 1
        # When the first and the last replayed request arrived: the load's throughput as the server saw it.
        HITS["first"] = HITS["first"] or time.time()
        HITS["last"] = time.time()
    return await call_next(request)


@app.get("/hits")
def hits() -> dict:
    return HITS


@app.post("/hits/reset")
def reset() -> dict:
    HITS.update(n=0, first=None, last=None)
    return HITS
`;

function copy() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-bench-record-'));
  process.once('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  fs.cpSync(EXAMPLE, root, { recursive: true, filter: (src) => !/(\.venv|__pycache__|\.pytest_cache|\.db|\.heavy)$/.test(src) });
  fs.symlinkSync(path.join(EXAMPLE, '.venv'), path.join(root, '.venv'));
  fs.writeFileSync(path.join(root, 'app', 'counted.py'), COUNTED);
  const pyproject = path.join(root, 'pyproject.toml');
  fs.writeFileSync(pyproject, fs.readFileSync(pyproject, 'utf8').replace('app = "app.main:app"', 'app = "app.counted:app"'));
  return root;
}

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

function get(url, agent) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get(url, { agent }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode, body }));
    });
    req.on('error', reject);
  });
}

function start(file, args, cwd, env = {}) {
  const child = spawn(file, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, output: () => out + err, exited, signal: (s) => { try { process.kill(-child.pid, s); } catch {} } };
}

async function waitFor(what, ms, probe) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A bare reverse proxy on http-proxy-3 with a keep-alive agent, as heavy record sets it up.
const BARE_PROXY = `
const http = require('node:http');
const { createProxyServer } = require(${JSON.stringify(path.join(repo, 'node_modules', 'http-proxy-3'))});
const [target, port] = process.argv.slice(1);
const proxy = createProxyServer({ target, xfwd: true, agent: new http.Agent({ keepAlive: true }) });
http.createServer((req, res) => proxy.web(req, res, {}, () => { res.writeHead(502); res.end(); })).listen(Number(port), '127.0.0.1');
`;

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Artillery from the project, PATH, or the tests' own package (test/record/engine). */
function artilleryPath() {
  const engine = path.join(repo, 'test', 'record', 'engine', 'node_modules', '.bin');
  if (fs.existsSync(path.join(engine, 'artillery'))) return engine;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'artillery'))) return dir;
  }
  return undefined;
}

const root = copy();
console.log(`\nRecord and replay (issue 13), example app (FastAPI) in ${root}`);
try {
  // 1. Recording overhead.
  const rec = start(process.execPath, [HEAVY, 'record', '--root', root, '--port', '0'], root);
  const [proxyUrl, appUrl] = await waitFor('heavy record to print its URL', 90000, () => {
    if (rec.child.exitCode !== null) throw new Error(`heavy record stopped:\n${rec.output()}`);
    const m = /open (http:\/\/[^\s]+?)\/?\s+\(the app runs on ([^\s)]+)\)/.exec(rec.stdout());
    return m && [m[1].replace(/\/$/, ''), `http://${m[2]}`];
  });
  // The floor for any proxy in its own process: bare http-proxy-3 (the library heavy record
  // uses) in front of the same app, recording nothing, so what recording itself adds shows.
  const barePort = await freePort();
  const bare = start(process.execPath, ['-e', BARE_PROXY, appUrl, String(barePort)], repo);
  const bareUrl = `http://127.0.0.1:${barePort}`;
  await waitFor('the bare proxy', 10000, () => get(`${bareUrl}/hello`, false).then((r) => r.status === 200, () => false));
  const sides = { direct: appUrl, bare: bareUrl, proxied: proxyUrl };
  const agents = Object.fromEntries(Object.keys(sides).map((side) => [side, new http.Agent({ keepAlive: true, maxSockets: 1 })]));
  for (let i = 0; i < WARMUP; i++) {
    for (const side of Object.keys(sides)) await get(`${sides[side]}/hello`, agents[side]);
  }
  const times = { direct: [], bare: [], proxied: [] };
  const names = Object.keys(sides);
  for (let i = 0; i < N; i++) {
    // Rotate which side goes first so none always follows another.
    const order = names.map((_, k) => names[(i + k) % names.length]);
    for (const side of order) {
      const r = await get(`${sides[side]}/hello`, agents[side]);
      if (r.status !== 200) throw new Error(`${side} /hello answered ${r.status}`);
      times[side].push(r.ms);
    }
  }
  for (const agent of Object.values(agents)) agent.destroy();
  bare.signal('SIGTERM');
  // The recording holds a second or more of traffic flushed; Ctrl+C writes it.
  rec.signal('SIGINT');
  await Promise.race([rec.exited, new Promise((r) => setTimeout(r, 30000))]);
  const m = /^Recorded (\d+) requests .*: (.+\.har)$/m.exec(rec.stdout());
  const dm = median(times.direct);
  const pm = median(times.proxied);
  console.log(`  recording overhead, GET /hello x ${N} per side, keep-alive, alternating (p50, p95, p99):`);
  const row = (xs) => `${median(xs).toFixed(2)} ms  ${quantile(xs, 0.95).toFixed(2)} ms  ${quantile(xs, 0.99).toFixed(2)} ms`;
  const bm = median(times.bare);
  console.log(`    direct to the app      ${row(times.direct)}`);
  console.log(`    bare http-proxy-3      ${row(times.bare)}  (its own process, records nothing)`);
  console.log(`    through heavy record   ${row(times.proxied)}`);
  console.log(`    heavy record adds      +${(pm - dm).toFixed(2)} ms at p50 over direct (${(pm / dm).toFixed(2)}x); a bare proxy adds +${(bm - dm).toFixed(2)} ms, so recording itself adds ${(pm - bm >= 0 ? '+' : '')}${(pm - bm).toFixed(2)} ms`);
  if (!m) throw new Error(`heavy record wrote no recording:\n${rec.output()}`);
  const recorded = Number(m[1]);
  const har = m[2];
  console.log(`    recorded ${recorded} requests into ${path.basename(har)} (${(fs.statSync(har).size / 1024).toFixed(0)} KiB)`);

  // 2. Replay throughput and fidelity.
  const bin = artilleryPath();
  if (!bin) {
    console.log('  replay: skipped, Artillery is not installed (npm ci --ignore-scripts in test/record/engine, or npm install -g artillery@2)');
  } else {
    const port = await freePort();
    const app = start(path.join(root, '.venv', 'bin', 'python'), ['-m', 'uvicorn', 'app.counted:app', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warning'], root);
    const target = `http://127.0.0.1:${port}`;
    try {
      await waitFor('the replay server', 60000, async () => {
        if (app.child.exitCode !== null) throw new Error(`the server stopped:\n${app.output()}`);
        return get(`${target}/hits`, false).then((r) => r.status === 200, () => false);
      });
      const t0 = Date.now();
      const replay = start(process.execPath, [HEAVY, 'replay', har, '--root', root, '--target', target, '--users', String(USERS), '--json'], root,
        { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` });
      const code = await replay.exited;
      const wallS = (Date.now() - t0) / 1000;
      if (code !== 0) throw new Error(`heavy replay failed (exit ${code}):\n${replay.output()}`);
      const s = JSON.parse(replay.stdout());
      const hits = JSON.parse((await get(`${target}/hits`, false)).body);
      const seen = hits.n;
      const expected = USERS * recorded;
      const serverRate = seen > 1 && hits.last > hits.first ? (seen - 1) / (hits.last - hits.first) : NaN;
      console.log(`  replay of that recording, ${USERS} users, heavy replay --json on Artillery:`);
      console.log(`    ${s.requests} requests in ${s.durationSeconds} s: ${Number(s.throughput).toFixed(0)} requests/s (Artillery's figure, over its reporting span), p50 ${s.latency.p50} ms, p95 ${s.latency.p95} ms`);
      console.log(`    the server saw ${serverRate.toFixed(0)} requests/s (first to last replayed request)`);
      console.log(`    errors ${s.errors} (${(s.errorRate * 100).toFixed(2)}%), status codes ${JSON.stringify(s.codes)}`);
      console.log(`    server saw ${seen} of ${expected} expected (${USERS} users x ${recorded} recorded): ${seen === expected ? 'all of them' : 'MISMATCH'}`);
      console.log(`    whole command ${wallS.toFixed(1)} s wall (Artillery's start-up included)`);

      // 3. Throughput with the pauses taken out, next to Artillery's own figure for the same
      // endpoint: the same users each sending the same GETs, from a plain script with no
      // processor, so whatever heavy replay's script and processor add shows.
      const FAST_USERS = 4;
      const rate = async () => {
        const h = JSON.parse((await get(`${target}/hits`, false)).body);
        return { n: h.n, perS: h.n > 1 && h.last > h.first ? (h.n - 1) / (h.last - h.first) : NaN };
      };
      const reset = () => new Promise((resolve, reject) => {
        const req = http.request(`${target}/hits/reset`, { method: 'POST' }, (res) => { res.resume(); res.on('end', resolve); });
        req.on('error', reject);
        req.end();
      });
      const runs = { replay: [], artillery: [] };
      const plainDir = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-bench-artillery-'));
      try {
        const plain = path.join(plainDir, 'plain.yml');
        fs.writeFileSync(plain, JSON.stringify({
          config: { target, phases: [{ duration: 1, arrivalCount: FAST_USERS }] },
          scenarios: [{ flow: [{ loop: [{ get: { url: '/hello' } }], count: recorded }] }],
        }));
        for (let i = 0; i < 3; i++) {
          await reset();
          const fast = start(process.execPath, [HEAVY, 'replay', har, '--root', root, '--target', target, '--users', String(FAST_USERS), '--speed', '1000', '--json'], root,
            { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` });
          if (await fast.exited !== 0) throw new Error(`heavy replay --speed 1000 failed:\n${fast.output()}`);
          runs.replay.push(await rate());
          await reset();
          const art = start(path.join(bin, 'artillery'), ['run', '--quiet', plain], plainDir);
          if (await art.exited !== 0) throw new Error(`artillery run failed:\n${art.output()}`);
          runs.artillery.push(await rate());
        }
      } finally {
        fs.rmSync(plainDir, { recursive: true, force: true });
      }
      const med = (xs) => median(xs.map((r) => r.perS));
      console.log(`  throughput, pauses taken out (${FAST_USERS} users x ${recorded} GET /hello, as the server counted them, medians of 3):`);
      console.log(`    heavy replay --speed 1000      ${med(runs.replay).toFixed(0)} requests/s (${runs.replay.map((r) => r.n).join(', ')} requests)`);
      console.log(`    Artillery, plain script        ${med(runs.artillery).toFixed(0)} requests/s (${runs.artillery.map((r) => r.n).join(', ')} requests)`);
      console.log(`    heavy replay / Artillery       ${(med(runs.replay) / med(runs.artillery)).toFixed(2)}x`);
    } finally {
      app.signal('SIGTERM');
      await Promise.race([app.exited, new Promise((r) => setTimeout(r, 5000))]);
    }
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
