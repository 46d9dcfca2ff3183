import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

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
