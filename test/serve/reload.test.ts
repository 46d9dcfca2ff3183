import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { WebSocket } from 'ws';
import { copyExample } from '../helpers/project';
import { get, getFresh, serve, stop, type Served, greetingEditor } from './helpers';

// One server for the reload behaviour (a start costs the warm parent's imports).
describe('heavy serve: reloads', function () {
  this.timeout(90000);
  let root: string;
  let server: Served;
  let mainPy: string;
  let original: string;
  let reloads = 0;

  const setGreeting = (value: string) => greetingEditor(mainPy, () => original)(value);

  before(async () => {
    root = copyExample({
      'app/stream.py': [
        'import asyncio',
        'from starlette.responses import StreamingResponse',
        '',
        'async def ticks():',
        '    while True:',
        '        yield "data: tick\\n\\n"',
        '        await asyncio.sleep(0.1)',
        '',
        'def events():',
        '    return StreamingResponse(ticks(), media_type="text/event-stream")',
        '',
      ].join('\n'),
      // app -> service -> helper: the app imports helper only through service.
      'app/helper.py': 'def label():\n    return "helper v1"\n',
      'app/lazy.py': 'VALUE = "lazy v1"\n',
      'app/service.py': 'from app.helper import label\n\n\ndef describe():\n    return label()\n',
      'app/extras.py': [
        'import asyncio',
        'import os',
        '',
        'from fastapi import APIRouter, WebSocket',
        '',
        'from app.service import describe',
        '',
        'router = APIRouter()',
        '',
        '@router.get("/indirect")',
        'def indirect():',
        '    return {"label": describe()}',
        '',
        '@router.get("/env")',
        'def env():',
        '    return {"greeting": os.environ.get("NOTES_GREETING"), "shell": os.environ.get("NOTES_SHELL"),',
        '            "dropped": os.environ.get("NOTES_DROPPED")}',
        '',
        '@router.get("/lazy")',
        'def lazy_route():',
        '    import httpx  # third-party, imported only once serving: the warm parent learns it',
        '    from app import lazy  # the project\'s, imported only once serving: never learned',
        '    return {"value": lazy.VALUE, "httpx": httpx.__name__}',
        '',
        '@router.websocket("/ws")',
        'async def ws(socket: WebSocket):',
        '    await socket.accept()',
        '    while True:',
        '        await socket.send_text("tick")',
        '        await asyncio.sleep(0.1)',
        '',
      ].join('\n'),
    });
    // NOTES_SHELL is in the user's own environment and in .env: the user's value wins, before and after .env changes.
    fs.appendFileSync(path.join(root, '.env'), 'NOTES_SHELL="from .env"\nNOTES_DROPPED=soon gone\n');
    process.env.NOTES_SHELL = 'from the shell';
    // Stage marks on stderr: the learning of late third-party imports shows as "learned-N".
    process.env.HEAVY_SERVE_TRACE = '1';
    // A long shutdown timeout: a reload that waited for the old version to finish its SSE stream would show.
    const pyproject = path.join(root, 'pyproject.toml');
    fs.writeFileSync(pyproject, fs.readFileSync(pyproject, 'utf8').replace('[tool.heavy.serve]\n', '[tool.heavy.serve]\nshutdown_timeout = 5\n'));
    mainPy = path.join(root, 'app', 'main.py');
    original = fs.readFileSync(mainPy, 'utf8') + '\nfrom app.stream import events\napp.get("/events")(events)\n'
      + 'from app.extras import router\napp.include_router(router)\n';
    fs.writeFileSync(mainPy, original);
    try {
      server = await serve(root, ['serve']);
    } finally {
      delete process.env.NOTES_SHELL;
      delete process.env.HEAVY_SERVE_TRACE;
    }
    await server.waitOutput(/serving app\.main:app on http:\/\/127\.0\.0\.1/, 1, 60000);
  });

  after(async () => {
    if (server) await stop(server);
  });

  it('serves the new code after a save, and says so when the new version answers', async () => {
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'Hello from .env' });
    setGreeting('first edit');
    await server.waitOutput(/reloaded in \d+ ms \(app\/main\.py\)/, ++reloads);
    // Right after the line: no stale answer from the old version.
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'first edit' });
  });

  it('keeps the previous version serving after a syntax error, and the next good save replaces it', async () => {
    setGreeting('before the error');
    await server.waitOutput(/reloaded in/, ++reloads);
    const logic = path.join(root, 'app', 'logic.py');
    const good = fs.readFileSync(logic, 'utf8');
    fs.writeFileSync(logic, good + '\ndef broken(:\n');
    const line = good.split('\n').length + 1;
    await server.waitOutput(new RegExp(`kept the previous version: SyntaxError in app/logic\\.py:${line}`));
    assert.match(server.output(), /SyntaxError: /);
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'before the error' });
    fs.writeFileSync(logic, good);
    setGreeting('after the fix');
    await server.waitOutput(/reloaded in/, ++reloads);
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'after the fix' });
  });

  // Each request on a new connection, as the socket hand-over is what is tested. (A keep-alive
  // connection to the old version is closed once idle; a request sent at that very instant
  // sees it close, as with any server closing idle connections, and clients retry it.)
  it('answers every request made while it reloads (no connection refused)', async () => {
    let stopAsking = false;
    const answers: string[] = [];
    const failures: string[] = [];
    const asker = (async () => {
      while (!stopAsking) {
        try {
          const r = await getFresh(server.port, '/hello');
          answers.push(`${r.status} ${r.body}`);
        } catch (err) {
          failures.push(String((err as any).cause?.code ?? err));
        }
      }
    })();
    for (const value of ['during 1', 'during 2', 'during 3']) {
      setGreeting(value);
      await server.waitOutput(/reloaded in/, ++reloads);
    }
    stopAsking = true;
    await asker;
    assert.deepEqual(failures, []);
    assert.ok(answers.length > 3, `${answers.length} answers`);
    assert.ok(answers.every((a) => a.startsWith('200 ')), answers.join('\n'));
    assert.ok(answers.some((a) => a.includes('during 3')));
  });

  it('reloads within the shutdown timeout while an SSE stream is open', async () => {
    const ticks: string[] = [];
    const request = http.get({ host: '127.0.0.1', port: server.port, path: '/events' });
    const response = await new Promise<http.IncomingMessage>((resolve) => request.on('response', resolve));
    response.on('data', (d) => ticks.push(String(d)));
    response.on('error', () => {});
    request.on('error', () => {});
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(ticks.length > 0, 'the stream is live');
    const saved = Date.now();
    setGreeting('with a stream open');
    await server.waitOutput(/reloaded in/, ++reloads, 5000);
    assert.ok(Date.now() - saved < 3000, `the reload took ${Date.now() - saved} ms`);
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'with a stream open' });
    request.destroy();
  });

  it("applies a changed .env to the new version, the user's own variables still winning", async () => {
    const dotenv = path.join(root, '.env');
    const before = fs.readFileSync(dotenv, 'utf8');
    fs.writeFileSync(mainPy, original);  // /hello reads NOTES_GREETING again
    await server.waitOutput(/reloaded in/, ++reloads);
    assert.deepEqual(JSON.parse((await get(server.port, '/env')).body), { greeting: 'Hello from .env', shell: 'from the shell', dropped: 'soon gone' });
    fs.writeFileSync(dotenv, before.replace('NOTES_GREETING="Hello from .env"', 'NOTES_GREETING="Hello from the edited .env"')
      .replace('NOTES_SHELL="from .env"', 'NOTES_SHELL="edited in .env"').replace('NOTES_DROPPED=soon gone\n', ''));
    await server.waitOutput(/reloaded in \d+ ms \(\.env\)/);
    reloads++;
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'Hello from the edited .env' });
    assert.deepEqual(JSON.parse((await get(server.port, '/env')).body), { greeting: 'Hello from the edited .env', shell: 'from the shell', dropped: null });
  });

  it('sees an edit to a module the app imports only indirectly (app -> service -> helper)', async () => {
    assert.deepEqual(JSON.parse((await get(server.port, '/indirect')).body), { label: 'helper v1' });
    fs.writeFileSync(path.join(root, 'app', 'helper.py'), 'def label():\n    return "helper v2"\n');
    await server.waitOutput(/reloaded in \d+ ms \(app\/helper\.py\)/);
    reloads++;
    assert.deepEqual(JSON.parse((await get(server.port, '/indirect')).body), { label: 'helper v2' });
  });

  it('keeps the previous version after an ImportError in a newly imported module, and a fix replaces it', async () => {
    const fresh = path.join(root, 'app', 'fresh.py');
    const service = path.join(root, 'app', 'service.py');
    fs.writeFileSync(fresh, 'from app.logic import no_such_name\n\nSUFFIX = " (fresh)"\n');
    await server.waitOutput(/reloaded in \d+ ms \(app\/fresh\.py\)/);  // nothing imports it yet
    reloads++;
    fs.writeFileSync(service, 'from app.fresh import SUFFIX\nfrom app.helper import label\n\n\ndef describe():\n    return label() + SUFFIX\n');
    await server.waitOutput(/kept the previous version: ImportError in app\/fresh\.py:1/);
    assert.match(server.output(), /ImportError: cannot import name 'no_such_name' from 'app\.logic'/);
    assert.deepEqual(JSON.parse((await get(server.port, '/indirect')).body), { label: 'helper v2' });
    fs.writeFileSync(fresh, 'SUFFIX = " (fresh)"\n');
    await server.waitOutput(/reloaded in \d+ ms \(app\/fresh\.py\)/, 2);
    reloads++;
    assert.deepEqual(JSON.parse((await get(server.port, '/indirect')).body), { label: 'helper v2 (fresh)' });
  });

  it('reloads within the shutdown timeout while a WebSocket client is connected', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
    const messages: string[] = [];
    let closed: number | undefined;
    socket.on('message', (m) => messages.push(String(m)));
    socket.on('close', (code) => { closed = code; });
    socket.on('error', () => {});
    await new Promise<void>((resolve, reject) => { socket.once('open', () => resolve()); socket.once('error', reject); });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(messages.length > 0, 'the WebSocket is live');
    const saved = Date.now();
    setGreeting('with a WebSocket open');
    await server.waitOutput(/reloaded in/, ++reloads, 5000);
    // shutdown_timeout is 5 s here: a reload waiting on the socket would take that long.
    assert.ok(Date.now() - saved < 3000, `the reload took ${Date.now() - saved} ms`);
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'with a WebSocket open' });
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(closed !== undefined, 'the old version closed the WebSocket');
    socket.terminate();
  });

  // The child is forked on a burst's first event, to import while the burst settles: each later
  // event must abandon it, or a save-and-format would serve the unformatted file.
  it('a burst of saves (save-and-format, a checkout) gives one reload, serving what was written last', async () => {
    const helper = path.join(root, 'app', 'helper.py');
    const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    fs.writeFileSync(helper, 'def label():\n    return "burst 1"\n');
    pause(10);
    setGreeting('burst');
    pause(10);
    fs.writeFileSync(helper, 'def label():\n    return "burst 3"\n');
    await server.waitOutput(/reloaded in \d+ ms \(app\/helper\.py and 1 more\)/);
    reloads++;
    assert.deepEqual(JSON.parse((await get(server.port, '/indirect')).body), { label: 'burst 3 (fresh)' });
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'burst' });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((server.output().match(/reloaded in/g) ?? []).length, reloads, 'one reload for the burst');
  });

  it('learns third-party modules a version imports while serving, never the project\'s: an edit to a lazily imported module is seen', async () => {
    const learnedBefore = (server.output().match(/heavy trace: learned-[1-9]/g) ?? []).length;
    assert.deepEqual(JSON.parse((await get(server.port, '/lazy')).body), { value: 'lazy v1', httpx: 'httpx' });
    // The child reports httpx on its next tick; the idle parent imports it.
    await server.waitOutput(/heavy trace: learned-[1-9]/, learnedBefore + 1, 10000);
    fs.writeFileSync(path.join(root, 'app', 'lazy.py'), 'VALUE = "lazy v2"\n');
    await server.waitOutput(/reloaded in \d+ ms \(app\/lazy\.py\)/);
    reloads++;
    assert.deepEqual(JSON.parse((await get(server.port, '/lazy')).body), { value: 'lazy v2', httpx: 'httpx' });
  });
});
