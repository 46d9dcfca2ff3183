import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { artilleryScript, sessionsOf } from '../../daemon/record/artillery';
import type { Har, HarEntry, HarHeader } from '../../daemon/record/har';
import { HarInputError, normaliseHar, readHar } from '../../daemon/record/harInput';

// Browser exports, entry by entry, shaped as Chromium writes them: Playwright's recordHar
// (taken from the HAR test/record/chromiumHar.test.ts makes) and Chrome DevTools' "Save all
// as HAR" (status 0 with _error, _fromCache, HTTP/2 pseudo-headers, message times in seconds).

const APP = 'http://127.0.0.1:8000';
const T0 = Date.parse('2026-11-28T04:30:38.052Z');
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36';
/** What Chromium puts on the wire for a fetch (Playwright records these headers). */
const wire = (host: string): HarHeader[] => [{ name: 'Accept', value: '*/*' }, { name: 'Connection', value: 'keep-alive' }, { name: 'Host', value: host }, { name: 'User-Agent', value: UA }];

type Loose = Partial<Omit<HarEntry, 'request' | 'response'>> & { request?: Partial<HarEntry['request']> & Record<string, unknown>; response?: Partial<HarEntry['response']> & Record<string, unknown>; [k: string]: unknown };

function pw(method: string, url: string, at: number, extra: Loose = {}): HarEntry {
  const { request, response, ...rest } = extra;
  return {
    pageref: 'page@96aef3fa',
    startedDateTime: new Date(T0 + at).toISOString(),
    time: 53.887,
    request: { method, url, httpVersion: 'HTTP/1.1', cookies: [], headers: wire(new URL(url).host), queryString: [], headersSize: 494, bodySize: 0, ...request },
    response: { status: 200, statusText: 'OK', httpVersion: 'HTTP/1.1', cookies: [], headers: [], content: { size: 29, mimeType: 'application/json' }, redirectURL: '', headersSize: 125, bodySize: 29, _transferSize: 154, ...response } as HarEntry['response'],
    cache: {},
    timings: { send: 0, wait: 44.8, receive: 9.1 },
    _resourceType: 'fetch',
    ...rest,
  } as HarEntry;
}

const har = (entries: HarEntry[]): Har => ({ log: { version: '1.2', creator: { name: 'Playwright', version: '1.65.1' }, entries } });
const urls = (h: Har) => h.log.entries.map((e) => `${e.request.method} ${e.request.url}`);

