import * as assert from 'node:assert/strict';
import { buildReplay, sessionsOf } from '../../daemon/record/artillery';
import { buildHar, type HarEntry } from '../../daemon/record/har';
import { normaliseHar } from '../../daemon/record/harInput';
import { redactHeaderValue, redactOptions, redactUrl, redactUrlText, REDACTED } from '../../daemon/record/redact';

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
    // Only the secret's value changes: the rest of the query is byte for byte what was sent.
    assert.equal(redactUrl(new URL('http://h/s?flag&q=a%20b&token=t1&x=1+2'), redactOptions()).href, `http://h/s?flag&q=a%20b&token=${REDACTED}&x=1+2`);
  });

  it('a secret in a URL-valued header (Referer, Location) or a redirect is redacted too', () => {
    const o = redactOptions();
    assert.equal(redactHeaderValue('Referer', 'http://h/reset?token=abc&step=2', o), `http://h/reset?token=${REDACTED}&step=2`);
    assert.equal(redactHeaderValue('location', '/cb?code=1&access_token=zz#top', o), `/cb?code=1&access_token=${REDACTED}#top`);
    assert.equal(redactHeaderValue('Location', '/plain', o), '/plain');
    assert.equal(redactUrlText('/cb?password=p', redactOptions({}, true)), '/cb?password=p');
  });

  it('a redacted query parameter is a missing credential, or filled at run time from fields.NAME, the rest of the query as recorded', () => {
    const recorded = buildHar([entry('GET', `http://h/feed?token=${REDACTED}&page=2`, 0)], 't');
    const bare = buildReplay(sessionsOf([recorded]), plan);
    assert.deepEqual(bare.missing.map((m) => [m.kind, m.name]), [['field', 'token']]);
    const filled = buildReplay(sessionsOf([recorded]), { ...plan, credentials: { fields: { token: '${FEED_TOKEN}' } } });
    assert.deepEqual(filled.missing, []);
    const step = flowOf(filled)[0].get;
    assert.equal(step.url, '/feed?page=2');
    assert.equal(step.qs, undefined);
    assert.equal(step.beforeRequest, 'heavyQuery');
    assert.deepEqual(step.heavyQuery, [{ key: 'token', fill: '{{ $processEnvironment.FEED_TOKEN }}' }]);
    // The processor appends it, URL-encoded.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { heavyQuery } = require('../../daemon/record/replayProcessor.cjs') as { heavyQuery: (p: Record<string, unknown>, c: unknown, e: unknown, done: () => void) => void };
    const params: Record<string, unknown> = { url: step.url, heavyQuery: step.heavyQuery };
    process.env.FEED_TOKEN = 'a&b c';
    try {
      heavyQuery(params, { vars: { $processEnvironment: process.env } }, {}, () => undefined);
    } finally {
      delete process.env.FEED_TOKEN;
    }
    assert.equal(params.url, '/feed?page=2&token=a%26b%20c');
    assert.equal(params.heavyQuery, undefined);
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
