import * as assert from 'node:assert/strict';
import { artilleryScript, routeTemplate, sessionsOf, thinkStep } from '../../daemon/record/artillery';
import { buildHar, harFromJournal, type Har, type HarEntry } from '../../daemon/record/har';
import { recordBody, redactHeaderValue, redactOptions, REDACTED } from '../../daemon/record/redact';
import { summarize } from '../../daemon/record/report';
import { SessionTracker } from '../../daemon/record/sessions';

function entry(method: string, url: string, at: number, extra: Partial<HarEntry> = {}): HarEntry {
  return {
    startedDateTime: new Date(at).toISOString(),
    time: 10,
    request: { method, url, httpVersion: 'HTTP/1.1', cookies: [], headers: [], queryString: [], headersSize: -1, bodySize: 0 },
    response: { status: 200, statusText: 'OK', httpVersion: 'HTTP/1.1', cookies: [], headers: [], content: { size: 0, mimeType: '' }, redirectURL: '', headersSize: -1, bodySize: 0 },
    cache: {},
    timings: { send: 0, wait: 10, receive: 0 },
    ...extra,
  };
}

describe('recorder logic', () => {
  describe('redaction', () => {
    const on = redactOptions({ redact_headers: ['X-Api-Key'], max_body: 50 });
    it('replaces credential headers, keeping cookie names', () => {
      assert.equal(redactHeaderValue('Authorization', 'Bearer abc', on), REDACTED);
      assert.equal(redactHeaderValue('x-api-key', 'k', on), REDACTED);
      assert.equal(redactHeaderValue('Cookie', 'a=1; b=2', on), `a=${REDACTED}; b=${REDACTED}`);
      assert.equal(redactHeaderValue('Set-Cookie', 'sid=xyz; Path=/; HttpOnly', on), `sid=${REDACTED}; Path=/; HttpOnly`);
      assert.equal(redactHeaderValue('Accept', 'text/html', on), 'text/html');
    });
    it('replaces secret JSON fields at any depth, and form fields', () => {
      const body = recordBody(Buffer.from('{"user":{"password":"p","api_token":"t"},"n":1}'), 48, 'application/json', on);
      assert.deepEqual(JSON.parse(body.text), { user: { password: REDACTED, api_token: REDACTED }, n: 1 });
      assert.ok(body.redacted);
      const form = recordBody(Buffer.from('user=a&password=p'), 17, 'application/x-www-form-urlencoded', on);
      assert.equal(form.text, `user=a&password=${REDACTED}`);
    });
    it('honours redact_fields', () => {
      const custom = redactOptions({ redact_fields: ['pin'] });
      assert.deepEqual(JSON.parse(recordBody(Buffer.from('{"pin":"1","password":"p"}'), 26, 'application/json', custom).text), { pin: REDACTED, password: 'p' });
    });
    it('truncates bodies over max_body and still scrubs a cut JSON body', () => {
      const text = JSON.stringify({ password: 'p', data: 'x'.repeat(100) });
      const body = recordBody(Buffer.from(text), text.length, 'application/json', on);
      assert.ok(body.truncated);
      assert.equal(body.size, text.length);
      assert.ok(!body.text.includes('"p"'));
    });
    it('--keep-secrets keeps everything', () => {
      const off = redactOptions({}, true);
      assert.equal(redactHeaderValue('Authorization', 'Bearer abc', off), 'Bearer abc');
      assert.equal(recordBody(Buffer.from('{"password":"p"}'), 16, 'application/json', off).text, '{"password":"p"}');
    });
  });

  describe('sessions', () => {
    it('ties connections together by cookie, including cookies the server set', () => {
      const s = new SessionTracker();
      const a = s.sessionOf('1', [], 'ua-a');
      s.cookiesSet(a, ['sid=1; Path=/']);
      assert.equal(s.sessionOf('2', ['sid=1'], 'ua-a'), a);
      const b = s.sessionOf('3', ['sid=2'], 'ua-a');
      assert.notEqual(b, a);
      assert.equal(s.sessionOf('4', [], 'ua-b') === a, false);
    });
  });

  describe('journal → HAR', () => {
    it('skips a torn last line and attaches WebSocket messages', () => {
      const ws = entry('GET', 'ws://h/ws', 1000, { _resourceType: 'websocket', time: 0 });
      const text = [
        JSON.stringify({ k: 'start', pid: 1 }),
        JSON.stringify({ k: 'http', entry: entry('GET', 'http://h/a', 500) }),
        JSON.stringify({ k: 'ws', id: 1, entry: ws }),
        JSON.stringify({ k: 'msg', id: 1, m: { type: 'send', time: 1.5, opcode: 1, data: 'hi' } }),
        '{"k":"http","entry":{"startedDate',
      ].join('\n');
      const built = harFromJournal(text, 't');
      assert.equal(built.requests, 2);
      assert.equal(built.messages, 1);
      assert.equal(built.badLines, 1);
      assert.deepEqual(built.har.log.entries[1]._webSocketMessages, [{ type: 'send', time: 1.5, opcode: 1, data: 'hi' }]);
      assert.equal(built.har.log.entries[1].time, 500);
    });
  });

  describe('HAR → Artillery', () => {
    const plan = { target: 'http://127.0.0.1:9', users: 3, ramp: 0, duration: 0, speed: 2 };
    it('groups routes by template', () => {
      assert.equal(routeTemplate('get', 'http://h/notes/42?x=1'), 'GET /notes/{id}');
      assert.equal(routeTemplate('GET', 'http://h/u/0b7c7e9a-1b2c-4d5e-8f90-123456789abc/files'), 'GET /u/{id}/files');
      assert.equal(routeTemplate('GET', 'http://h/'), 'GET /');
    });
    it('writes think times Artillery reads right (it takes bare numbers as whole seconds)', () => {
      assert.deepEqual(thinkStep(2), { think: 2 });
      assert.deepEqual(thinkStep(0.25), { think: '250ms' });
      assert.equal(thinkStep(0.001), undefined);
    });
    it('one scenario per session, think times scaled by --speed, credentials and cookies left to the engine', () => {
      const har: Har = buildHar([
        entry('GET', 'http://h/a', 0, { _session: '1', request: { ...entry('GET', 'http://h/a', 0).request, headers: [{ name: 'Authorization', value: REDACTED }, { name: 'Accept', value: 'application/json' }, { name: 'Cookie', value: 'a=1' }] } }),
        entry('POST', 'http://h/b', 2010, { _session: '1', request: { ...entry('POST', 'http://h/b', 0).request, postData: { mimeType: 'application/json', text: '{"x":1}' } } }),
        entry('GET', 'http://h/c', 100, { _session: '2' }),
        entry('GET', 'ws://h/ws', 200, { _session: '2', _resourceType: 'websocket', _webSocketMessages: [{ type: 'send', time: 1.2, opcode: 1, data: 'hi' }, { type: 'receive', time: 1.3, opcode: 1, data: 'ho' }] }),
      ], 't');
      const script = artilleryScript(sessionsOf([har]), plan) as { config: Record<string, unknown>; scenarios: { name: string; engine?: string; flow: Record<string, unknown>[] }[] };
      assert.deepEqual(script.config.phases, [{ duration: 1, arrivalCount: 3, name: '3 users' }]);
      assert.deepEqual(script.scenarios.map((s) => s.name), ['session 1', 'session 2', 'session 2 websocket 1']);
      assert.deepEqual(script.scenarios[0].flow, [
        { get: { url: '/a', name: 'GET /a', headers: { accept: 'application/json' } } },
        { think: 1 },
        { post: { url: '/b', name: 'POST /b', body: '{"x":1}' } },
      ]);
      assert.deepEqual(script.scenarios[2], { name: 'session 2 websocket 1', engine: 'ws', weight: 1, flow: [{ connect: { target: 'ws://127.0.0.1:9/ws' } }, { think: '500ms' }, { send: 'hi' }, { think: '50ms' }] });
    });
    it('a browser export (no _session) is one session per file; --duration repeats it', () => {
      const har = buildHar([entry('GET', 'http://h/a', 0), entry('GET', 'http://h/b', 990)], 't');
      const script = artilleryScript(sessionsOf([har]), { ...plan, speed: 1, duration: 10 }) as { scenarios: { flow: { loop?: unknown[]; count?: number }[] }[] };
      assert.equal(script.scenarios.length, 1);
      assert.equal(script.scenarios[0].flow[0].count, 10);
    });
  });

  describe('report', () => {
    it('counts 5xx and transport errors, and groups by endpoint', () => {
      const s = summarize({
        aggregate: {
          firstMetricAt: 0,
          lastMetricAt: 2000,
          counters: { 'http.requests': 10, 'http.codes.200': 8, 'http.codes.500': 1, 'errors.ECONNRESET': 1, 'plugins.metrics-by-endpoint.GET /a.codes.200': 8, 'plugins.metrics-by-endpoint.GET /a.codes.500': 1 },
          summaries: { 'http.response_time': { p50: 1, p95: 2, p99: 3, max: 4 }, 'plugins.metrics-by-endpoint.response_time.GET /a': { p50: 1, p95: 2, p99: 3, max: 4 } },
        },
      });
      assert.equal(s.errors, 2);
      assert.equal(s.errorRate, 0.2);
      assert.equal(s.throughput, 5);
      assert.deepEqual(s.endpoints.map((e) => [e.endpoint, e.requests, e.errors, e.p95]), [['GET /a', 9, 1, 2]]);
    });
  });
});

describe('[tool.heavy.record] validation', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parsePyProject } = require('../../daemon/project/config') as typeof import('../../daemon/project/config');
  it('accepts the documented keys and names a wrong one', () => {
    assert.deepEqual({ ...parsePyProject('[tool.heavy.record]\nredact_headers = ["X-Api-Key"]\nredact_fields = ["pin"]\nmax_body = 10\n').heavy.record },
      { redact_headers: ['X-Api-Key'], redact_fields: ['pin'], max_body: 10 });
    assert.throws(() => parsePyProject('[tool.heavy.record]\nmax_body = "big"\n'), /"tool\.heavy\.record\.max_body" must be an integer/);
    assert.throws(() => parsePyProject('[tool.heavy.record]\nredact = []\n'), /unknown key "tool\.heavy\.record\.redact"/);
  });
});
