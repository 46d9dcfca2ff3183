import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { folder, freePort, sleep, until } from '../support';

// Heavy: Replay Recording runs the CLI's own `heavy replay --json --html` on Artillery, which
// comes from test/record/engine (the record tests npm ci it on first use); skipped without it.
const ENGINE_BIN = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'record', 'engine', 'node_modules', '.bin');

function har(base: string): unknown {
  const t0 = Date.now() - 10000;
  const entry = (i: number, url: string) => ({
    startedDateTime: new Date(t0 + i * 50).toISOString(),
    time: 5,
    _session: '1',
    request: { method: 'GET', url: `${base}${url}`, httpVersion: 'HTTP/1.1', headers: [], queryString: [], cookies: [], headersSize: -1, bodySize: 0 },
    response: { status: 200, statusText: 'OK', httpVersion: 'HTTP/1.1', headers: [], cookies: [], content: { size: 0, mimeType: 'application/json' }, redirectURL: '', headersSize: -1, bodySize: 0 },
    cache: {},
    timings: { send: 0, wait: 5, receive: 0 },
  });
  return { log: { version: '1.2', creator: { name: 'test', version: '1' }, entries: [entry(0, '/hello'), entry(1, '/hello'), entry(2, '/hello')] } };
}

function findReplayTab(): vscode.Tab | undefined {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs)
    .find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('heavy.replayReport'));
}

async function replayTab(timeoutMs: number): Promise<vscode.Tab | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let tab = findReplayTab(); ; tab = findReplayTab()) {
    if (tab || Date.now() > deadline) return tab;
    await new Promise<void>((resolve) => {
      const sub = vscode.window.tabGroups.onDidChangeTabs(() => { sub.dispose(); resolve(); });
      setTimeout(() => { sub.dispose(); resolve(); }, 250);
    });
  }
}

describe('Record and replay', function () {
  this.timeout(180000);

  it('Heavy: Replay Recording replays a .har on Artillery and reports requests, errors and p95 with an HTML report', async function () {
    if (!fs.existsSync(path.join(ENGINE_BIN, 'artillery'))) this.skip();
    const root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const dir = path.join(root, '.heavy', 'recordings');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'replay-command-test.har');
    fs.writeFileSync(file, JSON.stringify(har('http://127.0.0.1:8000')));
    const savedPath = process.env.PATH;
    process.env.PATH = `${ENGINE_BIN}${path.delimiter}${savedPath ?? ''}`;
    try {
      const r = await vscode.commands.executeCommand<{ ok: boolean; message: string; summary: { requests: number; errors: number }; html: string; webviewHtml?: string }>(
        'heavy.replayRecording', { file, users: 2, duration: 0 });
      assert.equal(r.ok, true, r.message);
      assert.equal(r.summary.requests, 6);
      assert.equal(r.summary.errors, 0);
      assert.match(r.message, /^Replayed replay-command-test\.har with 2 user\(s\): 6 requests \(.*\/s\), 0 errors \(0\.00%\), p95 [\d.]+ ms\.$/);
      assert.match(fs.readFileSync(r.html, 'utf8'), /<svg class="chart"/);
      // The report is open in a webview, with its charts and the route's row.
      // The tab model reaches the extension host after the panel is created, so wait for it.
      const tab = await replayTab(10000);
      assert.ok(tab, 'no replay report webview is open');
      assert.equal(tab.label, 'Replay: replay-command-test.har');
      assert.match(r.webviewHtml ?? '', /<svg class="chart"[\s\S]*<td>GET \/hello<\/td><td>6<\/td>/);
      assert.match(r.webviewHtml ?? '', /Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'nonce-/);
    } finally {
      process.env.PATH = savedPath;
      fs.rmSync(file, { force: true });
    }
  });

  it('from the palette: picks the newest recording, takes the default users and duration, and replays it', async function () {
    if (!fs.existsSync(path.join(ENGINE_BIN, 'artillery'))) this.skip();
    const root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const dir = path.join(root, '.heavy', 'recordings');
    fs.mkdirSync(dir, { recursive: true });
    const older = path.join(dir, 'picker-older.har');
    const newer = path.join(dir, 'picker-newer.har');
    fs.writeFileSync(older, JSON.stringify(har('http://127.0.0.1:8000')));
    const two = har('http://127.0.0.1:8000') as { log: { entries: unknown[] } };
    two.log.entries = two.log.entries.slice(0, 2);
    fs.writeFileSync(newer, JSON.stringify(two));
    // Newest first: every other recording here is older than this one.
    const past = new Date(Date.now() - 3600000);
    for (const n of fs.readdirSync(dir)) if (n.endsWith('.har') && n !== 'picker-newer.har') fs.utimesSync(path.join(dir, n), past, past);
    const savedPath = process.env.PATH;
    process.env.PATH = `${ENGINE_BIN}${path.delimiter}${savedPath ?? ''}`;
    try {
      // A report webview from an earlier replay would hold the focus the quick pick needs.
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      let outcome: { ok: boolean; message: string } | undefined;
      const done = Promise.resolve(vscode.commands.executeCommand<{ ok: boolean; message: string }>('heavy.replayRecording')).then((r) => { outcome = r; });
      // The quick pick (recordings), then the two input boxes (users "1", duration "0"): Enter on each, as a user would.
      for (let i = 0; !outcome && i < 600; i++) {
        await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
        await sleep(300);
      }
      await done;
      assert.ok(outcome, 'the command finished');
      assert.equal(outcome.ok, true, outcome.message);
      assert.match(outcome.message, /^Replayed picker-newer\.har with 1 user\(s\): 2 requests /);
    } finally {
      process.env.PATH = savedPath;
      fs.rmSync(older, { force: true });
      fs.rmSync(newer, { force: true });
    }
  });

  it('a redacted credential with no configured value: the one line naming the key to set, and no load', async function () {
    if (!fs.existsSync(path.join(ENGINE_BIN, 'artillery'))) this.skip();
    const root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const file = path.join(root, '.heavy', 'recordings', 'replay-credentials-test.har');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const doc = har('http://127.0.0.1:8000') as { log: { entries: { request: { headers: { name: string; value: string }[] } }[] } };
    doc.log.entries[1].request.headers.push({ name: 'authorization', value: '__heavy_redacted__' });
    fs.writeFileSync(file, JSON.stringify(doc));
    const savedPath = process.env.PATH;
    process.env.PATH = `${ENGINE_BIN}${path.delimiter}${savedPath ?? ''}`;
    try {
      const r = await vscode.commands.executeCommand<{ ok: boolean; message: string; summary?: unknown }>('heavy.replayRecording', { file, users: 1, duration: 0 });
      assert.equal(r.ok, false);
      assert.equal(r.summary, undefined);
      assert.match(r.message, /the Authorization header \(GET \/hello, request 2 of session 1\): set headers\.Authorization .* in \[tool\.heavy\.record\.credentials\]$/);
    } finally {
      process.env.PATH = savedPath;
      fs.rmSync(file, { force: true });
    }
  });
});

