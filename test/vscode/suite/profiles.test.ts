import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'jsonc-parser';
import * as vscode from 'vscode';
import type { HeavyApi } from '../../../extension/extension';
import { EXTENSION_ID, api, folder, freePort } from '../support';

const PROFILES = ['hot-reload-server', 'run-server', 'record-traffic', 'test-daemon', 'pave-db', 'create-and-test-migrations'];

function waitFor<T>(what: string, ms: number, register: (done: (v: T) => void) => vscode.Disposable | void): Promise<T> {
  return new Promise((resolve, reject) => {
    let disposable: vscode.Disposable | void;
    const timer = setTimeout(() => { disposable?.dispose(); reject(new Error(`timed out waiting for ${what}`)); }, ms);
    disposable = register((v) => { clearTimeout(timer); disposable?.dispose(); resolve(v); });
  });
}

describe('Run and Debug profiles', () => {
  it('activates in the example project and lists the six profiles with no launch.json', async () => {
    assert.ok(!fs.existsSync(path.join(folder().uri.fsPath, '.vscode', 'launch.json')), 'no launch.json to start with');
    const configs = await (await api()).profiles.dynamicConfigurations(folder());
    assert.deepEqual(configs.map((c) => c.profile), PROFILES);
    for (const c of configs) {
      assert.equal(c.type, 'heavy');
      assert.equal(c.request, 'launch');
      assert.ok(c.name);
    }
  });

  it('stops at a breakpoint in a route handler when Run Server gets a request', async () => {
    const root = folder().uri.fsPath;
    const mainPy = path.join(root, 'app', 'main.py');
    const line = fs.readFileSync(mainPy, 'utf8').split('\n').findIndex((l) => l.includes('message = greeting()'));
    assert.ok(line > 0, 'the handler line exists');
    const bp = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(mainPy), new vscode.Position(line, 0)));
    vscode.debug.addBreakpoints([bp]);

    const transcript: string[] = [];
    const stopped = waitFor<{ session: vscode.DebugSession; body: any }>('the breakpoint to be hit', 90000, (done) =>
      vscode.debug.registerDebugAdapterTrackerFactory('heavy', {
        createDebugAdapterTracker: (session) => ({
          onDidSendMessage: (m) => {
            if (m.type === 'event' && m.event === 'output') transcript.push(m.body.output);
            else if (m.type === 'event' || (m.type === 'response' && !m.success)) transcript.push(JSON.stringify(m).slice(0, 300));
            if (m.type === 'event' && m.event === 'stopped' && m.body?.reason === 'breakpoint') done({ session, body: m.body });
          },
          onError: (e) => transcript.push(`adapter error: ${e}`),
          onExit: (code) => transcript.push(`adapter exit ${code}`),
        }),
      })).catch((err) => { throw new Error(`${err.message}\n--- debug transcript ---\n${transcript.join('')}`); });
    const port = await freePort();
    const started = await vscode.debug.startDebugging(folder(), {
      type: 'heavy', request: 'launch', name: 'Run Server', profile: 'run-server', port, console: 'internalConsole',
    });
    assert.ok(started, 'the debug session started');

    // Keep knocking until uvicorn listens; the request that gets through parks at the breakpoint.
    const response = (async () => {
      for (let i = 0; i < 300; i++) {
        try {
          return await fetch(`http://127.0.0.1:${port}/hello`);
        } catch {
          await new Promise((r) => setTimeout(r, 300));
        }
      }
      throw new Error('the server never answered');
    })();
    const { session, body } = await stopped;
    const trace = await session.customRequest('stackTrace', { threadId: body.threadId, startFrame: 0, levels: 1 });
    const top = trace.stackFrames[0];
    assert.equal(top.name, 'hello');
    assert.equal(top.line, line + 1);
    // In a remote window VS Code shows the path as a vscode-remote URI; the file is what matters.
    assert.ok(String(top.source.path).endsWith(mainPy), `${top.source.path} is ${mainPy}`);

    await vscode.commands.executeCommand('workbench.action.debug.continue');
    const res = await response;
    assert.equal(res.status, 200);
    // The greeting comes from the project's .env, which every profile loads.
    assert.deepEqual(await res.json(), { message: 'Hello from .env' });
    const ended = waitFor('the session to end', 30000, (done) => vscode.debug.onDidTerminateDebugSession(() => done(undefined)));
    await vscode.debug.stopDebugging(session);
    await ended;
    vscode.debug.removeBreakpoints([bp]);
  });

  it('Add Profiles to launch.json keeps the user\'s entries and comments and never duplicates', async () => {
    const root = folder().uri.fsPath;
    const launchPath = path.join(root, '.vscode', 'launch.json');
    fs.mkdirSync(path.dirname(launchPath), { recursive: true });
    fs.writeFileSync(launchPath, `{
    // my own entry, keep it
    "version": "0.2.0",
    "configurations": [
        { "name": "My Script", "type": "heavy", "request": "launch", "program": "scripts/seed.py" },
    ]
}
`);
    await vscode.commands.executeCommand('heavy.addProfilesToLaunchJson');
    const first = fs.readFileSync(launchPath, 'utf8');
    assert.match(first, /\/\/ my own entry, keep it/);
    const doc = parse(first, [], { allowTrailingComma: true });
    assert.deepEqual(doc.configurations.map((c: any) => c.name),
      ['My Script', 'Hot Reload Server', 'Run Server', 'Record Traffic', 'Test Daemon', 'Pave DB', 'Create and Test Migrations']);

    // Every entry is valid against the schema the extension contributes for launch.json.
    const manifest = JSON.parse(fs.readFileSync(path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'package.json'), 'utf8'));
    const schema = manifest.contributes.debuggers[0].configurationAttributes.launch;
    const validate = new Ajv({ strict: false }).compile({ ...schema, required: ['name', 'type', 'request'] });
    for (const entry of doc.configurations) assert.ok(validate(entry), `${entry.name}: ${JSON.stringify(validate.errors)}`);

    for (const entry of doc.configurations.slice(1)) assert.ok(PROFILES.includes(entry.profile), entry.name);

    await vscode.commands.executeCommand('heavy.addProfilesToLaunchJson');
    assert.equal(fs.readFileSync(launchPath, 'utf8'), first, 'a second run changes nothing');
  });
});

