import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildHar } from '../../daemon/record/har';
import { REDACTED } from '../../daemon/record/redact';
import { getEntry, heavyAsync } from './helpers';

// --ramp spreads the users' arrivals, and each virtual user has a cookie jar of its own: the
// cookie the app set for one user is the one that user sends back, never another's.

describe('heavy replay: --ramp and a cookie jar per user', function () {
  this.timeout(120000);
  let root: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-replay-jar-'));
    fs.writeFileSync(path.join(root, 'pyproject.toml'), '[project]\nname = "jar"\n');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('4 users over --ramp 4: arrivals spread over seconds, each user sends back the cookie it was given', async () => {
    let next = 0;
    const logins: { uid: string; at: number }[] = [];
    const mes: string[] = [];
    const server = http.createServer((req, res) => {
      if (req.url === '/login') {
        const uid = `u${++next}`;
        logins.push({ uid, at: Date.now() });
        res.setHeader('set-cookie', `uid=${uid}; Path=/; HttpOnly`);
        res.end('{}');
      } else {
        // (heavy replay's own check that the target answers comes here too, without a cookie)
        if (req.url === '/me') mes.push(/uid=(\w+)/.exec(req.headers.cookie ?? '')?.[1] ?? 'none');
        res.end('{}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const t0 = Date.now() - 60000;
    const login = getEntry(`${target}/login`, t0);
    login.response.headers.push({ name: 'Set-Cookie', value: `uid=${REDACTED}; Path=/; HttpOnly` });
    const me = getEntry(`${target}/me`, t0 + 100);
    me.request.headers.push({ name: 'Cookie', value: `uid=${REDACTED}` });
    const har = path.join(root, 'jar.har');
    fs.writeFileSync(har, JSON.stringify(buildHar([login, me], 'test')));
    try {
      const r = await heavyAsync(['replay', har, '--root', root, '--target', target, '--users', '4', '--ramp', '4', '--json'], root);
      assert.equal(r.code, 0, r.out);
      assert.equal(logins.length, 4);
      // Arrivals 1 s apart on a 4 s ramp; with no ramp they all come within the first second.
      const spread = Math.max(...logins.map((l) => l.at)) - Math.min(...logins.map((l) => l.at));
      assert.ok(spread >= 2000, `arrivals spread over ${spread} ms`);
      // Every user sent back its own cookie: the four uids, each once (no shared jar, no recorded cookie).
      assert.deepEqual([...mes].sort(), logins.map((l) => l.uid).sort());
    } finally {
      server.close();
    }
  });

  it('a redacted query parameter is filled on the wire, the rest of the query exactly as recorded', async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => { if (req.url?.startsWith('/feed')) seen.push(req.url); res.end('{}'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-replay-query-'));
    fs.writeFileSync(path.join(project, 'pyproject.toml'), '[project]\nname = "q"\n[tool.heavy.record.credentials]\nfields = { token = "${FEED_TOKEN}" }\n');
    const har = path.join(project, 'feed.har');
    fs.writeFileSync(har, JSON.stringify(buildHar([getEntry(`${target}/feed?flag&q=a%20b&token=${REDACTED}&page=2`, Date.now() - 1000)], 'test')));
    try {
      const r = await heavyAsync(['replay', har, '--root', project, '--target', target, '--json'], project, { FEED_TOKEN: 'a&b c' });
      assert.equal(r.code, 0, r.out);
      assert.deepEqual(seen, ['/feed?flag&q=a%20b&page=2&token=a%26b%20c']);
    } finally {
      server.close();
      fs.rmSync(project, { recursive: true, force: true });
    }
  });
});
