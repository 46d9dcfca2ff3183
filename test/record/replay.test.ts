import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { WebSocket } from 'ws';
import type { Har } from '../../daemon/record/har';
import { startAppServer, type AppServer } from '../../daemon/record/appServer';
import { HEAVY, heavySync } from '../helpers/project';
import { artilleryBin, liveExample, request, startRecorder } from './helpers';

// The recording every test replays: one browser session (keep-alive, one connection) that
// logs in with a password, calls a protected endpoint with the token it got, talks over a
// WebSocket and creates a note. Replaying it needs credentials: [tool.heavy.record.credentials]
// in `root` has a login and reads the password from NOTES_PASSWORD.
const PASSWORD = 'correct horse';
const CREDENTIALS = `
[tool.heavy.record.credentials.login]
path = "/auth/login"
json = { username = "ada", password = "\${NOTES_PASSWORD}" }
capture = { json = "$.token", header = "Authorization", prefix = "Bearer " }
`;

describe('heavy replay', function () {
  this.timeout(180000);
  let root: string;
  let har: string;
  let env: NodeJS.ProcessEnv;
  // Per recorded pass: the app's own hit counts (the configured login adds one /auth/login per user).
  const RECORDED = { 'GET /hello': 2, 'POST /auth/login': 1, 'GET /auth/me': 1, 'POST /notes': 1, 'GET /notes/{id}': 1 };
  const ORDER = ['GET /hello', 'POST /auth/login', 'GET /auth/me', 'WS /ws/echo', 'POST /notes', 'GET /notes/{id}', 'GET /hello'];

  before(async () => {
    env = { PATH: `${artilleryBin()}${path.delimiter}${process.env.PATH}`, NOTES_PASSWORD: PASSWORD };
    root = liveExample();
    fs.appendFileSync(path.join(root, 'pyproject.toml'), CREDENTIALS);
    har = path.join(root, 'session.har');
    const rec = await startRecorder(root, ['--out', har]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await request(`${rec.url}/hello`, { agent });
    const login = await request(`${rec.url}/auth/login`, { agent, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ada', password: PASSWORD }) });
    assert.equal(login.status, 200, login.body);
    const me = await request(`${rec.url}/auth/me`, { agent, headers: { authorization: `Bearer ${JSON.parse(login.body).token}` } });
    assert.equal(me.status, 200, me.body);
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${rec.url.replace('http', 'ws')}/ws/echo`);
      let got = 0;
      ws.on('open', () => ws.send('one'));
      ws.on('message', () => (++got === 1 ? ws.send('two') : ws.close()));
      ws.on('close', () => (got === 2 ? resolve() : reject(new Error(`${got} echoes`))));
      ws.on('error', reject);
    });
    const created = await request(`${rec.url}/notes`, { agent, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Load', body: 'one two' }) });
    await request(`${rec.url}/notes/${JSON.parse(created.body).id}`, { agent });
    await request(`${rec.url}/hello`, { agent });
    agent.destroy();
    rec.child.kill('SIGINT');
    assert.equal(await rec.exited, 0, rec.output());
    const text = fs.readFileSync(har, 'utf8');
    assert.ok(!text.includes(PASSWORD) && !text.includes(JSON.parse(login.body).token), 'the recording holds no secret');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  /** The app's hit counts and request log, read before and after a replay against it. */
  async function seen(target: string) {
    const hits = JSON.parse((await request(`${target}/hits`)).body) as Record<string, number>;
    const log = JSON.parse((await request(`${target}/log`)).body) as string[];
    return { hits, log };
  }
  const delta = (after: Record<string, number>, before: Record<string, number>) =>
    Object.fromEntries(Object.entries(after).map(([k, n]) => [k, n - (before[k] ?? 0)]).filter(([k, n]) => n !== 0 && !['/hits', '/log', '/'].includes(k as string)));
  // GET /notes/{id} is left out: its path is the recorded note's, checked in the report.
  const perPass = (passes: number, logins: number) => ({ '/hello': 2 * passes, '/auth/login': passes + logins, '/auth/me': passes, '/notes': passes, ws: passes, 'ws messages': 2 * passes });
  const withoutNotePaths = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([k]) => !k.startsWith('/notes/')));

  // Not heavySync: spawnSync would block this process's event loop, so the pipes of the app
  // started here would not be read, and an app blocked writing its access log stops answering.
  function heavy(args: string[], extraEnv: NodeJS.ProcessEnv = env): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [HEAVY, ...args], { cwd: root, env: { ...process.env, ...extraEnv } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  async function withApp(fn: (target: string) => Promise<void>) {
    const app: AppServer = await startAppServer(root, { purpose: 'replay', stdio: 'pipe' });
    try {
      await app.ready();
      await fn(`http://${app.host}:${app.port}`);
    } finally {
      await app.stop();
    }
  }

  it('starts the app, runs the recording on Artillery and prints per-route percentiles', () => {
    const html = path.join(root, 'report.html');
    const r = heavySync(['replay', har, '--root', root, '--users', '2', '--html', html], root, env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // 6 recorded requests and the configured login, for each of 2 users.
    assert.match(r.stdout, /^14 requests in [\d.]+ s \([\d.]+\/s\), 0 errors \(0\.00%\), 4 WebSocket messages sent/);
    assert.match(r.stdout, /latency p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms/);
    assert.match(r.stdout, /GET \/notes\/\{id\}\s+2\s+0\s/);
    assert.match(r.stdout, /artillery run-fargate load\/load\.yml/);
    const page = fs.readFileSync(html, 'utf8');
    assert.match(page, /<svg class="chart"/);
    assert.match(page, /GET \/hello/);
  });

  it('one user: the recorded requests and WebSocket once, in recorded order, the protected endpoint answering 200', async () => {
    await withApp(async (target) => {
      const before = await seen(target);
      const r = await heavy(['replay', har, '--root', root, '--target', target, '--users', '1', '--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout) as { requests: number; errors: number; websocketMessages: number; endpoints: { endpoint: string; requests: number; codes: Record<string, number> }[] };
      assert.equal(report.errors, 0, r.stdout);
      assert.equal(report.requests, 7);
      assert.equal(report.websocketMessages, 2);
      assert.deepEqual(report.endpoints.find((e) => e.endpoint === 'GET /auth/me')?.codes, { 200: 1 }, 'the token from the login was sent');
      assert.deepEqual(report.endpoints.find((e) => e.endpoint === 'POST /auth/login')?.codes, { 200: 1 }, 'the recorded login got the password');
      const after = await seen(target);
      const order = after.log.slice(before.log.length).filter((l) => !['HEAD /', 'GET /hits', 'GET /log'].includes(l)).map((l) => l.replace(/\/notes\/\d+$/, '/notes/{id}'));
      assert.deepEqual(order, ['POST /auth/login', ...ORDER], 'the configured login, then the recording in order');
    });
  });

  it('N users play every session N times: counts per endpoint are the recording x users, also with two recordings', async () => {
    const second = path.join(root, 'second.har');
    fs.copyFileSync(har, second);
    await withApp(async (target) => {
      const before = await seen(target);
      const r = await heavy(['replay', har, second, '--root', root, '--target', target, '--users', '3', '--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout) as { requests: number; errors: number; endpoints: { endpoint: string; requests: number; p95: number }[] };
      assert.equal(report.errors, 0);
      // 2 sessions x 3 users, each 6 recorded requests and a login.
      assert.equal(report.requests, 42);
      for (const [endpoint, n] of Object.entries(RECORDED)) {
        const e = report.endpoints.find((x) => x.endpoint === endpoint);
        assert.equal(e?.requests, n * 6, endpoint);
        assert.ok(e!.p95 > 0);
      }
      const counts = delta((await seen(target)).hits, before.hits);
      assert.deepEqual(withoutNotePaths(counts), perPass(6, 6));
    });
  });

  it('--duration: each user repeats its whole session, WebSocket included, in complete passes', async () => {
    await withApp(async (target) => {
      const before = await seen(target);
      const r = await heavy(['replay', har, '--root', root, '--target', target, '--users', '2', '--duration', '2', '--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout) as { errors: number; codes: Record<string, number> };
      assert.equal(report.errors, 0, r.stdout);
      assert.deepEqual(Object.keys(report.codes), ['200', '201'], r.stdout);
      const counts = delta((await seen(target)).hits, before.hits);
      const passes = counts['/auth/me'];
      assert.ok(passes >= 4, `2 users x at least 2 passes, not ${passes}`);
      assert.deepEqual(withoutNotePaths(counts), perPass(passes, 2));
    });
  });

  it('--export artillery --out DIR: runs unchanged with artillery run, secrets read from the environment', async () => {
    await withApp(async (target) => {
      const dir = path.join(root, 'load');
      const exported = await heavy(['replay', har, '--root', root, '--target', target, '--export', 'artillery', '--out', dir], { ...env, NOTES_PASSWORD: '' });
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stdout, /NOTES_PASSWORD=\.\.\. artillery run /);
      const script = fs.readFileSync(path.join(dir, 'load.yml'), 'utf8');
      assert.ok(script.includes('{{ $processEnvironment.NOTES_PASSWORD }}'));
      assert.ok(!script.includes(PASSWORD), 'no secret in the script');
      assert.ok(fs.existsSync(path.join(dir, 'heavy-replay.cjs')));
      const before = await seen(target);
      // From another folder: the script finds its processor beside it, and ws through Artillery.
      const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(path.join(artilleryBin(), 'artillery'), ['run', path.join(dir, 'load.yml')], { cwd: os.tmpdir(), env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true', NOTES_PASSWORD: PASSWORD } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /http\.requests: \.+ 7\n/);
      assert.match(run.stdout, /http\.codes\.200: \.+ 6\n/);
      const counts = delta((await seen(target)).hits, before.hits);
      assert.equal(counts['/auth/me'], 1);
      assert.equal(counts['ws messages'], 2);
    });
  });

  it('credentials from environment variables named in headers and fields, no login', async () => {
    const other = liveExample();
    try {
      fs.appendFileSync(path.join(other, 'pyproject.toml'), '\n[tool.heavy.record.credentials]\nheaders = { Authorization = "Bearer ${NOTES_API_TOKEN}" }\nfields = { password = "${NOTES_PASSWORD}" }\n');
      // The app heavy replay starts accepts NOTES_API_TOKEN as a token too (test/fixtures/example/app/auth.py).
      const r = heavySync(['replay', har, '--root', other, '--json'], other, { ...env, NOTES_API_TOKEN: 'api-token-for-tests' });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout) as { requests: number; errors: number; endpoints: { endpoint: string; codes: Record<string, number> }[] };
      assert.equal(report.requests, 6);
      assert.deepEqual(report.endpoints.find((e) => e.endpoint === 'GET /auth/me')?.codes, { 200: 1 });
      assert.deepEqual(report.endpoints.find((e) => e.endpoint === 'POST /auth/login')?.codes, { 200: 1 });
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('an answer of another class than recorded (a 401 where the recording got 200) is an error, by status and route, and fails the gate', () => {
    const other = liveExample();
    try {
      // A stale token, as a browser export holds: no credentials configured to replace it.
      const doc = JSON.parse(fs.readFileSync(har, 'utf8')) as Har;
      doc.log.entries = doc.log.entries.filter((e) => ['/hello', '/auth/me'].includes(new URL(e.request.url).pathname));
      for (const e of doc.log.entries) {
        for (const h of e.request.headers) if (h.name.toLowerCase() === 'authorization') h.value = 'Bearer stale-token';
      }
      const stale = path.join(other, 'stale.har');
      fs.writeFileSync(stale, JSON.stringify(doc));
      const r = heavySync(['replay', stale, '--root', other, '--json'], other, env);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout) as { requests: number; errors: number; unexpected: Record<string, number>; endpoints: { endpoint: string; errors: number; unexpected: Record<string, number> }[] };
      assert.equal(report.requests, 3);
      assert.equal(report.errors, 1);
      assert.deepEqual(report.unexpected, { 401: 1 });
      assert.deepEqual(report.endpoints.find((e) => e.endpoint === 'GET /auth/me')?.unexpected, { 401: 1 });
      assert.equal(report.endpoints.find((e) => e.endpoint === 'GET /hello')?.errors, 0);
      const text = heavySync(['replay', stale, '--root', other], other, env);
      assert.equal(text.code, 1);
      assert.match(text.stdout, /3 requests in [\d.]+ s .*, 1 errors \(33\.33%\)/);
      assert.match(text.stdout, /status: 200 ×2, 401 ×1; not as recorded: 401 ×1/);
      assert.match(text.stdout, /answers of another class than recorded \(401 and 403 count as errors\):\n {2}GET \/auth\/me: 401 ×1/);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('--help says what --users and --duration do', () => {
    const r = heavySync(['replay', '--help'], root);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--users N +every recorded session is played by N virtual users/);
    assert.match(r.stdout, /--duration S +each user plays its session again and again: a pass starts while less\s+than S seconds have passed/);
  });

  describe('bad input: one line, exit 2', () => {
    const oneLine = (args: string[], pattern: RegExp, extraEnv: NodeJS.ProcessEnv = env) => {
      const r = heavySync(['replay', ...args, '--root', root], root, extraEnv);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, pattern);
    };
    it('a missing file', () => oneLine([path.join(root, 'nope.har')], /nope\.har: no such file/));
    it('a --max-error-rate that is not a percentage (a usage error: the line and where to read usage)', () => {
      const r = heavySync(['replay', har, '--max-error-rate', '150', '--root', root], root, env);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(r.stderr, 'heavy: --max-error-rate must be a number from 0 to 100, not "150"\nRun "heavy help" for usage.\n');
      const hex = heavySync(['replay', har, '--max-error-rate', '0x11', '--root', root], root, env);
      assert.equal(hex.code, 2);
      assert.match(hex.stderr, /^heavy: --max-error-rate must be a number from 0 to 100, not "0x11"\n/);
    });
    it('an --html path that cannot be written, before any load', () => oneLine([har, '--html', path.join(root, 'no-such-folder', 'r.html')], /--html .*r\.html: the folder .*no-such-folder does not exist\n$/));
    it('--export onto a file', () => oneLine([har, '--export', 'artillery', '--out', har], /--out .*session\.har is a file; --export writes a folder/));
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
    it('no Artillery: how to install it', () => oneLine([har], /Artillery is not installed: run "npm install -g artillery@2"/, { PATH: path.dirname(process.execPath), NOTES_PASSWORD: PASSWORD }));
    it('a redacted credential with no configured value: which, where, and the key to set, before any load', () => {
      const bare = liveExample();
      try {
        const r = heavySync(['replay', har, '--root', bare], bare, env);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /redacted credentials with no value to replay them: .*the Authorization header \(GET \/auth\/me, request 3 of session 1\): set headers\.Authorization/);
        assert.match(r.stderr, /the "password" field \(POST \/auth\/login, request 2 of session 1\): set fields\.password .* in \[tool\.heavy\.record\.credentials\]/);
        assert.doesNotMatch(r.stderr, /replaying/, 'no load started');
      } finally {
        fs.rmSync(bare, { recursive: true, force: true });
      }
    });
    it('a credential whose environment variable is not set', () => oneLine([har], /\$\{NOTES_PASSWORD\} is not set: \[tool\.heavy\.record\.credentials\] in pyproject\.toml reads it from the environment/, { ...env, NOTES_PASSWORD: '' }));
    it('no app to start (a [tool.heavy.serve] command only): what is missing, and --target', () => {
      const other = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-command-only-'));
      try {
        fs.writeFileSync(path.join(other, 'pyproject.toml'), '[project]\nname = "x"\nversion = "0"\n\n[tool.heavy.serve]\n'
          + 'command = ["${python}", "-m", "http.server", "--bind", "${host}", "${port}"]\n');
        const one = path.join(other, 'one.har');
        fs.writeFileSync(one, JSON.stringify({ log: { version: '1.2', creator: { name: 'x', version: '1' }, entries: [{
          startedDateTime: new Date().toISOString(), time: 1,
          request: { method: 'GET', url: 'http://127.0.0.1:8000/hello', httpVersion: 'HTTP/1.1', headers: [], queryString: [], cookies: [], headersSize: -1, bodySize: 0 },
          response: { status: 200, statusText: 'OK', httpVersion: 'HTTP/1.1', headers: [], cookies: [], content: { size: 0, mimeType: 'application/json' }, redirectURL: '', headersSize: -1, bodySize: 0 },
          cache: {}, timings: { send: 0, wait: 1, receive: 0 } }] } }));
        const r = heavySync(['replay', one, '--root', other], other, env);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /^heavy: cannot start the app: no app object found: set app = .* under \[tool\.heavy\] in pyproject\.toml; or start it yourself and pass --target URL\n$/);
      } finally {
        fs.rmSync(other, { recursive: true, force: true });
      }
    });
    it('--export without --out', () => {
      const r = heavySync(['replay', har, '--root', root, '--export', 'artillery'], root, env);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^heavy: --export artillery writes a folder \(load\.yml and its processor\): add --out DIR\n/);
    });
    it('a mistyped credentials key, named', () => {
      const bad = liveExample();
      try {
        fs.appendFileSync(path.join(bad, 'pyproject.toml'), '\n[tool.heavy.record.credentials]\nheader = { Authorization = "x" }\n');
        const r = heavySync(['replay', har, '--root', bad], bad, env);
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /unknown key "tool\.heavy\.record\.credentials\.header" \(allowed in \[tool\.heavy\.record\.credentials\]: headers, fields, login\)/);
      } finally {
        fs.rmSync(bad, { recursive: true, force: true });
      }
    });
  });
});
