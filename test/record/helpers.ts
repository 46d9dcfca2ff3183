import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Har, HarEntry } from '../../daemon/record/har';
import { copyExample, HEAVY } from '../helpers/project';

// Shared by the recorder's end-to-end tests: a copy of the example app with a few routes that
// exercise the proxy (SSE, WebSocket, a login with a password, a large body, a hit counter and
// the order the app saw requests and WebSocket connections in).

const LIVE_ROUTES = `
import asyncio
from fastapi import WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from app.main import app

HITS = {}
LOG = []


@app.middleware("http")
async def count_hits(request, call_next):
    HITS[request.url.path] = HITS.get(request.url.path, 0) + 1
    LOG.append(request.method + " " + request.url.path)
    return await call_next(request)


@app.get("/hits")
def hits() -> dict:
    return HITS


@app.get("/log")
def log() -> list:
    return LOG


@app.get("/echo-headers")
def echo_headers(request: "Request") -> dict:
    return {k: v for k, v in request.headers.items()}


@app.get("/events")
async def events():
    async def ticks():
        for i in range(3):
            yield f"data: tick {i}\\n\\n"
            await asyncio.sleep(0.05)
    return StreamingResponse(ticks(), media_type="text/event-stream")


@app.post("/login")
async def login(body: dict) -> dict:
    return {"ok": True, "token": "server-token-123"}


UPLOADS = []


@app.post("/upload")
async def upload(request: Request) -> dict:
    import hashlib
    body = await request.body()
    UPLOADS.append({"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)})
    return {"size": len(body)}


@app.get("/uploads")
def uploads() -> list:
    return UPLOADS


@app.get("/big")
def big() -> dict:
    return {"data": "x" * 5000}


@app.websocket("/ws/echo")
async def echo(ws: WebSocket):
    await ws.accept()
    LOG.append("WS /ws/echo")
    HITS["ws"] = HITS.get("ws", 0) + 1
    try:
        while True:
            text = await ws.receive_text()
            HITS["ws messages"] = HITS.get("ws messages", 0) + 1
            await ws.send_text("echo: " + text)
    except WebSocketDisconnect:
        pass
`.replace('request: "Request"', 'request: Request').replace('from fastapi import WebSocket', 'from fastapi import Request, WebSocket');

/** A copy of the example whose app (app.live:app) adds the routes above; max_body is 1000 bytes. */
export function liveExample(): string {
  const root = copyExample({ 'app/live.py': LIVE_ROUTES });
  const pyproject = path.join(root, 'pyproject.toml');
  const text = fs.readFileSync(pyproject, 'utf8').replace('app = "app.main:app"', 'app = "app.live:app"');
  fs.writeFileSync(pyproject, `${text}\n[tool.heavy.record]\nmax_body = 1000\n`);
  return root;
}

export interface Recorder {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `heavy record` on a free port and waits for the URL it prints. */
export async function startRecorder(root: string, args: string[]): Promise<Recorder> {
  const child = spawn(process.execPath, [HEAVY, 'record', '--root', root, '--port', '0', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => { text += d; });
  child.stderr!.on('data', (d) => { text += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60000;
  for (;;) {
    const m = /open (http:\/\/127\.0\.0\.1:\d+)\//.exec(text);
    if (m) return { child, url: m[1], output: () => text, exited };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`heavy record did not start:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Response { status: number; headers: http.IncomingHttpHeaders; body: string }

export function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Artillery lives in its own package (test/record/engine); installed here on first use. */
export function artilleryBin(): string {
  const dir = path.join(__dirname, 'engine');
  const bin = path.join(dir, 'node_modules', '.bin');
  if (!fs.existsSync(path.join(bin, 'artillery'))) {
    const r = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', timeout: 600000 });
    if (r.status !== 0) throw new Error(`npm ci in ${dir} failed:\n${r.stdout}\n${r.stderr}`);
  }
  return bin;
}

/** A recorded GET of `url` at `at` (ms) in session 1 that got a 200. */
export function getEntry(url: string, at: number): HarEntry {
  return {
    startedDateTime: new Date(at).toISOString(), time: 1, _session: '1',
    request: { method: 'GET', url, httpVersion: 'HTTP/1.1', cookies: [], headers: [], queryString: [], headersSize: -1, bodySize: 0 },
    response: { status: 200, statusText: 'OK', httpVersion: 'HTTP/1.1', cookies: [], headers: [], content: { size: 0, mimeType: '' }, redirectURL: '', headersSize: -1, bodySize: 0 },
    cache: {}, timings: { send: 0, wait: 1, receive: 0 },
  };
}

// har-validator has no types; it checks a document against the HAR 1.2 JSON schema.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const harValidator = require('har-validator') as { har(doc: unknown): Promise<boolean> };

/** The HAR in `file`, once har-validator has checked it against the HAR 1.2 schema. */
export async function validHar(file: string): Promise<Har> {
  const har = JSON.parse(fs.readFileSync(file, 'utf8')) as Har;
  await harValidator.har(har).catch((err: { errors?: unknown }) => {
    throw new Error(`not valid HAR 1.2: ${JSON.stringify(err.errors ?? err)}`);
  });
  return har;
}

/**
 * `heavy ARGS` with Artillery on PATH, asynchronously (an app or test server in this process
 * keeps answering meanwhile): exit code, stdout, stderr, and both as `out`.
 */
export function heavyAsync(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HEAVY, ...args], { cwd, env: { ...process.env, PATH: `${artilleryBin()}${path.delimiter}${process.env.PATH}`, ...env } });
    let stdout = '';
    let stderr = '';
    let out = '';
    child.stdout!.on('data', (d) => { stdout += d; out += d; });
    child.stderr!.on('data', (d) => { stderr += d; out += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr, out }));
  });
}