describe('Record Traffic under the debugger', () => {
  it('stops at a breakpoint in a route for a request through the recording proxy, and stopping the session writes the HAR', async function () {
    this.timeout(300000);
    const root = folder().uri.fsPath;
    const mainPy = path.join(root, 'app', 'main.py');
    const line = fs.readFileSync(mainPy, 'utf8').split('\n').findIndex((l) => l.includes('message = greeting()'));
    assert.ok(line > 0, 'the handler line exists');
    const recordings = path.join(root, '.heavy', 'recordings');
    const before = new Set(fs.existsSync(recordings) ? fs.readdirSync(recordings) : []);
    const transcript: string[] = [];
    const stops: { session: vscode.DebugSession; body: { threadId: number } }[] = [];
    const tracker = vscode.debug.registerDebugAdapterTrackerFactory('heavy', {
      createDebugAdapterTracker: (session) => ({
        onDidSendMessage: (m) => {
          if (m.type === 'event' && m.event === 'output') transcript.push(m.body.output);
          if (m.type === 'event' && m.event === 'stopped' && m.body?.reason === 'breakpoint') stops.push({ session, body: m.body });
        },
      }),
    });
    const log = () => transcript.join('');
    const bp = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(mainPy), new vscode.Position(line, 0)));
    vscode.debug.addBreakpoints([bp]);
    let top: vscode.DebugSession | undefined;
    const onStart = vscode.debug.onDidStartDebugSession((s) => { if (!s.parentSession) top = s; });
    const port = await freePort();
    try {
      assert.ok(await vscode.debug.startDebugging(folder(), {
        type: 'heavy', request: 'launch', name: 'Record Traffic', profile: 'record-traffic', port, console: 'internalConsole',
      }), 'the debug session started');
      // The proxy listens on the profile's port once the app answers behind it; the request
      // that gets through parks at the breakpoint in the app.
      const response = (async () => {
        for (let i = 0; i < 600; i++) {
          try {
            return await fetch(`http://127.0.0.1:${port}/hello`);
          } catch {
            await sleep(300);
          }
        }
        throw new Error(`the proxy never answered\n${log()}`);
      })();
      await until('the breakpoint to be hit', 180000, () => stops.length > 0, log);
      const { session, body } = stops[0];
      const frame = (await session.customRequest('stackTrace', { threadId: body.threadId, startFrame: 0, levels: 1 })).stackFrames[0];
      assert.equal(frame.name, 'hello');
      assert.equal(frame.line, line + 1);
      await session.customRequest('continue', { threadId: body.threadId });
      const res = await response;
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { message: 'Hello from .env' });
      assert.ok(top, 'the Record Traffic session was seen');
      await vscode.debug.stopDebugging(top);
      // The recorder sees the app go and writes the file.
      const file = await until('the recording to be written', 60000, () => {
        const found = (fs.existsSync(recordings) ? fs.readdirSync(recordings) : []).filter((n) => n.endsWith('.har') && !before.has(n));
        const done = found.find((n) => !fs.existsSync(path.join(recordings, `${n}.journal`)));
        return done ? path.join(recordings, done) : undefined;
      }, log);
      const har = JSON.parse(fs.readFileSync(file, 'utf8')) as { log: { entries: { request: { url: string }; response: { status: number } }[] } };
      const hello = har.log.entries.filter((e) => new URL(e.request.url).pathname === '/hello');
      assert.equal(hello.length, 1, JSON.stringify(har.log.entries.map((e) => e.request.url)));
      assert.equal(hello[0].response.status, 200);
      fs.rmSync(file, { force: true });
    } finally {
      onStart.dispose();
      tracker.dispose();
      vscode.debug.removeBreakpoints([bp]);
      if (vscode.debug.activeDebugSession) await vscode.debug.stopDebugging();
    }
  });
});
