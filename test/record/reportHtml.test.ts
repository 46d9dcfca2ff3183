import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ReplaySummary } from '../../daemon/record/report';
import { replayHtml } from '../../daemon/record/reportHtml';
import { renderReport } from './chartRender';

// The replay report as a person sees it: rendered by headless Chromium, both charts painted.
// (replay.test.ts renders the report of a real replay the same way.)
describe('heavy replay --html in Chromium', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-report-html-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const summary = (timeline: ReplaySummary['timeline']): ReplaySummary => ({
    requests: 40, responses: 40, errors: 0, unexpected: {}, errorRate: 0, codes: { 200: 40 }, errorsByKind: {}, websocketMessages: 0, vusers: { created: 1, completed: 1, failed: 0 },
    durationSeconds: 4, throughput: 10, latency: { p50: 3, p95: 9, p99: 12 } as ReplaySummary['latency'],
    endpoints: [{ endpoint: 'GET /notes/{id}', requests: 40, errors: 0, codes: { 200: 40 }, unexpected: {}, p50: 3, p95: 9, p99: 12, max: 14 } as ReplaySummary['endpoints'][number]],
    timeline,
  });

  it('paints the latency and throughput lines', async () => {
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, replayHtml(summary([0, 1, 2, 3].map((i) => ({ at: i * 1000, requests: 10, p50: 2 + i, p95: 6 + i, p99: 9 + i }))), 'Replay of test.har'));
    const charts = await renderReport(file, path.join(dir, 'report.png'));
    assert.deepEqual(charts.map((c) => c.title), ['Latency over time', 'Throughput (requests per period)']);
    for (const c of charts) {
      assert.ok(c.width >= 600 && c.height >= 180, `${c.title} is ${c.width}x${c.height}`);
      // A 2 px line across ~560 px of chart paints well over a thousand pixels of its colour.
      assert.ok(c.strokePixels > 500, `${c.title}: ${c.strokePixels} pixels of its series' colours`);
    }
  });

  it('a report with no timeline still paints a point per chart rather than nothing', async () => {
    const file = path.join(dir, 'empty.html');
    fs.writeFileSync(file, replayHtml(summary([]), 'Replay of one.har'));
    const charts = await renderReport(file, path.join(dir, 'empty.png'));
    assert.equal(charts.length, 2);
    for (const c of charts) assert.ok(c.strokePixels > 10, `${c.title}: ${c.strokePixels}`);
  });
});