describe('reading a browser HAR for replay', () => {
  it('keeps the origin of the first page; other origins, data: and extension URLs are left out in one line', () => {
    const { har: out, origin, note } = normaliseHar(har([
      pw('GET', 'http://cdn.example.com/app.css', 0, { _resourceType: 'stylesheet' }), // started first, but not a page
      pw('GET', `${APP}/page`, 1, { _resourceType: 'document' }),
      pw('GET', 'data:image/gif;base64,R0lGODlhAQABAAAAACw=', 2, { _resourceType: 'image', request: { headers: [] } }),
      pw('GET', 'chrome-extension://abcdefghijklmnop/inject.js', 3, { _resourceType: 'script', request: { headers: [] } }),
      pw('GET', 'http://127.0.0.1:8001/api', 4), // same host, other port: another origin
      pw('GET', `${APP}/hello`, 5),
      pw('GET', 'ws://127.0.0.1:8000/ws/chat', 6, { _resourceType: 'websocket', response: { status: 101 } }), // the page's own socket
      pw('GET', 'https://fonts.example.net/font.css', 7, { response: { status: -1, _failureText: 'net::ERR_NAME_NOT_RESOLVED' } }),
    ]), 'x.har');
    assert.equal(origin, APP);
    assert.deepEqual(urls(out), [`GET ${APP}/page`, `GET ${APP}/hello`, 'GET ws://127.0.0.1:8000/ws/chat']);
    assert.equal(note, `x.har: left out 5 of 8 entries: 3 to other origins than ${APP} (cdn.example.com, 127.0.0.1:8001, fonts.example.net), 2 data:, blob: or extension URLs`);
  });

  it('leaves out answers from the browser cache: DevTools _fromCache, Playwright _transferSize 0, and (mode minimal) no Host on the wire', () => {
    const { har: out, note } = normaliseHar(har([
      pw('GET', `${APP}/page`, 0, { _resourceType: 'document' }),
      pw('GET', `${APP}/a`, 1, { _fromCache: 'memory' }),
      pw('GET', `${APP}/b`, 2, { _fromCache: 'disk', response: { _transferSize: 0 } }),
      // Playwright, mode "full", after page.goBack(): only the headers the page added, nothing transferred.
      pw('GET', `${APP}/page`, 3, { _resourceType: 'document', request: { headers: [{ name: 'Upgrade-Insecure-Requests', value: '1' }, { name: 'User-Agent', value: UA }] }, response: { _transferSize: 0, bodySize: -135 } }),
      // Playwright, mode "minimal": no sizes at all, so the missing Host is the only trace.
      pw('GET', `${APP}/page`, 4, { _resourceType: 'document', request: { headers: [{ name: 'User-Agent', value: UA }], headersSize: -1, bodySize: -1 }, response: { _transferSize: undefined, headersSize: -1, bodySize: -1 } }),
      // Nothing transferred is enough on its own, whatever headers are listed.
      pw('GET', `${APP}/e`, 5, { response: { _transferSize: 0 } }),
      // A 304 did reach the server; an HTTP/2 request has :authority rather than Host.
      pw('GET', `${APP}/c`, 5, { response: { status: 304, _transferSize: 120 } }),
      pw('GET', `${APP}/d`, 6, { request: { httpVersion: 'http/2.0', headers: [{ name: ':authority', value: '127.0.0.1:8000' }, { name: 'accept', value: '*/*' }] }, response: { _transferSize: undefined } }),
      // A WebSocket handshake with no transfer size counted is still a connection to the app.
      pw('GET', 'ws://127.0.0.1:8000/ws/chat', 7, { _resourceType: 'websocket', request: { headers: [{ name: 'Upgrade', value: 'websocket' }] }, response: { status: 101, _transferSize: 0 } }),
    ]), 'x.har');
    assert.deepEqual(urls(out), [`GET ${APP}/page`, `GET ${APP}/c`, `GET ${APP}/d`, 'GET ws://127.0.0.1:8000/ws/chat']);
    assert.equal(note, "x.har: left out 5 of 9 entries: 5 answered by the browser's cache");
  });

  it('our own recordings and hand-written HARs (no _resourceType, no sizes, no headers) are kept whole', () => {
    const ours = pw('GET', `${APP}/a`, 0, { _resourceType: undefined, _session: '1', request: { headers: [] }, response: { _transferSize: undefined } });
    const { har: out, note } = normaliseHar(har([ours, { ...ours, startedDateTime: new Date(T0 + 5).toISOString() }]), 'x.har');
    assert.equal(out.log.entries.length, 2);
    assert.equal(note, undefined);
  });

  it('requests that got no response (Playwright status -1, DevTools status 0 with _error) are left out', () => {
    const { har: out, note } = normaliseHar(har([
      pw('GET', `${APP}/page`, 0, { _resourceType: 'document' }),
      pw('GET', `${APP}/slow`, 1, { response: { status: -1, _failureText: 'net::ERR_ABORTED' } }),
      pw('GET', `${APP}/gone`, 2, { response: { status: 0, statusText: '', _error: 'net::ERR_CONNECTION_REFUSED' } }),
    ]), 'x.har');
    assert.deepEqual(urls(out), [`GET ${APP}/page`]);
    assert.equal(note, 'x.har: left out 2 of 3 entries: 2 that got no response');
  });

  it('drops HTTP/2 pseudo-headers and reads a missing or negative time as 0', () => {
    const { har: out } = normaliseHar(har([pw('GET', `${APP}/a`, 0, {
      time: -1,
      request: { headers: [{ name: ':method', value: 'GET' }, { name: ':path', value: '/a' }, { name: ':authority', value: '127.0.0.1:8000' }, { name: ':scheme', value: 'http' }, { name: 'accept', value: '*/*' }] },
    })]), 'x.har');
    assert.deepEqual(out.log.entries[0].request.headers, [{ name: 'accept', value: '*/*' }]);
    assert.equal(out.log.entries[0].time, 0);
  });

  describe('request bodies', () => {
    it('a form body given as params only is rebuilt as the browser sent it', () => {
      const { har: out, note } = normaliseHar(har([pw('POST', `${APP}/feedback`, 0, {
        _resourceType: 'document',
        request: { bodySize: 21, postData: { mimeType: 'application/x-www-form-urlencoded', text: '', params: [{ name: 'text', value: 'nice app' }, { name: 'stars', value: '5' }] } as never },
      })]), 'x.har');
      assert.equal(out.log.entries[0].request.postData?.text, 'text=nice+app&stars=5');
      assert.equal(note, undefined);
    });

    it('a body exported without content (Playwright content "omit") is named in the note, not silently sent empty', () => {
      const { note } = normaliseHar(har([
        pw('POST', `${APP}/notes`, 0, { request: { bodySize: 48, headers: [...wire('127.0.0.1:8000'), { name: 'Content-Length', value: '48' }], postData: { mimeType: 'application/json', text: '', params: [] } as never } }),
        // mode "minimal": bodySize -1, so the Content-Length header tells.
        pw('POST', `${APP}/notes`, 1, { request: { bodySize: -1, headers: [...wire('127.0.0.1:8000'), { name: 'Content-Length', value: '48' }], postData: { mimeType: 'application/json', text: '', params: [] } as never } }),
        pw('POST', `${APP}/ping`, 2, { request: { bodySize: 0, postData: { mimeType: 'text/plain', text: '' } } }),
      ]), 'x.har');
      assert.equal(note, 'x.har: 2 request bodies are not in the file (exported without content) and will be sent empty');
    });

    it('a body Playwright attached (content "attach") is read from next to the HAR; a missing one is one line naming the entry', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-har-'));
      try {
        fs.writeFileSync(path.join(dir, '0a1b2c.json'), '{"title":"From Chromium"}');
        const attached = (name: string) => har([pw('POST', `${APP}/notes`, 0, { request: { bodySize: 25, postData: { mimeType: 'application/json', text: '', params: [], _file: name } as never } })]);
        assert.equal(normaliseHar(attached('0a1b2c.json'), path.join(dir, 'x.har')).har.log.entries[0].request.postData?.text, '{"title":"From Chromium"}');
        assert.throws(() => normaliseHar(attached('ffff.json'), path.join(dir, 'x.har')), (err: Error) => err instanceof HarInputError
          && err.message === `${path.join(dir, 'x.har')}: entry 1: postData._file "ffff.json" is not next to the HAR (copy it with the .har file)`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('WebSocket messages', () => {
    const socket = (messages: unknown, extra: Loose = {}) => pw('GET', 'ws://127.0.0.1:8000/ws/chat', 0, { _resourceType: 'websocket', response: { status: 101 }, _webSocketMessages: messages as never, ...extra });
    const start = T0 / 1000;

    it("Playwright's times are milliseconds since 1970: read as seconds, so pauses stay milliseconds long", () => {
      const { har: out } = normaliseHar(har([socket([
        { type: 'send', time: T0 + 135.653, opcode: 1, data: 'hi' },
        { type: 'receive', time: T0 + 144.324, opcode: 1, data: 'echo: hi' },
        { type: 'send', time: T0 + 144.563, opcode: 1, data: 'there' },
      ])]), 'x.har');
      const got = out.log.entries[0]._webSocketMessages!;
      assert.deepEqual(got.map((m) => [m.type, m.data]), [['send', 'hi'], ['receive', 'echo: hi'], ['send', 'there']]);
      assert.ok(Math.abs(got[0].time - (start + 0.135653)) < 1e-6, String(got[0].time));
      // Before: a 57-year think step ahead of the first send.
      const scenario = (artilleryScript(sessionsOf([out]), { target: APP, users: 1, ramp: 0, duration: 0, speed: 1 }) as { scenarios: { flow: unknown[]; heavy: { sessions: { sockets: { path: string; sends: unknown[] }[] }[] } }[] }).scenarios[0];
      assert.deepEqual(scenario.flow.filter((step) => 'think' in (step as object)), []);
      const [sock] = scenario.heavy.sessions[0].sockets;
      assert.equal(sock.path, '/ws/chat');
      assert.deepEqual(sock.sends, [{ at: 0.136, text: 'hi' }, { at: 0.145, text: 'there' }]);
    });

    it('Chrome DevTools times (seconds) are kept; control frames are dropped; binary stays base64 with opcode 2', () => {
      const { har: out } = normaliseHar(har([socket([
        { type: 'send', time: start + 0.5, opcode: 1, data: 'hi' },
        { type: 'receive', time: start + 0.6, opcode: 9, data: '' },
        { type: 'send', time: start + 0.7, opcode: 2, data: 'AAEC' },
      ])]), 'x.har');
      assert.deepEqual(out.log.entries[0]._webSocketMessages, [
        { type: 'send', time: start + 0.5, opcode: 1, data: 'hi' },
        { type: 'send', time: start + 0.7, opcode: 2, data: 'AAEC' },
      ]);
    });

    it('Playwright mode "minimal" writes time -1: the message is placed at the one before it (no pause)', () => {
      const { har: out } = normaliseHar(har([socket([{ type: 'send', time: -1, opcode: 1, data: 'hi' }, { type: 'receive', time: -1, opcode: 1, data: 'echo: hi' }], { time: -1 })]), 'x.har');
      assert.deepEqual(out.log.entries[0]._webSocketMessages!.map((m) => m.time), [start, start]);
      assert.equal(out.log.entries[0].time, 0);
    });

    it('messages Playwright attached as a .jsonl file next to the HAR are read from it', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-har-'));
      try {
        fs.writeFileSync(path.join(dir, 'abc.jsonl'), `${JSON.stringify({ type: 'send', time: T0 + 10, opcode: 1, data: 'hi' })}\n`);
        const entry = socket(undefined, { response: { status: 101, content: { size: -1, mimeType: 'x-unknown', _file: 'abc.jsonl' } as never } });
        delete entry._webSocketMessages;
        const { har: out } = normaliseHar(har([entry]), path.join(dir, 'x.har'));
        assert.deepEqual(out.log.entries[0]._webSocketMessages, [{ type: 'send', time: (T0 + 10) / 1000, opcode: 1, data: 'hi' }]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('_webSocketMessages that is not a list is one line naming the entry', () => {
      assert.throws(() => normaliseHar(har([pw('GET', `${APP}/a`, 0), socket({ type: 'send' })]), 'x.har'),
        (err: Error) => err instanceof HarInputError && err.message === 'x.har: entry 2: _webSocketMessages is not a list');
    });
  });

  it('a redirect the browser followed is in the HAR twice (both hops): replay does not follow it again', () => {
    const { har: out } = normaliseHar(har([
      pw('POST', `${APP}/feedback`, 0, { _resourceType: 'document', response: { status: 303, redirectURL: `${APP}/thanks` }, request: { postData: { mimeType: 'application/x-www-form-urlencoded', text: 'a=1' } } }),
      pw('GET', `${APP}/thanks`, 20, { _resourceType: 'document' }),
    ]), 'x.har');
    const flow = (artilleryScript(sessionsOf([out]), { target: APP, users: 1, ramp: 0, duration: 0, speed: 1 }) as { scenarios: { flow: Record<string, { followRedirect?: boolean }>[] }[] }).scenarios[0].flow
      .filter((step) => 'post' in step || 'get' in step);
    assert.equal(flow.length, 2);
    assert.equal(flow[0].post.followRedirect, false);
    assert.equal(flow[1].get.followRedirect, undefined);
  });

  it('a HAR with nothing from the app is one line saying why, not a notice and then "nothing to replay"', () => {
    assert.throws(() => normaliseHar(har([pw('GET', 'data:,', 0, { request: { headers: [] } }), pw('GET', 'https://fonts.example.net/f.css', 1, { response: { status: -1 } })]), 'x.har'),
      (err: Error) => err instanceof HarInputError && err.message === 'x.har: nothing to replay: all 2 entries left out: 1 data:, blob: or extension URL, 1 that got no response');
  });

  it('readHar passes the note to its caller once', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-har-'));
    try {
      const file = path.join(dir, 'x.har');
      fs.writeFileSync(file, JSON.stringify(har([pw('GET', `${APP}/page`, 0, { _resourceType: 'document' }), pw('GET', 'http://cdn.example.com/a.css', 1)])));
      const lines: string[] = [];
      assert.equal(readHar(file, (l) => lines.push(l)).log.entries.length, 1);
      assert.deepEqual(lines, [`${file}: left out 1 of 2 entries: 1 to other origins than ${APP} (cdn.example.com)`]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
