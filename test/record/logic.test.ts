import * as assert from 'node:assert/strict';
import { artilleryCommand } from '../../daemon/record/engine';
import { artilleryScript, buildReplay, routeTemplate, sessionsOf, thinkStep, type SocketSpec } from '../../daemon/record/artillery';
import { credentialsProblem, missingEnv, missingMessage } from '../../daemon/record/credentials';
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
    type Script = { config: Record<string, unknown>; scenarios: { name: string; heavy: { sessions: { id: string; sockets: SocketSpec[] }[]; duration: number }; flow: Record<string, unknown>[] }[] };
    const withHeaders = (e: HarEntry, headers: { name: string; value: string }[], postData?: { mimeType: string; text: string }): HarEntry =>
      ({ ...e, request: { ...e.request, headers, ...(postData ? { postData } : {}) } });

    it("one scenario; a session's requests and WebSockets in recorded order, think times scaled by --speed, cookies left to the jar", () => {
      const har: Har = buildHar([
        withHeaders(entry('GET', 'http://h/a', 0, { _session: '1' }), [{ name: 'Accept', value: 'application/json' }, { name: 'Cookie', value: `a=${REDACTED}` }]),
        entry('GET', 'ws://h/ws?room=1', 1010, { _session: '1', _resourceType: 'websocket', time: 3000, _webSocketMessages: [
          { type: 'send', time: 2.01, opcode: 1, data: 'hi' }, { type: 'receive', time: 2.11, opcode: 1, data: 'ho' }, { type: 'send', time: 3.01, opcode: 2, data: 'AAE=' }, { type: 'receive', time: 3.41, opcode: 1, data: 'x' }] }),
        withHeaders(entry('POST', 'http://h/b', 2010, { _session: '1' }), [], { mimeType: 'application/json', text: '{"x":1}' }),
      ], 't');
      const script = artilleryScript(sessionsOf([har]), plan) as Script;
      assert.equal(script.config.processor, './heavy-replay.cjs');
      assert.deepEqual(script.config.phases, [{ duration: 1, arrivalCount: 3, name: '3 users x 1 sessions' }]);
      assert.equal(script.scenarios.length, 1);
      assert.deepEqual(script.scenarios[0].flow, [
        { function: 'heavyStart' },
        { function: 'heavyPass' },
        { get: { url: '/a', name: 'GET /a', headers: { accept: 'application/json' }, heavyStatus: 200, afterResponse: 'heavyCheck' } },
        { think: '500ms' },
        { function: 'heavySocket' },
        // The next request is 1 s after the socket opened (not after it closed), at speed 2.
        { think: '500ms' },
        { post: { url: '/b', name: 'POST /b', body: '{"x":1}', heavyStatus: 200, afterResponse: 'heavyCheck' } },
        { function: 'heavyWaitSockets' },
      ]);
      assert.deepEqual(script.scenarios[0].heavy.sessions, [{ id: '1', sockets: [{ path: '/ws?room=1', sends: [{ at: 0.5, text: 'hi' }, { at: 1, base64: 'AAE=' }], receives: 2, closeAt: 1.2 }] }]);
    });

    it("several sessions: users x sessions arrivals, each session's steps run only for the users it was dealt to", () => {
      const har = buildHar([entry('GET', 'http://h/a', 0, { _session: '1' }), entry('GET', 'http://h/c', 100, { _session: '2' })], 't');
      const script = artilleryScript(sessionsOf([har]), plan) as Script;
      assert.deepEqual(script.config.phases, [{ duration: 1, arrivalCount: 6, name: '3 users x 2 sessions' }]);
      assert.deepEqual(script.scenarios[0].flow.slice(1).map((s) => [s.over, (s.loop as Record<string, Record<string, string>>[])[1].get.url]),
        [['heavyPlays[0]', '/a'], ['heavyPlays[1]', '/c']]);
    });

    it('the processor deals sessions out in turn, so each is played exactly `users` times', () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const processor = require('../../daemon/record/replayProcessor.cjs') as { heavyStart: (c: unknown, e: unknown, done: () => void) => void; resolve: (t: string, v: unknown) => string };
      const scenario = { heavy: { sessions: [{ sockets: [] }, { sockets: [] }, { sockets: [] }], duration: 0 } };
      const dealt: number[] = [];
      for (let i = 0; i < 6; i++) {
        const context = { scenario, vars: {} as Record<string, unknown> };
        processor.heavyStart(context, undefined, () => {});
        dealt.push(context.vars.heavySession as number);
        assert.deepEqual((context.vars.heavyPlays as unknown[][]).map((p) => p.length), [0, 1, 2].map((k) => (k === context.vars.heavySession ? 1 : 0)));
      }
      assert.deepEqual([...dealt].sort(), [0, 0, 1, 1, 2, 2]);
      assert.equal(processor.resolve('Bearer {{ heavyLoginToken }} {{ $processEnvironment.X }}', { heavyLoginToken: 't', $processEnvironment: { X: 'x' } }), 'Bearer t x');
    });

    it("a browser export (no _session) is one session per file; --duration repeats the pass while the user's time lasts", () => {
      const har = buildHar([entry('GET', 'http://h/a', 0), entry('GET', 'http://h/b', 990)], 't');
      const script = artilleryScript(sessionsOf([har]), { ...plan, speed: 1, duration: 10 }) as Script;
      assert.equal(script.scenarios[0].heavy.duration, 10);
      const loop = script.scenarios[0].flow[1];
      assert.equal(loop.whileTrue, 'heavyAgain');
      assert.deepEqual((loop.loop as Record<string, unknown>[]).map((s) => Object.keys(s)[0]), ['function', 'get', 'think', 'get']);
    });
  });

  describe('credentials', () => {
    const plan = { target: 'http://127.0.0.1:9', users: 1, ramp: 0, duration: 0, speed: 1 };
    const recorded = buildHar([
      { ...entry('POST', 'http://h/login', 0, { _session: '1' }), request: { ...entry('POST', 'http://h/login', 0).request, postData: { mimeType: 'application/json', text: `{"user":"ada","password":"${REDACTED}"}` } } },
      { ...entry('GET', 'http://h/me', 100, { _session: '1' }), request: { ...entry('GET', 'http://h/me', 0).request, headers: [{ name: 'Authorization', value: REDACTED }, { name: 'X-Api-Key', value: REDACTED }] } },
      { ...entry('GET', 'http://h/me', 200, { _session: '1' }), request: { ...entry('GET', 'http://h/me', 0).request, headers: [{ name: 'Authorization', value: REDACTED }] } },
      { ...entry('POST', 'http://h/form', 300, { _session: '1' }), request: { ...entry('POST', 'http://h/form', 0).request, postData: { mimeType: 'application/x-www-form-urlencoded', text: `user=ada&password=${REDACTED}` } } },
    ], 't');
    const flowOf = (r: { script: Record<string, unknown> }) => (r.script as { scenarios: { flow: Record<string, Record<string, unknown>>[] }[] }).scenarios[0].flow;

    it('a placeholder with no value is reported with where it is and the key to set', () => {
      const r = buildReplay(sessionsOf([recorded]), plan);
      assert.deepEqual(r.missing.map((m) => [m.kind, m.name, m.count]), [['field', 'password', 2], ['header', 'Authorization', 2], ['header', 'X-Api-Key', 1]]);
      const line = missingMessage(r.missing);
      assert.ok(!line.includes('\n'));
      assert.match(line, /the "password" field \(POST \/login, request 1 of session 1 and 1 more\): set fields\.password/);
      assert.match(line, /the Authorization header \(GET \/me, request 2 of session 1 and 1 more\): set headers\.Authorization \(e\.g\. "Bearer \$\{API_TOKEN\}"\)/);
      assert.match(line, /set headers\.X-Api-Key .* in \[tool\.heavy\.record\.credentials\]$/);
    });

    it('values from the environment become {{ $processEnvironment.NAME }}: the script holds no secret', () => {
      const r = buildReplay(sessionsOf([recorded]), { ...plan, credentials: { headers: { authorization: 'Bearer ${API_TOKEN}', 'X-Api-Key': '${API_KEY}' }, fields: { password: '${PW}' } } });
      assert.deepEqual(r.missing, []);
      assert.deepEqual(r.env.sort(), ['API_KEY', 'API_TOKEN', 'PW']);
      const flow = flowOf(r);
      assert.deepEqual(flow[2].post.json, { user: 'ada', password: '{{ $processEnvironment.PW }}' });
      assert.deepEqual(flow[4].get.headers, { authorization: 'Bearer {{ $processEnvironment.API_TOKEN }}', 'x-api-key': '{{ $processEnvironment.API_KEY }}' });
      assert.deepEqual(flow.at(-1)!.post.form, { user: 'ada', password: '{{ $processEnvironment.PW }}' });
    });

    it('a login first for every user: its body answers for the recorded password, its captured token for Authorization', () => {
      const r = buildReplay(sessionsOf([recorded]), { ...plan, credentials: {
        headers: { 'X-Api-Key': 'literal-key' },
        login: { path: '/auth', json: { user: 'ada', password: '${PW}' }, capture: { json: '$.token', header: 'Authorization', prefix: 'Bearer ' } },
      } });
      assert.deepEqual(r.missing, []);
      const flow = flowOf(r);
      assert.deepEqual(flow[1], { post: { url: '/auth', name: 'login: POST /auth', json: { user: 'ada', password: '{{ $processEnvironment.PW }}' }, capture: { json: '$.token', as: 'heavyLoginToken' } } });
      assert.equal(flow[3].post.json && (flow[3].post.json as Record<string, string>).password, '{{ $processEnvironment.PW }}');
      assert.deepEqual(flow[5].get.headers, { authorization: 'Bearer {{ heavyLoginToken }}', 'x-api-key': 'literal-key' });
    });

    it('cookies sent before any recorded response set them are reported (unless a login provides the session)', () => {
      const withCookie = (e: HarEntry, cookie: string, setCookie?: string): HarEntry => ({
        ...e,
        request: { ...e.request, headers: [{ name: 'cookie', value: cookie }] },
        response: { ...e.response, headers: setCookie ? [{ name: 'set-cookie', value: setCookie }] : [] },
      });
      const har = buildHar([
        withCookie(entry('GET', 'http://h/a', 0, { _session: '1' }), `sid=${REDACTED}`, `csrf=${REDACTED}; Path=/`),
        withCookie(entry('GET', 'http://h/b', 100, { _session: '1' }), `sid=${REDACTED}; csrf=${REDACTED}`),
      ], 't');
      assert.deepEqual(buildReplay(sessionsOf([har]), plan).unsetCookies, [{ name: 'sid', where: 'GET /a, request 1 of session 1' }]);
      assert.deepEqual(buildReplay(sessionsOf([har]), { ...plan, credentials: { login: { path: '/login' } } }).unsetCookies, []);
    });

    it('malformed references and contradictions are one line naming the key', () => {
      assert.equal(credentialsProblem({ headers: { Authorization: 'Bearer ${API_TOKEN}' } }), undefined);
      assert.match(credentialsProblem({ headers: { Authorization: 'Bearer ${1X}' } })!, /"tool\.heavy\.record\.credentials\.headers\.Authorization": "\$\{1X\}" is not an environment variable name/);
      assert.match(credentialsProblem({ fields: { password: '${PW' } })!, /"tool\.heavy\.record\.credentials\.fields\.password": "\$\{" without a closing "\}"/);
      assert.match(credentialsProblem({ login: { path: '/l', json: {}, form: {} } })!, /has both json and form/);
      assert.deepEqual(missingEnv(['A', 'B', 'C'], { A: 'x', B: '' }), ['B', 'C']);
    });
  });

  describe('starting Artillery', () => {
    it('runs the found executable as it is, but npm\'s .cmd shim on Windows as its JavaScript entry on this Node (no shell)', () => {
      assert.deepEqual(artilleryCommand('/p/node_modules/.bin/artillery', 'linux'), { file: '/p/node_modules/.bin/artillery', args: [] });
      const project = 'C:\\p\\node_modules\\artillery\\bin\\run';
      assert.deepEqual(artilleryCommand('C:\\p\\node_modules\\.bin\\artillery.cmd', 'win32', (f) => f === project), { file: process.execPath, args: [project] });
      const global = 'C:\\Users\\u\\AppData\\Roaming\\npm\\node_modules\\artillery\\bin\\run';
      assert.deepEqual(artilleryCommand('C:\\Users\\u\\AppData\\Roaming\\npm\\artillery.cmd', 'win32', (f) => f === global), { file: process.execPath, args: [global] });
      assert.equal(artilleryCommand('C:\\x\\artillery.cmd', 'win32', () => false), undefined);
    });
  });

  describe('review findings', () => {
    const plan1 = { target: 'http://127.0.0.1:9', users: 1, ramp: 0, duration: 0, speed: 1 };
    const stepOf = (e: HarEntry) => {
      const flow = (artilleryScript(sessionsOf([buildHar([e], 't')]), plan1) as { scenarios: { flow: Record<string, Record<string, unknown>>[] }[] }).scenarios[0].flow;
      const step = flow.find((f) => f.get || f.post)!;
      return step.get ?? step.post;
    };
    const base = (): HarEntry => ({
      startedDateTime: new Date(0).toISOString(), time: 1, _session: '1',
      request: { method: 'GET', url: 'http://h/go', httpVersion: 'HTTP/1.1', cookies: [], headers: [], queryString: [], headersSize: -1, bodySize: 0 },
      response: { status: 200, statusText: '', httpVersion: 'HTTP/1.1', cookies: [], headers: [], content: { size: 0, mimeType: '' }, redirectURL: '', headersSize: -1, bodySize: 0 },
      cache: {}, timings: { send: 0, wait: 1, receive: 0 },
    });
    it('a recorded 3xx is never followed on replay, even with no redirectURL (its next hop is an entry of its own); a 304 is', () => {
      const e = base();
      e.response.status = 302;
      assert.equal(stepOf(e).followRedirect, false);
      e.response.status = 304;
      assert.equal(stepOf(e).followRedirect, undefined);
    });
    it('a body cut at max_body is replayed without the status check', () => {
      const e = base();
      e.request.method = 'POST';
      e.request.bodySize = 5000;
      e.request.postData = { mimeType: 'text/plain', text: 'x'.repeat(10), comment: 'truncated: 5000 bytes, max_body kept' };
      assert.equal(stepOf(e).heavyStatus, undefined);
      delete e.request.postData.comment;
      assert.equal(stepOf(e).heavyStatus, 200);
    });
    it('a multipart password cut at max_body is redacted all the same', () => {
      const body = Buffer.from('--b\r\nContent-Disposition: form-data; name="user"\r\n\r\nada\r\n--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter2-and-mo');
      const recorded = recordBody(body, body.length + 100, 'multipart/form-data; boundary=b', { ...redactOptions(), maxBody: body.length });
      const text = Buffer.from(recorded.text, 'base64').toString('latin1');
      assert.ok(!text.includes('hunter2'), text);
      assert.ok(text.endsWith(`name="password"\r\n\r\n${REDACTED}`), text);
      assert.ok(text.includes('\r\n\r\nada\r\n'), 'other fields stay');
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
    it('lists answers of another class than recorded by status and route (a route name may hold dots); 401 and 403 are errors', () => {
      const s = summarize({
        aggregate: {
          firstMetricAt: 0,
          lastMetricAt: 1000,
          counters: {
            'http.requests': 4, 'http.codes.200': 2, 'http.codes.401': 1, 'http.codes.404': 1,
            'plugins.metrics-by-endpoint.GET /me.codes.401': 1, 'plugins.metrics-by-endpoint.GET /app.js.codes.404': 1, 'plugins.metrics-by-endpoint.GET /a.codes.200': 2,
            'heavy.unexpected.401.GET /me': 1, 'heavy.unexpected.404.GET /app.js': 1,
          },
        },
      });
      // Both listed; only the 401 (not let in where the recording was) is an error.
      assert.equal(s.errors, 1);
      assert.deepEqual(s.unexpected, { 401: 1, 404: 1 });
      assert.deepEqual(s.endpoints.map((e) => [e.endpoint, e.requests, e.errors, e.unexpected]),
        [['GET /a', 2, 0, {}], ['GET /app.js', 1, 0, { 404: 1 }], ['GET /me', 1, 1, { 401: 1 }]]);
    });
    it("the processor's heavyCheck: another class than recorded, except 304 for 200 and 5xx (errors already)", () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { heavyCheck } = require('../../daemon/record/replayProcessor.cjs') as { heavyCheck: (...a: unknown[]) => void };
      const counted: string[] = [];
      const events = { emit: (_k: string, name: string) => counted.push(name) };
      const check = (recorded: number, got: number) => heavyCheck({ heavyStatus: recorded, name: 'GET /x' }, { statusCode: got }, {}, events, () => undefined);
      check(200, 201); check(200, 304); check(304, 200); check(302, 302); check(200, 503); check(404, 404);
      assert.deepEqual(counted, []);
      check(200, 401); check(302, 200); check(404, 200);
      assert.deepEqual(counted, ['heavy.unexpected.401.GET /x', 'heavy.unexpected.200.GET /x', 'heavy.unexpected.200.GET /x']);
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
  it('[tool.heavy.record.credentials]: the documented keys, and one line naming a wrong one', () => {
    const text = `[tool.heavy.record.credentials]
headers = { Authorization = "Bearer \${API_TOKEN}" }
fields = { password = "\${PW}" }
[tool.heavy.record.credentials.login]
method = "POST"
path = "/login"
json = { user = "ada", password = "\${PW}", remember = true }
capture = { json = "$.token", header = "Authorization", prefix = "Bearer " }
`;
    assert.equal(parsePyProject(text).heavy.record?.credentials?.login?.capture?.header, 'Authorization');
    const one = (toml: string, pattern: RegExp) => assert.throws(() => parsePyProject(`[tool.heavy.record.credentials]\n${toml}\n`), (err: Error) => pattern.test(err.message) && !err.message.includes('\n'));
    one('header = {}', /unknown key "tool\.heavy\.record\.credentials\.header" \(allowed in \[tool\.heavy\.record\.credentials\]: headers, fields, login\)/);
    one('headers = { Authorization = 1 }', /"tool\.heavy\.record\.credentials\.headers\.Authorization" must be a string/);
    one('fields = "password"', /"tool\.heavy\.record\.credentials\.fields" must be a table/);
    one('login = { json = {} }', /"tool\.heavy\.record\.credentials\.login\.path" is required/);
    one('login = { path = "login" }', /"tool\.heavy\.record\.credentials\.login\.path" must be a path starting with "\/"/);
    one('login = { path = "/l", method = "post" }', /"tool\.heavy\.record\.credentials\.login\.method" must be one of "GET", "POST"/);
    one('login = { path = "/l", capture = { json = "token", header = "Authorization" } }', /"tool\.heavy\.record\.credentials\.login\.capture\.json" must be a JSONPath/);
    one('login = { path = "/l", capture = { json = "$.t" } }', /"tool\.heavy\.record\.credentials\.login\.capture\.header" is required/);
    one('headers = { X = "${2}" }', /is not an environment variable name/);
  });
});
