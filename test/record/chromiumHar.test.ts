import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startAppServer, type AppServer } from '../../daemon/record/appServer';
import type { Har, HarEntry } from '../../daemon/record/har';
import { heavySync, waitFor } from '../helpers/project';
import { artilleryBin, liveExample, request } from './helpers';

// har-validator has no types; it checks a document against the HAR 1.2 JSON schema.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const harValidator = require('har-validator') as { har(doc: unknown): Promise<boolean> };

// The example app with a real page: it loads a stylesheet from a "CDN" (another origin that
// answers) and one from a host that does not resolve, fetches JSON, POSTs JSON, talks over a
// WebSocket, and has a form whose POST redirects (303) to a second page. The app counts what
// it receives by method and path, and WebSocket messages, so the test knows what the browser
// really sent to it, independent of the HAR and of our code.
const PAGE_ROUTES = `
from fastapi import Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, RedirectResponse
from app.live import app

SEEN = {}


def seen(key):
    SEEN[key] = SEEN.get(key, 0) + 1


@app.middleware("http")
async def count_requests(request, call_next):
    seen(f"{request.method} {request.url.path}")
    return await call_next(request)


@app.get("/seen")
def get_seen() -> dict:
    return SEEN


PAGE = """<!doctype html>
<html><head><title>Notes</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="http://cdn.example.com/app.css">
<link rel="stylesheet" href="https://fonts.example.net/font.css">
</head><body>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<form method="post" action="/feedback"><input name="text" value="nice app"><input name="stars" value="5"><button>Send</button></form>
<script>
window.drive = async () => {
  const hello = await (await fetch('/hello')).json();
  const created = await (await fetch('/notes', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({title: 'From Chromium', body: 'one two three'})})).json();
  const note = await (await fetch('/notes/' + created.id)).json();
  await fetch('/notes');
  const replies = await new Promise((resolve, reject) => {
    const ws = new WebSocket('ws://' + location.host + '/ws/chat');
    const got = [];
    ws.onopen = () => ws.send('hi');
    ws.onmessage = (e) => { got.push(e.data); if (got.length === 1) ws.send('there'); else ws.close(); };
    ws.onclose = () => resolve(got);
    ws.onerror = () => reject(new Error('websocket failed'));
  });
  return {hello: hello.message, title: note.title, replies};
};
</script></body></html>"""


@app.get("/page", response_class=HTMLResponse)
def page() -> str:
    return PAGE


@app.post("/feedback")
async def feedback(request: Request):
    await request.body()
    return RedirectResponse("/thanks", status_code=303)


@app.get("/thanks", response_class=HTMLResponse)
def thanks() -> str:
    return '<!doctype html><html><head><link rel="icon" href="data:,"></head><body>Thanks</body></html>'


@app.websocket("/ws/chat")
async def chat(ws: WebSocket):
    await ws.accept()
    try:
        while True:
            text = await ws.receive_text()
            seen("WS /ws/chat")
            try:
                await ws.send_text("echo: " + text)
            except Exception:
                # Replay may close right after its last send, before this echo goes out.
                pass
    except WebSocketDisconnect:
        pass
`;

type Counts = Record<string, number>;

/** Counts the app received between two snapshots; HEAD / is how heavy replay --target checks the app answers. */
function receivedBetween(before: Counts, after: Counts): Counts {
  const out: Counts = {};
  for (const [key, n] of Object.entries(after)) {
    const d = n - (before[key] ?? 0);
    if (d > 0 && key !== 'GET /seen' && key !== 'HEAD /') out[key] = d;
  }
  return out;
}

/** "GET /notes/3" → "GET /notes/{id}", the way replay names endpoints (written here again, on purpose). */
const endpointOf = (key: string) => key.replace(/\/\d+(?=\/|$)/g, '/{id}');

function byEndpoint(counts: Counts): Counts {
  const out: Counts = {};
  for (const [key, n] of Object.entries(counts)) if (!key.startsWith('WS ')) out[endpointOf(key)] = (out[endpointOf(key)] ?? 0) + n;
  return out;
}

