import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { copyExample } from '../helpers/project';
import { get, getFresh, serve, stop, type Served } from './helpers';

// One server for the reload behaviour (a start costs the warm parent's imports).
describe('heavy serve: reloads', function () {
  this.timeout(90000);
  let root: string;
  let server: Served;
  let mainPy: string;
  let original: string;
  let reloads = 0;

  const setGreeting = (value: string) => {
    fs.writeFileSync(mainPy, original.replace('return {"message": message}', `return {"message": ${JSON.stringify(value)}}`));
  };

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
    });
    // A long shutdown timeout: a reload that waited for the old version to finish its SSE stream would show.
    const pyproject = path.join(root, 'pyproject.toml');
    fs.writeFileSync(pyproject, fs.readFileSync(pyproject, 'utf8').replace('[tool.heavy.serve]\n', '[tool.heavy.serve]\nshutdown_timeout = 5\n'));
    mainPy = path.join(root, 'app', 'main.py');
    original = fs.readFileSync(mainPy, 'utf8') + '\nfrom app.stream import events\napp.get("/events")(events)\n';
    fs.writeFileSync(mainPy, original);
    server = await serve(root, ['serve']);
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
});
