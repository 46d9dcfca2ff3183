import * as assert from 'node:assert/strict';
import { buildReplay, sessionsOf } from '../../daemon/record/artillery';
import { buildHar, type HarEntry } from '../../daemon/record/har';
import { normaliseHar } from '../../daemon/record/harInput';
import { redactOptions, redactUrl, REDACTED } from '../../daemon/record/redact';

// Found by a new user's trial: tokens in query strings were recorded in clear, and replay of our
// own recording dropped requests whose Host differed from the first one's.

function entry(method: string, url: string, at: number): HarEntry {
  return {
    startedDateTime: new Date(at).toISOString(),
    time: 10,
    _session: '1',
    request: { method, url, httpVersion: 'HTTP/1.1', cookies: [], headers: [], queryString: [], headersSize: -1, bodySize: 0 },
    response: { status: 200, statusText: 'OK', httpVersion: 'HTTP/1.1', cookies: [], headers: [], content: { size: 0, mimeType: '' }, redirectURL: '', headersSize: -1, bodySize: 0 },
    cache: {},
    timings: { send: 0, wait: 10, receive: 0 },
  };
}
const plan = { target: 'http://127.0.0.1:9', users: 1, ramp: 0, duration: 0, speed: 1 };
type Flow = Record<string, Record<string, unknown>>[];
const flowOf = (r: { script: Record<string, unknown> }) => (r.script as { scenarios: { flow: Flow }[] }).scenarios[0].flow
  .filter((step) => step.get || step.post);

describe('query strings and origins', () => {
  it('secret-named query parameters are redacted, the others kept', () => {
    const url = redactUrl(new URL('http://h/notes?password=qsecret&page=2&access_token=abc'), redactOptions());
    assert.equal(url.searchParams.get('password'), REDACTED);
    assert.equal(url.searchParams.get('access_token'), REDACTED);
    assert.equal(url.searchParams.get('page'), '2');
    assert.equal(redactUrl(new URL('http://h/notes?password=x'), redactOptions({}, true)).searchParams.get('password'), 'x');
  });

  it('a redacted query parameter is a missing credential, or filled through qs from fields.NAME', () => {
    const recorded = buildHar([entry('GET', `http://h/feed?token=${REDACTED}&page=2`, 0)], 't');
    const bare = buildReplay(sessionsOf([recorded]), plan);
    assert.deepEqual(bare.missing.map((m) => [m.kind, m.name]), [['field', 'token']]);
    const filled = buildReplay(sessionsOf([recorded]), { ...plan, credentials: { fields: { token: '${FEED_TOKEN}' } } });
    assert.deepEqual(filled.missing, []);
    const step = flowOf(filled)[0].get;
    assert.equal(step.url, '/feed?page=2');
    assert.deepEqual(step.qs, { token: '{{ $processEnvironment.FEED_TOKEN }}' });
  });

  it('our own recording replays every entry whatever Host the client named; a browser export keeps its first origin', () => {
    const entries = [entry('GET', 'http://localhost:18791/hello', 0), entry('GET', 'http://127.0.0.1:18791/notes', 10), entry('GET', 'http://example.com:9999/notes', 20)];
    const ours = normaliseHar(buildHar(entries, 't'), 'ours.har');
    assert.equal(ours.har.log.entries.length, 3);
    assert.equal(ours.note, undefined);
    const browser = normaliseHar({ log: { version: '1.2', creator: { name: 'WebInspector', version: '537.36' }, entries } }, 'browser.har');
    assert.equal(browser.har.log.entries.length, 1);
    assert.match(browser.note ?? '', /left out 2 of 3 entries: 2 to other origins than http:\/\/localhost:18791/);
  });
});
