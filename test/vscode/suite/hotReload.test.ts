import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { folder, freePort, listening, sleep, until } from '../support';

/** Live (non-zombie) processes whose command line names heavy_serve.py and this port. */
function serverProcesses(port: number): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (/^\S+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) continue;
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes('heavy_serve') && cmd.includes(`--port ${port}`)) found.push(`${pid}: ${cmd}`);
    } catch { /* gone meanwhile */ }
  }
  return found;
}

/** GET /hello, retried until the server accepts the connection; the request that gets in may park at a breakpoint. */
async function hello(port: number): Promise<Response> {
  for (let i = 0; i < 600; i++) {
    try {
      return await fetch(`http://127.0.0.1:${port}/hello`);
    } catch {
      await sleep(300);
    }
  }
  throw new Error('the server never answered');
}

describe('Hot Reload Server under the debugger', () => {
  it('hits a breakpoint in a route, and again at the right line in the reloaded code after edits on disk and in the editor; replaced children leave the Call Stack', async function () {
    this.timeout(300000);
    const mainPy = path.join(folder().uri.fsPath, 'app', 'main.py');
    const original = fs.readFileSync(mainPy, 'utf8');
    const lines = original.split('\n');
    const line = lines.findIndex((l) => l.includes('message = greeting()'));
    assert.ok(line > 0, 'the handler line exists');
    const returnLine = lines.findIndex((l) => l.includes('return {"message": message}'));
    assert.equal(returnLine, line + 1, 'the handler returns right after computing the message');

    // Every DAP message of every session (the server's and each forked child's) goes through here.
    const transcript: string[] = [];
    const output: string[] = [];
    const stops: { session: vscode.DebugSession; body: any }[] = [];
    const tracker = vscode.debug.registerDebugAdapterTrackerFactory('heavy', {
      createDebugAdapterTracker: (session) => ({
        onWillReceiveMessage: (m) => { if (m.command === 'setBreakpoints') transcript.push(`[${session.name}] -> ${JSON.stringify(m.arguments?.breakpoints)}\n`); },
        onDidSendMessage: (m) => {
          if (m.type === 'response' && m.command === 'setBreakpoints') transcript.push(`[${session.name}] <- ${JSON.stringify(m.body).slice(0, 400)}\n`);
          if (m.type === 'event' && m.event === 'output') { output.push(m.body.output); transcript.push(m.body.output); }
          else if (m.type === 'event' || (m.type === 'response' && !m.success)) transcript.push(`[${session.name}] ${JSON.stringify(m).slice(0, 300)}\n`);
          if (m.type === 'event' && m.event === 'stopped' && m.body?.reason === 'breakpoint') stops.push({ session, body: m.body });
        },
        onError: (e) => transcript.push(`adapter error: ${e}\n`),
        onExit: (code) => transcript.push(`adapter exit ${code}\n`),
      }),
    });
    const log = () => transcript.join('');
    let bp = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(mainPy), new vscode.Position(line, 0)));
    vscode.debug.addBreakpoints([bp]);
    const port = await freePort();
    let root: vscode.DebugSession | undefined;
    const onStart = vscode.debug.onDidStartDebugSession((s) => { if (!s.parentSession && s.name === 'Hot Reload Server') root = s; });
    // Child sessions still open: a replaced child's session must end, or the Call Stack view piles up stale processes.
    const live = new Set<vscode.DebugSession>();
    const onChild = vscode.debug.onDidStartDebugSession((s) => { if (s.parentSession) live.add(s); });
    const onChildEnd = vscode.debug.onDidTerminateDebugSession((s) => { live.delete(s); });
    const stoppedIn: vscode.DebugSession[] = [];

    /** One request that parks at the breakpoint: checks the stop, continues, returns the response body. */
    async function round(n: number, expectedLine: number): Promise<unknown> {
      const before = stops.length;
      const response = hello(port);
      await until(`round ${n}: the breakpoint to be hit`, 120000, () => stops.length > before, log);
      const { session, body } = stops[stops.length - 1];
      stoppedIn.push(session);
      const trace = await session.customRequest('stackTrace', { threadId: body.threadId, startFrame: 0, levels: 1 });
      const top = trace.stackFrames[0];
      await session.customRequest('continue', { threadId: body.threadId });
      const res = await response;
      assert.equal(res.status, 200);
      const json = await res.json();
      const where = `round ${n}: stopped in ${top.name} at line ${top.line}, answered ${JSON.stringify(json)}`;
      assert.equal(top.name, 'hello', where);
      assert.equal(top.line, expectedLine + 1, `${where}; the breakpoint is at line ${expectedLine + 1}\n${transcript.filter((t) => /reakpoint|reloaded in|stopped/.test(t)).join('')}`);
      assert.ok(String(top.source.path).endsWith(mainPy), `${top.source.path} is ${mainPy}`);
      return json;
    }

    try {
      const started = await vscode.debug.startDebugging(folder(), {
        type: 'heavy', request: 'launch', name: 'Hot Reload Server', profile: 'hot-reload-server', port, console: 'internalConsole',
      });
      assert.ok(started, 'the debug session started');
      assert.deepEqual(await round(1, line), { message: 'Hello from .env' });

      // An edit written to disk (a formatter, git checkout) that keeps the breakpoint's line.
      let reloadsBefore = output.join('').split('reloaded in').length;
      const edited = original.replace('    return {"message": message}', '    return {"message": message + " (reloaded)"}');
      assert.notEqual(edited, original, 'the edit applies');
      fs.writeFileSync(mainPy, edited);
      await until('the reload line', 120000, () => output.join('').split('reloaded in').length > reloadsBefore, log);
      assert.deepEqual(await round(2, line), { message: 'Hello from .env (reloaded)' });

      // An edit in the editor that moves the route two lines down: VS Code moves the breakpoint
      // with the text and, on save, sends it to every session, so the next child stops there.
      reloadsBefore = output.join('').split('reloaded in').length;
      const doc = await vscode.workspace.openTextDocument(mainPy);
      const editor = await vscode.window.showTextDocument(doc);
      const decorator = doc.getText().split('\n').findIndex((l) => l.startsWith('@app.get("/hello")'));
      const returnAt = doc.getText().split('\n').findIndex((l) => l.includes('(reloaded)'));
      assert.ok(await editor.edit((b) => {
        b.insert(new vscode.Position(decorator, 0), '# moved down\n# by two lines\n');
        b.replace(doc.lineAt(returnAt).range, '    return {"message": message + " (moved)"}');
      }), 'the editor applies the edit');
      assert.ok(await doc.save(), 'the document saves');
      const moved = vscode.debug.breakpoints.find((b) => b instanceof vscode.SourceBreakpoint && b.location.uri.fsPath === mainPy) as vscode.SourceBreakpoint;
      assert.equal(moved?.location.range.start.line, line + 2, 'VS Code moved the breakpoint with the text');
      bp = moved;
      await until('the reload line', 120000, () => output.join('').split('reloaded in').length > reloadsBefore, log);
      assert.deepEqual(await round(3, line + 2), { message: 'Hello from .env (moved)' });
      assert.equal(new Set(stoppedIn).size, 3, 'each round stopped in a new child\'s session');
      await until('the replaced children\'s sessions to end', 20000, () => !live.has(stoppedIn[0]) && !live.has(stoppedIn[1]),
        () => `still open: ${[...live].map((s) => s.name).join(', ')}`);
      assert.ok(live.has(stoppedIn[2]), 'the serving child\'s session stays');

      assert.ok(root, 'the Hot Reload Server session was seen');
      const ended = new Promise<void>((resolve) => {
        const d = vscode.debug.onDidTerminateDebugSession((s) => { if (s === root) { d.dispose(); resolve(); } });
      });
      await vscode.debug.stopDebugging(root);
      await Promise.race([ended, sleep(30000).then(() => { throw new Error(`the session did not end\n${log()}`); })]);
      // Nothing of the server is left: no process, and nobody listens on its port.
      await until('the server processes to exit', 20000, async () => serverProcesses(port).length === 0 && !(await listening(port)),
        () => `${serverProcesses(port).join('\n')}\n${log()}`);
    } finally {
      onStart.dispose();
      onChild.dispose();
      onChildEnd.dispose();
      tracker.dispose();
      vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      fs.writeFileSync(mainPy, original);
      if (vscode.debug.activeDebugSession) await vscode.debug.stopDebugging();
    }
  });
});
