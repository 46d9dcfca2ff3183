import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { copyExample } from '../helpers/project';
import { serve, stop, type Served, greetingEditor } from './helpers';

/** GET /hello through `agent`; `reused` says whether the request went on a connection that had served one before. */
function hello(port: number, agent: http.Agent): Promise<{ body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/hello', agent }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ body, reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

// A client that keeps its connection to the old version open between requests (a browser, an
// httpx.Client, a Node keep-alive Agent) must get the new code once the reload line is printed,
// not one more answer from the old version on the connection it already holds.
describe('heavy serve: keep-alive connections across a reload', function () {
  this.timeout(90000);
  let server: Served;
  let mainPy: string;
  let original: string;
  let reloads = 0;

  const setGreeting = (value: string) => greetingEditor(mainPy, () => original)(value);

  before(async () => {
    const root = copyExample();
    mainPy = path.join(root, 'app', 'main.py');
    original = fs.readFileSync(mainPy, 'utf8');
    server = await serve(root, ['serve']);
    await server.waitOutput(/serving app\.main:app/, 1, 60000);
  });

  after(async () => {
    if (server) await stop(server);
  });

  it('a keep-alive client asking right after the reload line gets the new version', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 4; i++) {
        await hello(server.port, agent);
        const before = await hello(server.port, agent);
        assert.ok(before.reused, 'the client holds one idle connection to the serving version');
        setGreeting(`keep-alive ${i}`);
        await server.waitOutput(/reloaded in \d+ ms/, ++reloads);
        const after = await hello(server.port, agent);
        assert.deepEqual(JSON.parse(after.body), { message: `keep-alive ${i}` });
      }
    } finally {
      agent.destroy();
    }
  });

  it('a connection held across the reload never carries an answer from the old version', async () => {
    for (let i = 0; i < 3; i++) {
      const socket = net.connect(server.port, '127.0.0.1');
      let received = '';
      let ended = false;
      socket.on('data', (d) => { received += d; });
      socket.on('close', () => { ended = true; });
      socket.on('error', () => { ended = true; });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const ask = () => socket.write('GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      ask();
      while (!received.includes('}') && !ended) await new Promise((r) => setTimeout(r, 5));
      assert.ok(!ended, 'the first answer came on a keep-alive connection');
      received = '';
      setGreeting(`held ${i}`);
      await server.waitOutput(/reloaded in \d+ ms/, ++reloads);
      if (!ended) ask();  // the old version may already have closed it: then the client reconnects, to the new one
      const deadline = Date.now() + 3000;
      while (!received.includes('}') && !ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.ok(received === '' || received.includes(`"held ${i}"`), `an answer from the old version after the reload line:\n${received}`);
      socket.destroy();
    }
  });
});