describe('Database profiles under the debugger', () => {
  it('Pave DB stops at a breakpoint in the seed script and paves the dev database', async () => {
    const root = folder().uri.fsPath;
    const seed = path.join(root, 'scripts', 'seed.py');
    const line = fs.readFileSync(seed, 'utf8').split('\n').findIndex((l) => l.includes('print("seeded'));
    assert.ok(line > 0);
    const bp = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(seed), new vscode.Position(line, 0)));
    vscode.debug.addBreakpoints([bp]);
    const transcript: string[] = [];
    const stopped = waitFor<{ session: vscode.DebugSession; body: any }>('the seed breakpoint', 90000, (done) =>
      vscode.debug.registerDebugAdapterTrackerFactory('heavy', {
        createDebugAdapterTracker: (session) => ({
          onDidSendMessage: (m) => {
            if (m.type === 'event' && m.event === 'output') transcript.push(m.body.output);
            if (m.type === 'event' && m.event === 'stopped' && m.body?.reason === 'breakpoint') done({ session, body: m.body });
          },
        }),
      })).catch((err) => { throw new Error(`${err.message}\n--- debug transcript ---\n${transcript.join('')}`); });
    const dbFile = path.join(root, 'dev.db');
    fs.rmSync(dbFile, { force: true });
    assert.ok(await vscode.debug.startDebugging(folder(), {
      type: 'heavy', request: 'launch', name: 'Pave DB', profile: 'pave-db', skipConfirm: true, console: 'internalConsole',
    }));
    const { session, body } = await stopped;
    transcript.push('[stopped]');
    const trace = await session.customRequest('stackTrace', { threadId: body.threadId, startFrame: 0, levels: 1 });
    transcript.push('[trace]');
    assert.equal(trace.stackFrames[0].name, 'main');
    assert.equal(trace.stackFrames[0].line, line + 1);
    assert.ok(String(trace.stackFrames[0].source.path).endsWith(seed));
    // Paved before seeding: the tables exist while the seed is paused.
    assert.ok(fs.existsSync(dbFile), 'the dev database was created');
    vscode.debug.removeBreakpoints([bp]);
    const ended = waitFor('Pave DB to finish', 60000, (done) => vscode.debug.onDidTerminateDebugSession((s) => { if (s.name === 'Pave DB' && !s.parentSession) done(undefined); }));
    await session.customRequest('continue', { threadId: body.threadId });
    transcript.push('[continued]');
    await ended.catch((err) => { throw new Error(`${err.message}\n${transcript.join('')}`); });
    assert.match(transcript.join(''), /paved sqlite:\/\/\/\.\/dev\.db: dropped and created 2 tables/);
  });
});
