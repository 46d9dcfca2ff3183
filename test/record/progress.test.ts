import * as assert from 'node:assert/strict';
import { ArtilleryProgress } from '../../daemon/record/progress';

// Artillery's console output (2.x), as it prints it, cut at awkward places.
const PERIOD = (requests: number, extra = '') => `--------------------------------------
Metrics for period to: 14:31:30(+0000) (width: 9.8s)
--------------------------------------

errors.ECONNREFUSED: ........................................................... 0${extra}
http.codes.200: ................................................................ ${requests}
http.request_rate: ............................................................. 12/sec
http.requests: ................................................................. ${requests}
http.response_time:
  min: ......................................................................... 1
  max: ......................................................................... 8

`;

describe('heavy replay progress from Artillery output', () => {
  it('one line per period, running totals of requests and errors (5xx included), nothing after the summary', () => {
    let now = 1000;
    const p = new ArtilleryProgress(0, () => now);
    const text = `Test run id: x\nPhase started: p (index: 0, duration: 20s)\n${PERIOD(120)}${PERIOD(80, '\nhttp.codes.503: ............ 2\nerrors.ETIMEDOUT: ........ 1')}All VUs finished.\n--------------------------------\nSummary report @ 14:31:32(+0000)\n--------------------------------\n\nhttp.requests: ............ 200\n`;
    const lines: string[] = [];
    // Fed in chunks that split lines, as pipes do.
    for (let i = 0; i < text.length; i += 37) {
      now = 1000 + i * 10;
      lines.push(...p.feed(text.slice(i, i + 37)));
    }
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0], /^\d+ s: 120 requests, 0 errors so far$/);
    assert.match(lines[1], /^\d+ s: 200 requests, 3 errors so far$/);
  });

  it('says nothing for output it does not know', () => {
    const p = new ArtilleryProgress();
    assert.deepEqual(p.feed('something else entirely\nhttp.requests: 5\n'), []);
  });
});
