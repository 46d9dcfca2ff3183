import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startAppServer, type AppServer } from '../../daemon/record/appServer';
import { heavySync } from '../helpers/project';
import { artilleryBin, liveExample } from './helpers';

// The app keeps what it received, byte for byte, so the test sees what replay really sent.
const ECHO_ROUTES = `
from fastapi import Request, WebSocket, WebSocketDisconnect
from app.live import app

GOT = []


@app.api_route("/echo", methods=["GET", "POST"])
async def echo(request: Request):
    GOT.append({"query": request.url.query, "header": request.headers.get("x-note"), "body": (await request.body()).decode()})
    return {"ok": True}


@app.get("/got")
def got():
    return GOT


@app.websocket("/ws/keep")
async def keep(socket: WebSocket):
    await socket.accept()
    try:
        while True:
            text = await socket.receive_text()
            GOT.append({"ws": text})
            await socket.send_text("ok")
    except WebSocketDisconnect:
        pass
`;

const T0 = Date.parse('2026-11-28T10:00:00Z');
const header = (name: string, value: string) => ({ name, value });
function entry(method: string, url: string, at: number, extra: { headers?: { name: string; value: string }[]; body?: { mimeType: string; text: string }; ws?: string[] } = {}) {
  return {
    startedDateTime: new Date(T0 + at).toISOString(), time: 5,
    request: { method, url, httpVersion: 'HTTP/1.1', headers: extra.headers ?? [], queryString: [], cookies: [], headersSize: -1, bodySize: extra.body?.text.length ?? 0, ...(extra.body ? { postData: extra.body } : {}) },
    response: { status: extra.ws ? 101 : 200, statusText: '', httpVersion: 'HTTP/1.1', headers: [], cookies: [], content: { size: 0, mimeType: 'application/json' }, redirectURL: '', headersSize: -1, bodySize: 0 },
    cache: {}, timings: { send: 0, wait: 5, receive: 0 },
    ...(extra.ws ? { _resourceType: 'websocket', _webSocketMessages: extra.ws.flatMap((data, i) => [
      { type: 'send', time: (T0 + at + 10 + i * 20) / 1000, opcode: 1, data },
      { type: 'receive', time: (T0 + at + 15 + i * 20) / 1000, opcode: 1, data: 'ok' },
    ]) } : {}),
  };
}

describe('heavy replay sends recorded text as it was recorded', function () {
  this.timeout(180000);
  let root: string;
  let app: AppServer;
  let target: string;
  const env = () => ({ PATH: `${artilleryBin()}${path.delimiter}${process.env.PATH}` });

  before(async () => {
    root = liveExample();
    fs.writeFileSync(path.join(root, 'app', 'echo.py'), ECHO_ROUTES);
    const pyproject = path.join(root, 'pyproject.toml');
    fs.writeFileSync(pyproject, fs.readFileSync(pyproject, 'utf8').replace('app = "app.live:app"', 'app = "app.echo:app"')
      + '\n[tool.heavy.record.credentials]\nfields = { password = "${ECHO_PASSWORD}" }\n');
    app = await startAppServer(root, { purpose: 'replay', stdio: 'pipe' });
    await app.ready();
    target = `http://${app.host}:${app.port}`;
  });
  after(async () => {
    await app?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('text that looks like an Artillery template, and credentials that need escaping, arrive exactly', async () => {
    const password = 'p&ss=w+rd "quoted" \\ 100%';
    const har = path.join(root, 'literal.har');
    fs.writeFileSync(har, JSON.stringify({ log: { version: '1.2', creator: { name: 'test', version: '1' }, entries: [
      // A note a user typed, a header, a query: none of them is a template for the replaying machine.
      entry('POST', 'http://127.0.0.1:8000/echo', 0, { headers: [header('x-note', '{{ $processEnvironment.HOME }}')], body: { mimeType: 'application/json', text: '{"note":"Hello {{ name }}"}' } }),
      entry('GET', 'http://127.0.0.1:8000/echo?q={{x}}', 50),
      // A form with a repeated key (so no Artillery form:) and a redacted password: the value goes in URL-encoded.
      entry('POST', 'http://127.0.0.1:8000/echo', 100, { body: { mimeType: 'application/x-www-form-urlencoded', text: 'tag=a&tag={{b}}&password=__heavy_redacted__' } }),
      // A JSON body cut at max_body (not parseable): the value goes in JSON-escaped.
      entry('POST', 'http://127.0.0.1:8000/echo', 150, { body: { mimeType: 'application/json', text: '{"user":"ada","password":"__heavy_redacted__","bio":"{{ cut' } }),
      entry('GET', 'ws://127.0.0.1:8000/ws/keep', 200, { ws: ['Hi {{ name }}', '{{ $processEnvironment.PATH }}'] }),
    ] } }));
    const r = heavySync(['replay', har, '--root', root, '--target', target, '--users', '1', '--json'], root, { ...env(), ECHO_PASSWORD: password });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as { errors: number; requests: number };
    assert.equal(report.errors, 0, r.stdout);
    const got = await (await fetch(`${target}/got`)).json() as Record<string, string | null>[];
    assert.deepEqual(got.filter((g) => !('ws' in g)), [
      { query: '', header: '{{ $processEnvironment.HOME }}', body: '{"note":"Hello {{ name }}"}' },
      { query: 'q=%7B%7Bx%7D%7D', header: null, body: '' },
      { query: '', header: null, body: `tag=a&tag={{b}}&password=${encodeURIComponent(password)}` },
      { query: '', header: null, body: `{"user":"ada","password":${JSON.stringify(password)},"bio":"{{ cut` },
    ]);
    assert.deepEqual(got.filter((g) => 'ws' in g), [{ ws: 'Hi {{ name }}' }, { ws: '{{ $processEnvironment.PATH }}' }]);
    // The exported script holds neither the password nor a template where recorded text was.
    const out = path.join(root, 'export');
    const e = heavySync(['replay', har, '--root', root, '--target', target, '--export', 'artillery', '--out', out], root, { ...env(), ECHO_PASSWORD: password });
    assert.equal(e.code, 0, e.stderr);
    const script = fs.readFileSync(path.join(out, 'load.yml'), 'utf8');
    assert.ok(!script.includes(password) && !script.includes(JSON.stringify(password).slice(1, -1)), 'the password is not in the script');
    assert.match(script, /\{\{ \$processEnvironment\.ECHO_PASSWORD \}\}/);
  });
});
