import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { copyExample, EXAMPLE, heavySync, waitFor } from '../helpers/project';
import { freePort, get, processesMentioning, processGroup, serve, stop, type Served, greetingEditor } from './helpers';

// The plain-restart paths of heavy serve: platforms without fork() (Windows), and any other
// server through [tool.heavy.serve] command = [...]. Both restart the server process on each
// save, so there is no previous version to keep: a broken save says the server exited, and the
// next save starts it again.

const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern.source, 'g')) ?? []).length;

/** A folder whose sitecustomize.py removes os.fork, so that Python here is as Python on Windows. */
function withoutFork(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-nofork-'));
  fs.writeFileSync(path.join(dir, 'sitecustomize.py'), 'import os\n\ndel os.fork  # as on Windows, where heavy serve cannot fork\n');
  return dir;
}

/** `heavy serve` with extra environment for the engine (the helper takes the environment at spawn). */
async function serveWith(env: Record<string, string>, root: string, args: string[], port?: number): Promise<Served> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await serve(root, args, port);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('heavy serve without fork() (Windows): a plain restart per save', function () {
  this.timeout(120000);
  let root: string;
  let server: Served;
  let mainPy: string;
  let original: string;
  let restarts = 0;
  const notice = /fork\(\) is not available on this platform: each save restarts the server process/;
  const setGreeting = (value: string) => greetingEditor(mainPy, () => original)(value);

  before(async () => {
    root = copyExample();
    mainPy = path.join(root, 'app', 'main.py');
    original = fs.readFileSync(mainPy, 'utf8');
    server = await serveWith({ PYTHONPATH: withoutFork() }, root, ['serve']);
    await server.waitOutput(/serving app\.main:app on http:\/\/127\.0\.0\.1:\d+ \(restarted on each save\)/, 1, 60000);
  });

  after(async () => {
    if (server) await stop(server);
  });

  it('says once that it cannot fork, and each save serves the new code', async () => {
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'Hello from .env' });
    for (const value of ['first', 'second', 'third']) {
      setGreeting(value);
      await server.waitOutput(/restarted in \d+ ms \(app\/main\.py\)/, ++restarts);
      assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: value });
    }
    assert.equal(count(server.output(), notice), 1, server.output());
    // No warm parent: the fork engine's own lines never appear.
    assert.doesNotMatch(server.output(), /reloaded in|warm parent/);
  });

  it('a syntax error: the server exited, said once; the fix starts it again', async () => {
    const logic = path.join(root, 'app', 'logic.py');
    const good = fs.readFileSync(logic, 'utf8');
    fs.writeFileSync(logic, good + '\ndef broken(:\n');
    await server.waitOutput(/the server exited with code 1; it starts again on the next save/);
    assert.match(server.output(), /SyntaxError/);
    await assert.rejects(get(server.port, '/hello'));  // nothing serves until the next save
    fs.writeFileSync(logic, good);
    await server.waitOutput(/restarted in \d+ ms \(app\/logic\.py\)/, 1);
    restarts++;
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'third' });
    // Not restarted over and over while it was broken: one exit line, and the one restart for the fix.
    assert.equal(count(server.output(), /the server exited/), 1, server.output());
  });

  it('a burst of saves (a checkout) gives one restart', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 5; i++) files[path.join(root, 'app', `burst${i}.py`)] = `VALUE = ${i}\n`;
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(file, text);
    setGreeting('after the burst');
    await server.waitOutput(/restarted in \d+ ms \(app\/burst0\.py and 5 more\)/);
    restarts++;
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'after the burst' });
    // One more save, then exactly one restart line more: the burst did not cause a second one.
    fs.writeFileSync(path.join(root, 'app', 'marker.py'), 'X = 1\n');
    await server.waitOutput(/restarted in \d+ ms \(app\/marker\.py\)/);
    restarts++;
    assert.equal(count(server.output(), /restarted in/), restarts, server.output());
  });

  it('Ctrl+C leaves no process behind', async () => {
    assert.ok(processesMentioning(root).length >= 2, processesMentioning(root).join('\n'));
    server.ctrlC();
    assert.equal(await server.exited, 0);
    await waitFor(() => processesMentioning(root).length === 0 && processGroup(server.child.pid!).length === 0, 10000,
      `no process left: ${processesMentioning(root).join('\n')}`);
  });
});

