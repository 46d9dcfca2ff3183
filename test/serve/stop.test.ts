import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { copyExample, heavySync, waitFor, writeFiles } from '../helpers/project';
import { freePort, get, processesMentioning, processGroup, serve, stop } from './helpers';

describe('heavy serve: stopping and the port', function () {
  this.timeout(90000);

  it('Ctrl+C leaves no process behind, and the port is free at once', async () => {
    const root = copyExample();
    const server = await serve(root, ['serve']);
    await server.waitOutput(/serving app\.main:app/, 1, 60000);
    assert.equal((await get(server.port, '/hello')).status, 200);
    const servers = processesMentioning(root);
    assert.ok(servers.length >= 2, `the warm parent and a server process: ${servers.join('\n')}`);
    server.ctrlC();
    assert.equal(await server.exited, 0);
    await waitFor(() => processesMentioning(root).length === 0 && processGroup(server.child.pid!).length === 0, 5000,
      `no process left: ${processesMentioning(root).join('\n')}`);
    // Nothing lingers on the port: a new listener binds it right away.
    const listener = net.createServer();
    await new Promise<void>((resolve, reject) => { listener.once('error', reject); listener.listen(server.port, '127.0.0.1', resolve); });
    await new Promise((r) => listener.close(r));
  });

  it('--port 0: the port the system chose is the one shown, and it serves there', async () => {
    const root = copyExample();
    const server = await serve(root, ['serve'], 0);
    try {
      await server.waitOutput(/serving app\.main:app on http:\/\/127\.0\.0\.1:\d+ /, 1, 60000);
      const port = Number(/on http:\/\/127\.0\.0\.1:(\d+) /.exec(server.output())![1]);
      assert.ok(port > 0, server.output());
      assert.equal((await get(port, '/hello')).status, 200);
    } finally {
      await stop(server);
    }
  });

  it('SIGTERM to the CLI (closing the editor\'s terminal, a process manager) stops every process too', async () => {
    const root = copyExample();
    const server = await serve(root, ['serve']);
    await server.waitOutput(/serving app\.main:app/, 1, 60000);
    process.kill(server.child.pid!, 'SIGTERM');
    await server.exited;
    await waitFor(() => processesMentioning(root).length === 0, 5000, `no process left: ${processesMentioning(root).join('\n')}`);
  });

  it('names the port and the process holding it when it is taken', async () => {
    const root = copyExample();
    const port = await freePort();
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const server = await serve(root, ['serve'], port);
      const code = await server.exited;
      assert.notEqual(code, 0);
      assert.match(server.output(), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use by pid ${process.pid} \\(`));
      await stop(server);
    } finally {
      holder.close();
    }
  });

  it('refuses a bad [tool.heavy.serve] naming the key', () => {
    const root = copyExample();
    writeFiles(root, { 'pyproject.toml': '[tool.heavy]\napp = "app.main:app"\n[tool.heavy.serve]\nshutdown_timeout = -1\nwatch = "app/*.py"\n' });
    const r = heavySync(['serve', '--root', root, '--port', '1'], root);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"tool\.heavy\.serve\.shutdown_timeout" must be > 0/);
    assert.match(r.stderr, /"tool\.heavy\.serve\.watch" must be a list/);
  });
});