describe('heavy replay of a HAR that Chromium exported', function () {
  this.timeout(300000);
  let root: string;
  let env: NodeJS.ProcessEnv;
  let app: AppServer;
  let origin: string;
  let cdn: http.Server;
  const cdnHits: string[] = [];
  let browser: Browser;

  const seen = async () => JSON.parse((await request(`${origin}/seen`)).body) as Counts;

  before(async () => {
    env = { PATH: `${artilleryBin()}${path.delimiter}${process.env.PATH}` };
    root = liveExample();
    fs.writeFileSync(path.join(root, 'app', 'browser.py'), PAGE_ROUTES);
    const pyproject = path.join(root, 'pyproject.toml');
    fs.writeFileSync(pyproject, fs.readFileSync(pyproject, 'utf8').replace('app = "app.live:app"', 'app = "app.browser:app"'));
    // The "CDN": a second origin that answers, so the HAR holds a successful third-party entry.
    cdn = http.createServer((req, res) => {
      cdnHits.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/css' });
      res.end('body { margin: 0 }');
    });
    await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve));
    app = await startAppServer(root, { purpose: 'replay', stdio: 'pipe' });
    await app.ready();
    origin = `http://${app.host}:${app.port}`;
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-quic',
        // cdn.example.com is the local "CDN"; every other host fails to resolve, so the test
        // never touches the network and fonts.example.net is a real failed request.
        `--host-resolver-rules=MAP cdn.example.com:80 127.0.0.1:${(cdn.address() as AddressInfo).port}, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1`],
    });
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    cdn?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Drives the page in a fresh context recording a HAR; returns what the app received meanwhile. */
  async function browse(harFile: string, recordHar: { mode: 'full' | 'minimal'; content: 'embed' | 'omit' }): Promise<Counts> {
    const before = await seen();
    const context = await browser.newContext({ recordHar: { path: harFile, ...recordHar } });
    const page = await context.newPage();
    await page.goto(`${origin}/page`);
    assert.deepEqual(await page.evaluate('window.drive()'), { hello: 'Hello from .env', title: 'From Chromium', replies: ['echo: hi', 'echo: there'] });
    await Promise.all([page.waitForURL('**/thanks'), page.click('button')]);
    // Back to the page: Chromium answers history navigations from its cache, and the HAR still lists them.
    await page.goBack();
    await page.waitForLoadState('load');
    await context.close(); // writes the HAR
    return receivedBetween(before, await seen());
  }

  for (const mode of ['full', 'minimal'] as const) {
    it(`recordHar mode "${mode}": replays what reached the app, once, and says what it left out`, async () => {
      const harFile = path.join(root, `chromium-${mode}.har`);
      const sent = await browse(harFile, { mode, content: 'embed' });

      const doc = JSON.parse(fs.readFileSync(harFile, 'utf8')) as Har;
      await harValidator.har(doc).catch((err: { errors?: unknown }) => {
        throw new Error(`Chromium's HAR is not valid HAR 1.2: ${JSON.stringify(err.errors ?? err)}`);
      });
      assert.equal(doc.log.creator.name, 'Playwright');

      // What the HAR says, counted here: the page's origin, answered, by method and path.
      const entries = doc.log.entries;
      const urlOf = (e: HarEntry) => new URL(e.request.url);
      const appEntries = entries.filter((e) => urlOf(e).host === new URL(origin).host && e.response.status > 0);
      const inHar: Counts = {};
      for (const e of appEntries.filter((x) => urlOf(x).protocol === 'http:')) {
        const key = endpointOf(`${e.request.method} ${urlOf(e).pathname}`);
        inHar[key] = (inHar[key] ?? 0) + 1;
      }
      const sends = appEntries.filter((e) => urlOf(e).protocol === 'ws:').flatMap((e) => e._webSocketMessages ?? []).filter((m) => m.type === 'send').length;
      // The browser's export holds what this test is about: other origins, a failed request,
      // and one GET /page more than the app received (the cache hit).
      const others = [...new Set(entries.map((e) => urlOf(e).host).filter((h) => h !== new URL(origin).host))].sort();
      assert.deepEqual(others, ['cdn.example.com', 'fonts.example.net']);
      assert.ok(entries.some((e) => e.response.status === -1), 'a failed request');
      assert.equal(inHar['GET /page'], 2);
      assert.deepEqual({ ...inHar, 'GET /page': 1 }, byEndpoint(sent), 'the HAR and the app agree but for the cached page');
      assert.equal(sends, 2);
      assert.equal(sent['WS /ws/chat'], 2);
      assert.deepEqual(appEntries.find((e) => e.request.method === 'POST' && urlOf(e).pathname === '/notes')?.request.postData?.text, '{"title":"From Chromium","body":"one two three"}');

      // The exact file, as the Artillery script: every answered app request once (cache hit,
      // other origins and the failed request gone), the redirect not followed twice, and the
      // WebSocket with Playwright's millisecond times read as such (not a 57-year pause).
      const outDir = path.join(root, `export-${mode}`);
      const exported = heavySync(['replay', harFile, '--root', root, '--target', origin, '--export', 'artillery', '--out', outDir], root, env);
      assert.equal(exported.code, 0, exported.stderr);
      type Step = Record<string, Record<string, unknown> | number | string>;
      const script = JSON.parse(fs.readFileSync(path.join(outDir, 'load.yml'), 'utf8')) as { scenarios: { flow: Step[]; heavy: { sessions: { sockets: { path: string; sends: { at: number; text?: string }[] }[] }[] } }[] };
      const steps = (flow: Step[]): Step[] => flow.flatMap((step) => (Array.isArray(step.loop) ? steps(step.loop as Step[]) : [step]));
      const httpFlow = steps(script.scenarios[0].flow).filter((step) => !('think' in step) && !('function' in step));
      assert.deepEqual(httpFlow.map((step) => Object.values(step)[0] as { name: string }).map((spec) => spec.name).sort(),
        Object.entries(byEndpoint(sent)).filter(([name]) => !name.startsWith('WS ')).flatMap(([name, n]) => Array(n).fill(name)).sort());
      const feedback = httpFlow.find((step) => 'post' in step && (step.post as { url: string }).url === '/feedback')!.post as { body: string; followRedirect?: boolean };
      assert.equal(feedback.body, 'text=nice+app&stars=5');
      assert.equal(feedback.followRedirect, false);
      const sockets = script.scenarios[0].heavy.sessions.flatMap((x) => x.sockets);
      assert.deepEqual(sockets.map((x) => x.path), ['/ws/chat']);
      assert.deepEqual(sockets[0].sends.map((m) => m.text), ['hi', 'there']);
      for (const m of sockets[0].sends) assert.ok(m.at >= 0 && m.at < 5, JSON.stringify(m));

      // One user replays the whole file: each request and WebSocket message the browser sent
      // the app, once; the socket stays open until its recorded replies came back.
      const cdnBefore = cdnHits.length;
      const beforeReplay = await seen();
      const r = heavySync(['replay', harFile, '--root', root, '--target', origin, '--users', '1', '--json'], root, env);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout) as { requests: number; errors: number; websocketMessages: number; endpoints: { endpoint: string; requests: number }[] };
      assert.equal(report.errors, 0, r.stdout);
      assert.equal(report.websocketMessages, sends);
      const { 'WS /ws/chat': _ws, ...httpSent } = sent;
      const replayed = Object.fromEntries(report.endpoints.map((e) => [e.endpoint, e.requests]));
      assert.deepEqual(replayed, byEndpoint(httpSent), 'per endpoint, replay sent what the browser sent to the app');
      // The app received the same again (the redirect's second hop once, not twice); nothing went to the CDN.
      await waitFor(async () => (receivedBetween(beforeReplay, await seen())['WS /ws/chat'] ?? 0) >= sends, 20000, 'the replayed WebSocket messages').catch(async (err: Error) => {
        throw new Error(`${err.message}: the app saw ${JSON.stringify(receivedBetween(beforeReplay, await seen()))}\n${app.output().slice(-2000)}`);
      });
      assert.deepEqual(receivedBetween(beforeReplay, await seen()), sent);
      assert.equal(cdnHits.length, cdnBefore);
      // What was left out is one line, naming the other hosts.
      const notes = r.stderr.split('\n').filter((l) => /left out/.test(l));
      assert.equal(notes.length, 1, r.stderr);
      const otherEntries = entries.filter((e) => urlOf(e).host !== new URL(origin).host).length;
      assert.match(notes[0], new RegExp(`chromium-${mode}\\.har: left out ${otherEntries + 1} of ${entries.length} entries: ${otherEntries} to other origins than ${origin.replace(/\./g, '\\.')} \\((cdn\\.example\\.com, fonts\\.example\\.net|fonts\\.example\\.net, cdn\\.example\\.com)\\), 1 answered by the browser's cache$`));

      // Only Chromium's failed requests: nothing reached any server, said in one line (exit 2).
      const failed = path.join(root, `chromium-${mode}-failed.har`);
      fs.writeFileSync(failed, JSON.stringify({ log: { ...doc.log, entries: entries.filter((e) => e.response.status === -1) } }));
      const none = heavySync(['replay', failed, '--root', root, '--target', origin], root, env);
      assert.equal(none.code, 2, none.stdout + none.stderr);
      assert.equal(none.stderr.trim().split('\n').length, 1, none.stderr);
      assert.match(none.stderr, /chromium-\w+-failed\.har: nothing to replay: all 2 entries left out: 2 that got no response\n$/);
    });
  }

  it('content "omit": the form body comes back from its params, the JSON body is named as missing', async () => {
    const harFile = path.join(root, 'chromium-omit.har');
    await browse(harFile, { mode: 'full', content: 'omit' });
    const doc = JSON.parse(fs.readFileSync(harFile, 'utf8')) as Har;
    const posts = doc.log.entries.filter((e) => e.request.method === 'POST');
    // As Playwright writes it: no text, the form's params kept.
    assert.deepEqual(posts.map((e) => e.request.postData?.text), ['', '']);
    const outDir = path.join(root, 'export-omit');
    const r = heavySync(['replay', harFile, '--root', root, '--target', origin, '--export', 'artillery', '--out', outDir], root, env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /chromium-omit\.har: left out .*; 1 request body is not in the file \(exported without content\) and will be sent empty\n/);
    assert.equal(r.stderr.split('\n').filter((l) => /left out/.test(l)).length, 1, r.stderr);
    const flow = (JSON.parse(fs.readFileSync(path.join(outDir, 'load.yml'), 'utf8')) as { scenarios: { flow: Record<string, { url?: string; body?: string }>[] }[] }).scenarios[0].flow;
    assert.equal(flow.find((step) => step.post?.url === '/feedback')!.post.body, 'text=nice+app&stars=5');
    assert.equal(flow.find((step) => step.post?.url === '/notes')!.post.body, undefined);
  });
});