// A server heavy serve knows nothing about: a plain http.server script reading VALUE from a
// module. It starts two helpers, as dev servers start workers and watchers: one in its process
// group that ignores SIGTERM, one that left for a session of its own (a daemon).
const SERVER_PY = [
  'import http.server',
  'import os',
  'import signal',
  'import subprocess',
  'import sys',
  'import time',
  '',
  'import value',
  '',
  '# Takes a moment to stop, as a server finishing its requests does.',
  'def stopping(*_):',
  '    print("stopping", value.VALUE, flush=True)',
  '    time.sleep(0.3)',
  '    sys.exit(0)',
  '',
  'signal.signal(signal.SIGTERM, stopping)',
  'listen = next(a for a in sys.argv if a.startswith("--listen="))[len("--listen="):]',
  'host, port = listen.rsplit(":", 1)',
  'stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"',
  'subprocess.Popen([sys.executable, "-c", stubborn, "worker-of", os.getcwd()])',
  'subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "daemon-of", os.getcwd()], start_new_session=True)',
  '',
  'class Handler(http.server.BaseHTTPRequestHandler):',
  '    def do_GET(self):',
  '        body = value.VALUE.encode()',
  '        self.send_response(200)',
  '        self.send_header("Content-Length", str(len(body)))',
  '        self.end_headers()',
  '        self.wfile.write(body)',
  '',
  'print("plain server on", listen, "args", sys.argv[1:], flush=True)',
  'http.server.HTTPServer((host, int(port)), Handler).serve_forever()',
  '',
].join('\n');

function commandProject(serveTable: string): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-command-'));
  fs.symlinkSync(path.join(EXAMPLE, '.venv'), path.join(root, '.venv'));
  // No [tool.heavy] app: the command is all heavy serve needs.
  fs.writeFileSync(path.join(root, 'pyproject.toml'), `[project]\nname = "plain"\nversion = "0.1.0"\n\n[tool.heavy.serve]\n${serveTable}`);
  fs.writeFileSync(path.join(root, 'server.py'), SERVER_PY);
  fs.writeFileSync(path.join(root, 'value.py'), 'VALUE = "v1"\n');
  return root;
}

const COMMAND = 'command = ["${python}", "server.py", "--listen=${host}:${port}"]\nshutdown_timeout = 2\n';

describe('heavy serve with [tool.heavy.serve] command: any other server, restarted per save', function () {
  this.timeout(120000);
  let root: string;
  let server: Served;

  before(async () => {
    root = commandProject(`${COMMAND}args = ["--extra-arg"]\n`);
    server = await serve(root, ['serve']);
    await server.waitOutput(/serving python server\.py --listen=127\.0\.0\.1:\d+ --extra-arg on http:\/\/127\.0\.0\.1:\d+ \(restarted on each save\)/, 1, 60000);
  });

  after(async () => {
    if (server) await stop(server);
  });

  const helpers = () => processesMentioning(root).filter((p) => /(worker|daemon)-of/.test(p));

  it('runs the command as argv, placeholders filled inside arguments and [tool.heavy.serve] args appended', async () => {
    assert.match(server.output(), new RegExp(`plain server on 127\\.0\\.0\\.1:${server.port} args \\['--listen=127\\.0\\.0\\.1:${server.port}', '--extra-arg'\\]`));
    assert.equal((await get(server.port, '/')).body, 'v1');
  });

  it('a save restarts it with the new code, and the old version leaves no process behind', async () => {
    await waitFor(() => helpers().length === 2, 10000, `the two helpers of the first version: ${helpers().join('\n')}`);
    const before = helpers();
    fs.writeFileSync(path.join(root, 'value.py'), 'VALUE = "v2"\n');
    await server.waitOutput(/restarted in \d+ ms \(value\.py\)/);
    assert.equal((await get(server.port, '/')).body, 'v2');
    await waitFor(() => helpers().length === 2, 10000, `only the new version's helpers: ${helpers().join('\n')}`);
    assert.ok(helpers().every((p) => !before.includes(p)), `old helpers left: ${before.join('\n')}\nnow: ${helpers().join('\n')}`);
  });

  it('a broken save: the server exited, said once, no restart loop; the next save serves again', async () => {
    fs.writeFileSync(path.join(root, 'value.py'), 'VALUE = (\n');
    await server.waitOutput(/the server exited with code 1; it starts again on the next save/);
    await assert.rejects(get(server.port, '/'));
    fs.writeFileSync(path.join(root, 'value.py'), 'VALUE = "v3"\n');
    await server.waitOutput(/restarted in \d+ ms \(value\.py\)/, 2);
    assert.equal((await get(server.port, '/')).body, 'v3');
    assert.equal(count(server.output(), /the server exited/), 1, server.output());
    assert.equal(count(server.output(), /^heavy serve: fork\(\)/m), 0);  // that notice is for platforms without fork
  });

  it('a save made while the old version is stopping is part of the same restart', async () => {
    const restarted = count(server.output(), /restarted in/);
    fs.writeFileSync(path.join(root, 'value.py'), 'VALUE = "v4"\n');
    await server.waitOutput(/stopping v3/);
    fs.writeFileSync(path.join(root, 'other.py'), 'X = 1\n');
    await server.waitOutput(/restarted in \d+ ms \(other\.py and 1 more\)/);
    assert.equal((await get(server.port, '/')).body, 'v4');
    // And no second restart for it: the next line is this save's.
    fs.writeFileSync(path.join(root, 'marker.py'), 'X = 1\n');
    await server.waitOutput(/restarted in \d+ ms \(marker\.py\)/);
    assert.equal(count(server.output(), /restarted in/), restarted + 2, server.output());
  });

  it('a save while the new version is still starting (it hangs at import) starts it again', async () => {
    const restarted = count(server.output(), /restarted in/);
    fs.writeFileSync(path.join(root, 'value.py'), 'print("hanging at import", flush=True)\nimport time\ntime.sleep(600)\n');
    await server.waitOutput(/hanging at import/);
    fs.writeFileSync(path.join(root, 'value.py'), 'VALUE = "v5"\n');
    await server.waitOutput(/restarted in \d+ ms \(value\.py\)/, count(server.output(), /restarted in \d+ ms \(value\.py\)/) + 1);
    assert.equal((await get(server.port, '/')).body, 'v5');
    assert.equal(count(server.output(), /restarted in/), restarted + 1, server.output());  // the hung start never said it served
  });

  it('SIGHUP (the terminal closed) stops it with every process it started', async () => {
    await waitFor(() => helpers().length === 2, 10000, `helpers running: ${helpers().join('\n')}`);
    process.kill(server.child.pid!, 'SIGHUP');
    await server.exited;
    await waitFor(() => processesMentioning(root).length === 0, 10000, `no process left: ${processesMentioning(root).join('\n')}`);
  });
});

