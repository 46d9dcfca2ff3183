import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { startAppServer, type AppServer } from '../../daemon/record/appServer';
import { heavySync } from '../helpers/project';
import { artilleryBin, liveExample, request, startRecorder } from './helpers';

describe('heavy replay', function () {
  this.timeout(180000);
  let root: string;
  let har: string;
  let env: NodeJS.ProcessEnv;
  const RECORDED = { 'GET /hello': 2, 'POST /notes': 1, 'GET /notes/{id}': 1 };

  before(async () => {
    env = { PATH: `${artilleryBin()}${path.delimiter}${process.env.PATH}` };
    root = liveExample();
    har = path.join(root, 'session.har');
    const rec = await startRecorder(root, ['--out', har]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await request(`${rec.url}/hello`, { agent });
    const created = await request(`${rec.url}/notes`, { agent, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Load', body: 'one two' }) });
    await request(`${rec.url}/notes/${JSON.parse(created.body).id}`, { agent });
    await request(`${rec.url}/hello`, { agent });
    agent.destroy();
    rec.child.kill('SIGINT');
    assert.equal(await rec.exited, 0, rec.output());
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('starts the app, runs the recording on Artillery and prints per-route percentiles', () => {
    const html = path.join(root, 'report.html');
    const r = heavySync(['replay', har, '--root', root, '--users', '2', '--html', html], root, env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^8 requests in [\d.]+ s \([\d.]+\/s\), 0 errors \(0\.00%\)/);
    assert.match(r.stdout, /latency p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms/);
    assert.match(r.stdout, /GET \/notes\/\{id\}\s+2\s+0\s/);
    assert.match(r.stdout, /artillery run-fargate load\.yml/);
    const page = fs.readFileSync(html, 'utf8');
    assert.match(page, /<svg class="chart"/);
    assert.match(page, /GET \/hello/);
  });

  it('--target: the server sees each recorded request once per user; --json has the numbers', async () => {
    let app: AppServer | undefined;
    try {
      app = await startAppServer(root, { purpose: 'replay', stdio: 'pipe' });
      await app.ready();
      const target = `http://${app.host}:${app.port}`;
      const r = heavySync(['replay', har, '--root', root, '--target', target, '--users', '3', '--json'], root, env);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout) as { requests: number; errors: number; endpoints: { endpoint: string; requests: number; p95: number }[] };
      assert.equal(report.requests, 12);
      assert.equal(report.errors, 0);
      for (const [endpoint, n] of Object.entries(RECORDED)) {
        const e = report.endpoints.find((x) => x.endpoint === endpoint);
        assert.equal(e?.requests, n * 3, endpoint);
        assert.ok(e!.p95 > 0);
      }
      const hits = JSON.parse((await request(`${target}/hits`)).body) as Record<string, number>;
      assert.equal(hits['/hello'], 6);
      assert.equal(hits['/notes'], 3);

      // The exported script runs unchanged with artillery run, with the same counts.
      const exported = heavySync(['replay', har, '--root', root, '--target', target, '--export', 'artillery'], root, env);
      assert.equal(exported.code, 0, exported.stderr);
      const script = path.join(root, 'load.yml');
      fs.writeFileSync(script, exported.stdout);
      const run = spawnSync(path.join(artilleryBin(), 'artillery'), ['run', script], { cwd: root, encoding: 'utf8', env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true' } });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /http\.requests: \.+ 4\n/);
      const after = JSON.parse((await request(`${target}/hits`)).body) as Record<string, number>;
      assert.equal(after['/hello'], 8);
    } finally {
      await app?.stop();
    }
  });

  describe('bad input: one line, exit 2', () => {
    const oneLine = (args: string[], pattern: RegExp, extraEnv: NodeJS.ProcessEnv = env) => {
      const r = heavySync(['replay', ...args, '--root', root], root, extraEnv);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, pattern);
    };
    it('a missing file', () => oneLine([path.join(root, 'nope.har')], /nope\.har: no such file/));
    it('an empty file', () => {
      fs.writeFileSync(path.join(root, 'empty.har'), '');
      oneLine([path.join(root, 'empty.har')], /empty\.har: empty file/);
    });
    it('malformed JSON', () => {
      fs.writeFileSync(path.join(root, 'bad.har'), '{"log": [');
      oneLine([path.join(root, 'bad.har')], /bad\.har: not valid JSON/);
    });
    it('an entry without a URL, named by its number', () => {
      const doc = JSON.parse(fs.readFileSync(har, 'utf8'));
      delete doc.log.entries[1].request.url;
      fs.writeFileSync(path.join(root, 'nourl.har'), JSON.stringify(doc));
      oneLine([path.join(root, 'nourl.har')], /nourl\.har: entry 2: request\.url is missing/);
    });
    it('a recording with no requests', () => {
      fs.writeFileSync(path.join(root, 'none.har'), JSON.stringify({ log: { version: '1.2', creator: { name: 'x', version: '1' }, entries: [] } }));
      oneLine([path.join(root, 'none.har')], /nothing to replay/);
    });
    it('an unreachable target, before any load', () => oneLine([har, '--target', 'http://127.0.0.1:1'], /http:\/\/127\.0\.0\.1:1 does not answer/));
    it('no Artillery: how to install it', () => oneLine([har], /Artillery is not installed: run "npm install -g artillery@2"/, { PATH: path.dirname(process.execPath) }));
  });
});
