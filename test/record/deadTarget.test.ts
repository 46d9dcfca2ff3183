import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Socket } from 'node:net';
import { buildHar } from '../../daemon/record/har';
import { getEntry as entry, heavyAsync } from './helpers';

// A server that dies during the replay must fail the gate. Each virtual user stops at its
// first refused request, so by the error rate alone (errors / requests sent) a run of 4 users
// x 40 requests whose server died after 10 looked like 4 errors in 14 requests, or, with more
// requests before the death, well under 1%: a pass.

const run = (args: string[], cwd: string) => heavyAsync(args, cwd);

describe('heavy replay against a server that dies mid-run', function () {
  this.timeout(120000);
  let root: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-replay-dead-'));
    fs.writeFileSync(path.join(root, 'pyproject.toml'), '[project]\nname = "dead"\n');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('fails the gate, naming the users that stopped early and why', async () => {
    let hits = 0;
    const sockets = new Set<Socket>();
    const server = http.createServer((_req, res) => {
      res.end('ok');
      // Down for good after 200 answers: closed, and every open connection cut.
      if (++hits === 200) {
        server.close();
        for (const s of sockets) s.destroy();
      }
    });
    server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const target = `http://127.0.0.1:${port}`;
    const t0 = Date.now() - 60000;
    const har = path.join(root, 'many.har');
    fs.writeFileSync(har, JSON.stringify(buildHar(Array.from({ length: 100 }, (_, i) => entry(`${target}/item`, t0 + i)), 'test')));
    try {
      const r = await run(['replay', har, '--root', root, '--target', target, '--users', '4', '--speed', '1000', '--max-error-rate', '5', '--json'], root);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout) as { requests: number; errorRate: number; vusers: { created: number; failed: number } };
      assert.ok(report.requests < 400, `${report.requests} requests`);
      assert.equal(report.vusers.created, 4);
      assert.ok(report.vusers.failed >= 1, JSON.stringify(report.vusers));
      assert.ok(report.errorRate < 0.05, `the error rate alone (${report.errorRate}) would have passed a 5% gate`);
      assert.match(r.stderr, /heavy: \d of 4 virtual users \([\d.]+%\) stopped before the end of their session \((ECONNREFUSED|ECONNRESET|EPIPE)[^)]*\), over --max-error-rate 5\.00%\n$/);
    } finally {
      server.close();
    }
  });

  it('a WebSocket the server will not open ends that user, as a refused request does: no reconnect loop under --duration', async () => {
    // Answers HTTP, never upgrades (an upgrade request gets a plain 200: the handshake fails).
    const hits: string[] = [];
    const server = http.createServer((req, res) => { hits.push(`${req.method} ${req.url}`); res.end('ok'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const t0 = Date.now() - 60000;
    const socket = { ...entry(`${target.replace('http', 'ws')}/ws`, t0 + 10), _resourceType: 'websocket', _webSocketMessages: [{ type: 'send' as const, time: (t0 + 20) / 1000, opcode: 1, data: 'hi' }] };
    socket.response.status = 101;
    const har = path.join(root, 'ws.har');
    fs.writeFileSync(har, JSON.stringify(buildHar([entry(`${target}/before`, t0), socket, entry(`${target}/after`, t0 + 30)], 'test')));
    try {
      const r = await run(['replay', har, '--root', root, '--target', target, '--users', '2', '--duration', '3', '--json'], root);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout) as { errorsByKind: Record<string, number>; vusers: { created: number; failed: number } };
      assert.deepEqual(report.vusers, { created: 2, completed: 0, failed: 2 });
      const errors = Object.values(report.errorsByKind).reduce((a, n) => a + n, 0);
      assert.equal(errors, 2, JSON.stringify(report.errorsByKind));
      assert.ok(Object.keys(report.errorsByKind).every((k) => k.startsWith('websocket')), JSON.stringify(report.errorsByKind));
      assert.deepEqual(hits.filter((h) => h.startsWith('GET') && h !== 'GET /ws'), ['GET /before', 'GET /before'], 'each user sent the request before the socket, then stopped');
    } finally {
      server.close();
    }
  });
});