describe('heavy serve fallbacks: stopping, the port, bad input', function () {
  this.timeout(90000);

  it('Ctrl+C stops a command server and the processes it started', async () => {
    const root = commandProject(COMMAND);
    const server = await serve(root, ['serve']);
    await server.waitOutput(/serving python server\.py/, 1, 60000);
    await waitFor(() => processesMentioning(root).filter((p) => /(worker|daemon)-of/.test(p)).length === 2, 10000, 'helpers');
    server.ctrlC();
    assert.equal(await server.exited, 0);
    await waitFor(() => processesMentioning(root).length === 0 && processGroup(server.child.pid!).length === 0, 10000,
      `no process left: ${processesMentioning(root).join('\n')}`);
  });

  it('a taken port is named with the process holding it, and nothing is started', async () => {
    const root = commandProject(COMMAND);
    const port = await freePort();
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    let server: Served | undefined;
    try {
      server = await serve(root, ['serve'], port);
      const code = await server.exited;
      assert.notEqual(code, 0);
      assert.match(server.output(), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use by pid ${process.pid} \\(`));
      assert.doesNotMatch(server.output(), /serving|plain server on/);
      assert.deepEqual(processesMentioning(root), []);
    } finally {
      if (server) await stop(server);
      holder.close();
    }
  });

  it('a command that cannot run is one line', async () => {
    const root = commandProject('command = ["./no-such-server", "--port", "${port}"]\n');
    const r = heavySync(['serve', '--root', root, '--port', String(await freePort())], root);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /heavy serve: cannot run \.\/no-such-server: No such file or directory/);
    assert.doesNotMatch(r.stderr, /Traceback/);
  });

  it('Sanic not installed: one clear line, with fork and without', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-sanic-'));
    fs.symlinkSync(path.join(EXAMPLE, '.venv'), path.join(root, '.venv'));
    fs.writeFileSync(path.join(root, 'pyproject.toml'), '[project]\nname = "s"\nversion = "0.1.0"\n\n[tool.heavy]\napp = "sapp:app"\nframework = "sanic"\n');
    fs.writeFileSync(path.join(root, 'sapp.py'), 'from sanic import Sanic\n\napp = Sanic("s")\n');
    for (const env of [{}, { PYTHONPATH: withoutFork() }]) {
      const r = heavySync(['serve', '--root', root, '--port', '1'], root, env);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^heavy serve: sanic is not installed in \S+python\S*, and sapp:app needs it to be served: install it there \(pip install sanic\), or set \[tool\.heavy\.serve\] command\n$/);
    }
  });

  it('refuses a bad command naming the key', () => {
    for (const [table, message] of [
      ['command = "python server.py"\n', /"tool\.heavy\.serve\.command" must be a list/],
      ['command = []\n', /"tool\.heavy\.serve\.command" must not be empty/],
      ['command = ["python", 3]\n', /"tool\.heavy\.serve\.command\/1" must be a string|"tool\.heavy\.serve\.command\.1" must be a string/],
      ['comand = ["python", "server.py"]\n', /unknown key "tool\.heavy\.serve\.comand"/],
    ] as const) {
      const root = commandProject(table);
      const r = heavySync(['serve', '--root', root, '--port', '1'], root);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
