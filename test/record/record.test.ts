import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { WebSocket } from 'ws';
import type { Har } from '../../daemon/record/har';
import { harFromJournal } from '../../daemon/record/har';
import { REDACTED } from '../../daemon/record/redact';
import { freePort } from '../../daemon/record/appServer';
import { HEAVY, waitFor } from '../helpers/project';
import { liveExample, request, startRecorder, validHar } from './helpers';

/** The same traffic for every recording: GETs, a secret-bearing GET, SSE, a login POST, a big body, a WebSocket exchange. */
async function clickThrough(url: string): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  assert.equal((await request(`${url}/hello`, { agent })).status, 200);
  const echoed = await request(`${url}/echo-headers`, { agent, headers: { authorization: 'Bearer top-secret', cookie: 'sid=cookie-secret' } });
  const seen = JSON.parse(echoed.body) as Record<string, string>;
  // The app sees the client's Host and who the client was.
  assert.equal(seen.host, new URL(url).host);
  assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen.authorization, 'Bearer top-secret', 'the proxy passes credentials on; only the recording hides them');
  const sse = await request(`${url}/events`, { agent });
  assert.match(sse.body, /data: tick 0\n\ndata: tick 1\n\ndata: tick 2/);
  const login = await request(`${url}/login`, { agent, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'ada', password: 'hunter2' }) });
  assert.equal(login.status, 200);
  assert.equal((await request(`${url}/big`, { agent })).body.length, 5011);
  await new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/echo`);
    const got: string[] = [];
    ws.on('open', () => ws.send('hi'));
    ws.on('message', (data) => {
      got.push(String(data));
      if (got.length === 1) ws.send('there');
      else ws.close();
    });
    ws.on('close', () => (got.join('|') === 'echo: hi|echo: there' ? resolve() : reject(new Error(got.join('|')))));
    ws.on('error', reject);
  });
  agent.destroy();
}

describe('heavy record', function () {
  this.timeout(90000);
  let root: string;
  before(() => { root = liveExample(); });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('records requests, an SSE stream and a WebSocket exchange into valid, redacted HAR 1.2', async () => {
    const out = path.join(root, 'rec', 'redacted.har');
    const rec = await startRecorder(root, ['--out', out]);
    await clickThrough(rec.url);
    rec.child.kill('SIGINT');
    assert.equal(await rec.exited, 0, rec.output());
    assert.match(rec.output(), /Recorded 6 requests and 4 WebSocket messages/);
    assert.ok(!fs.existsSync(`${out}.journal`), 'the journal is gone once the HAR is written');
    const har = await validHar(out);
    const paths = har.log.entries.map((e) => `${e.request.method} ${new URL(e.request.url).pathname}`);
    assert.deepEqual(paths, ['GET /hello', 'GET /echo-headers', 'GET /events', 'POST /login', 'GET /big', 'GET /ws/echo']);
    const [, secret, sse, login, big, ws] = har.log.entries;
    const header = (name: string) => secret.request.headers.find((h) => h.name.toLowerCase() === name)?.value;
    assert.equal(header('authorization'), REDACTED);
    assert.equal(header('cookie'), `sid=${REDACTED}`);
    assert.ok(!fs.readFileSync(out, 'utf8').match(/top-secret|cookie-secret|hunter2|server-token-123/), 'no secret anywhere in the file');
    assert.match(sse.response.content.text!, /data: tick 2/);
    assert.equal(sse.response.content.mimeType.split(';')[0], 'text/event-stream');
    assert.deepEqual(JSON.parse(login.request.postData!.text), { user: 'ada', password: REDACTED });
    assert.equal(JSON.parse(login.response.content.text!).token, REDACTED);
    assert.equal(big.response.content.text!.length, 1000);
    assert.match(big.response.content.comment!, /truncated: 5011 bytes/);
    assert.equal(ws._resourceType, 'websocket');
    assert.deepEqual(ws._webSocketMessages!.map((m) => [m.type, m.opcode, m.data]),
      [['send', 1, 'hi'], ['receive', 1, 'echo: hi'], ['send', 1, 'there'], ['receive', 1, 'echo: there']]);
    // One client, one keep-alive connection for HTTP: one session.
    assert.equal(new Set(har.log.entries.map((e) => e._session)).size, 1);
  });

  it('keeps secrets with --keep-secrets', async () => {
    const out = path.join(root, 'rec', 'kept.har');
    const rec = await startRecorder(root, ['--out', out, '--keep-secrets']);
    await clickThrough(rec.url);
    rec.child.kill('SIGTERM');
    assert.equal(await rec.exited, 0, rec.output());
    const har = await validHar(out);
    const text = JSON.stringify(har);
    for (const secret of ['Bearer top-secret', 'sid=cookie-secret', 'hunter2', 'server-token-123']) assert.ok(text.includes(secret), secret);
    assert.ok(!text.includes(REDACTED));
  });

  it('loses at most the last second to kill -9: the file at --out is valid HAR all along, and the journal completes it at the next start', async () => {
    const out = path.join(root, '.heavy', 'recordings', 'killed.har');
    const rec = await startRecorder(root, ['--out', out]);
    // Valid (empty) HAR from the first moment.
    assert.equal((await validHar(out)).log.entries.length, 0);
    const agent = new http.Agent({ keepAlive: true });
    for (let i = 0; i < 3; i++) await request(`${rec.url}/hello`, { agent });
    agent.destroy();
    // The rewrite comes within a second; a busy disk may take longer, so wait for it, then kill.
    await waitFor(() => {
      try {
        return (JSON.parse(fs.readFileSync(out, 'utf8')) as Har).log.entries.length === 3;
      } catch {
        return false;
      }
    }, 10000, 'the HAR to hold the 3 requests');
    await new Promise((r) => setTimeout(r, 300));  // and the journal's flush (every 250 ms)
    rec.child.kill('SIGKILL');
    await rec.exited;
    const snapshot = await validHar(out);
    assert.deepEqual(snapshot.log.entries.map((e) => new URL(e.request.url).pathname), ['/hello', '/hello', '/hello']);
    assert.equal(harFromJournal(fs.readFileSync(`${out}.journal`, 'utf8'), 'test').requests, 3);
    // A rewrite cut by a kill leaves its temporary file; the next start removes it.
    const stale = `${out}.999999999.async.tmp`;
    fs.writeFileSync(stale, '{"log": {');
    // The serve engine dies with the recorder (PR_SET_PDEATHSIG). The next start (any --out) recovers the journal.
    const next = await startRecorder(root, []);
    assert.ok(!fs.existsSync(stale), 'the cut temporary file is removed');
    assert.match(next.output(), /recovered an interrupted recording: 3 requests, 0 WebSocket messages in .*killed\.har/);
    next.child.kill('SIGINT');
    await next.exited;
    assert.ok(!fs.existsSync(`${out}.journal`));
    const har = await validHar(out);
    assert.deepEqual(har.log.entries.map((e) => new URL(e.request.url).pathname), ['/hello', '/hello', '/hello']);
  });

  it('a new recording to the same --out keeps an interrupted one aside, and refuses while another recorder writes there', async () => {
    const out = path.join(root, 'rec', 'same.har');
    const first = await startRecorder(root, ['--out', out]);
    await request(`${first.url}/hello`);
    await new Promise((r) => setTimeout(r, 1000));
    // While it records, a second recorder to the same file is refused with one line.
    const refused = spawnSync(process.execPath, [HEAVY, 'record', '--root', root, '--out', out, '--port', '0'], { encoding: 'utf8', timeout: 60000 });
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /^heavy: another heavy record \(pid \d+\) is recording to .*same\.har; stop it or pass another --out \(or delete .*same\.har\.journal if it is gone\)\n$/);
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await startRecorder(root, ['--out', out]);
    assert.match(second.output(), /recovered an interrupted recording: 1 requests, 0 WebSocket messages in .*same-interrupted\.har/);
    await request(`${second.url}/hello`);
    await request(`${second.url}/hello`);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
    assert.equal((await validHar(path.join(root, 'rec', 'same-interrupted.har'))).log.entries.length, 1);
    assert.equal((await validHar(out)).log.entries.length, 2);
  });

  it('stopping with a WebSocket open closes it with 1001 (going away) and keeps its messages', async () => {
    const out = path.join(root, 'rec', 'open-socket.har');
    const rec = await startRecorder(root, ['--out', out]);
    const ws = new WebSocket(`${rec.url.replace('http', 'ws')}/ws/echo`);
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send('still here'));
      ws.once('message', () => resolve());
      ws.on('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    rec.child.kill('SIGINT');
    assert.equal(await closed, 1001);
    assert.equal(await rec.exited, 0, rec.output());
    const har = await validHar(out);
    const entry = har.log.entries.find((e) => e._resourceType === 'websocket')!;
    assert.deepEqual(entry._webSocketMessages!.map((m) => [m.type, m.data]), [['send', 'still here'], ['receive', 'echo: still here']]);
  });

  it('a taken --port is one line naming the process holding it, before the app is started', async () => {
    const holder = http.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as import('node:net').AddressInfo).port;
    try {
      const r = spawnSync(process.execPath, [HEAVY, 'record', '--root', root, '--port', String(port), '--out', path.join(root, 'rec', 'taken.har')], { encoding: 'utf8', timeout: 60000 });
      assert.equal(r.status, 2, r.stdout + r.stderr);
      // (The holder is named where /proc shows it: Linux.)
      assert.match(r.stderr, new RegExp(`^heavy: port ${port} on 127\\.0\\.0\\.1 is already in use${process.platform === 'linux' ? ` by pid ${process.pid} \\([^\\n]*\\)` : '.*'}; stop it or pass --port\\n$`));
      // Nothing was started: no app output, no recording.
      assert.equal(r.stdout, '');
      assert.ok(!fs.existsSync(path.join(root, 'rec', 'taken.har')));
    } finally {
      holder.close();
    }
  });

  it('the Record Traffic profile serves the app in its own (debuggable) process with heavy record beside it', async () => {
    const port = await freePort();
    const pyproject = path.join(root, 'pyproject.toml');
    fs.writeFileSync(pyproject, fs.readFileSync(pyproject, 'utf8').replace(/^port = \d+$/m, `port = ${port}`));
    const listed = JSON.parse(spawnSyncText([HEAVY, 'profiles', '--json', '--root', root])) as { profile: string; program: string; args: string[] }[];
    const profile = listed.find((p) => p.profile === 'record-traffic')!;
    assert.match(profile.program, /daemon[\\/]record[\\/]record_traffic\.py$/);
    assert.ok(profile.args.includes(String(port)));
    // Earlier tests leave recordings here; this one looks for the file it makes.
    const before = new Set(fs.existsSync(path.join(root, '.heavy', 'recordings')) ? fs.readdirSync(path.join(root, '.heavy', 'recordings')) : []);
    const child = spawn(process.execPath, [HEAVY, 'profiles', 'run', 'record-traffic', '--root', root], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout!.on('data', (d) => { text += d; });
    child.stderr!.on('data', (d) => { text += d; });
    const deadline = Date.now() + 60000;
    while (!text.includes(`open http://127.0.0.1:${port}/`)) {
      assert.ok(Date.now() < deadline && child.exitCode === null, text);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await request(`http://127.0.0.1:${port}/hello`)).status, 200);
    // What was recorded more than a second before a kill is kept (the journal is flushed four times a second).
    await new Promise((r) => setTimeout(r, 1200));
    // Stopping the session kills the launcher's parent; the launcher (the debuggee) dies with it
    // (PR_SET_PDEATHSIG, set by the serve engine), and the recorder sees its own parent go.
    child.kill('SIGKILL');
    const dir = path.join(root, '.heavy', 'recordings');
    const fresh = () => fs.readdirSync(dir).filter((f) => f.endsWith('.har') && !before.has(f));
    await waitFor(() => fresh().length > 0, 10000, 'the HAR');
    const files = fresh();
    assert.equal(files.length, 1, files.join(', '));
    const har = await validHar(path.join(root, '.heavy', 'recordings', files[0]));
    assert.deepEqual(har.log.entries.map((e) => new URL(e.request.url).pathname), ['/hello']);
  });
});

function spawnSyncText(args: string[]): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const r = require('node:child_process').spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}
