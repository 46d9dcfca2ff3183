import * as assert from 'node:assert/strict';
import { badgeFor, buildReport, chartData, formatDuration, splitByDay, type ReportInput } from '../../daemon/time/report';
import { renderReportHtml } from '../../daemon/time/reportHtml';

const NOW = Date.parse('2026-03-14T18:00:00Z');
const clean = { problems: 0, records: 3, imported: 0, witnessed: 0, witnessChecked: false };
const input = (over: Partial<ReportInput> = {}): ReportInput => ({
  now: NOW,
  utcOffsetMinutes: 0,
  verify: clean,
  records: [
    { user: 'ada', branch: 'main', start: '2026-03-14T09:00:00Z', end: '2026-03-14T10:30:00Z', seconds: 5400 },
    { user: 'ada', branch: 'feature', start: '2026-03-13T09:00:00Z', end: '2026-03-13T09:30:00Z', seconds: 1800 },
    { user: 'bob', branch: 'main', start: '2026-03-14T11:00:00Z', end: '2026-03-14T11:20:00Z', seconds: 1200 },
    // Outside the 14 days: in the totals, not in the chart.
    { user: 'bob', branch: 'old', start: '2026-01-01T09:00:00Z', end: '2026-01-01T10:00:00Z', seconds: 3600 },
  ],
  uncemented: [{ user: 'ada', branch: 'main', start: Date.parse('2026-03-14T17:00:00Z'), end: Date.parse('2026-03-14T17:45:00Z') }],
  ...over,
});

describe('time report aggregation', () => {
  it('totals per day, branch and user, cemented apart from uncemented', () => {
    const r = buildReport(input());
    assert.equal(r.days.length, 14);
    assert.equal(r.days[13].day, '2026-03-14');
    assert.equal(r.days[0].day, '2026-03-01');
    assert.deepEqual(r.days[13].branches, { main: 5400 + 1200 });
    assert.deepEqual(r.days[13].uncemented, { main: 2700 });
    assert.deepEqual(r.days[12].branches, { feature: 1800 });
    assert.equal(r.cemented, 5400 + 1800 + 1200 + 3600);
    assert.equal(r.uncemented, 2700);
    assert.deepEqual(r.users.map((u) => [u.name, u.cemented, u.uncemented]), [['ada', 7200, 2700], ['bob', 4800, 0]]);
    assert.deepEqual(r.branches.map((b) => b.name), ['main', 'old', 'feature']);
  });

  it('splits a block worked across midnight between the two days, in local time', () => {
    assert.deepEqual(splitByDay(Date.parse('2026-03-13T23:30:00Z'), Date.parse('2026-03-14T00:15:00Z'), 0), [
      { day: '2026-03-13', seconds: 1800 }, { day: '2026-03-14', seconds: 900 }]);
    // UTC+2: the same span is all on the 14th.
    assert.deepEqual(splitByDay(Date.parse('2026-03-13T23:30:00Z'), Date.parse('2026-03-14T00:15:00Z'), 120), [{ day: '2026-03-14', seconds: 2700 }]);
  });

  it('gives the verify badge: failing, imported, not witnessed, verified', () => {
    assert.equal(badgeFor({ ...clean, problems: 1 }), 'failing');
    assert.equal(badgeFor({ ...clean, imported: 1 }), 'imported');
    assert.equal(badgeFor({ ...clean, witnessChecked: true, witnessed: 2 }), 'not witnessed');
    assert.equal(badgeFor({ ...clean, witnessChecked: true, witnessed: 3 }), 'verified');
    assert.equal(badgeFor(clean), 'verified');
    assert.equal(badgeFor({ ...clean, records: 0 }), 'empty');
  });

  it('says durations the way people do', () => {
    assert.equal(formatDuration(5100), '1 h 25 min');
    assert.equal(formatDuration(3600), '1 h');
    assert.equal(formatDuration(720), '12 min');
    assert.equal(formatDuration(40), '40 s');
  });
});

describe('time report chart data', () => {
  it('stacks each day by branch, uncemented on top, on a whole-hour axis', () => {
    const c = chartData(buildReport(input()), 700, 200);
    assert.equal(c.maxSeconds, 3 * 3600, 'today has 2 h 35 min: the axis goes to 3 h');
    const today = c.segments.filter((s) => s.day === '2026-03-14');
    assert.deepEqual(today.map((s) => [s.branch, s.uncemented]), [['main', false], ['main', true]]);
    assert.ok(Math.abs(today[0].height - (6600 / 10800) * 200) < 1e-9);
    assert.ok(Math.abs(today[0].y + today[0].height - 200) < 1e-9, 'the bottom segment sits on the axis');
    assert.ok(Math.abs(today[1].y + today[1].height - today[0].y) < 1e-9, 'uncemented sits on top');
    const feature = c.segments.find((s) => s.branch === 'feature')!;
    assert.equal(feature.color, c.branches.indexOf('feature'), 'a branch keeps one colour');
    assert.equal(c.labels.length, 14);
  });

  it('an empty report still has a one-hour axis and no bars', () => {
    const c = chartData(buildReport(input({ records: [], uncemented: [] })));
    assert.equal(c.maxSeconds, 3600);
    assert.equal(c.segments.length, 0);
  });
});

describe('time report HTML', () => {
  it('is one self-contained page: no script, no remote content, theme variables with fallbacks', () => {
    const html = renderReportHtml(buildReport(input()), { title: 'Time report: <demo>' });
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<svg class="chart"/);
    assert.equal((html.match(/<rect class="bar/g) ?? []).length, 3, "main and feature cemented, main uncemented");
    assert.match(html, /Time report: &lt;demo&gt;/);
    assert.doesNotMatch(html, /<script|src=|https?:\/\//);
    assert.match(html, /var\(--vscode-foreground, var\(--fg\)\)/);
    assert.match(html, /prefers-color-scheme: dark/);
    assert.match(html, /data-badge="verified"/);
    assert.match(html, /not yet cemented/);
  });

  it('in the webview, allows only its own nonce\'s style', () => {
    const html = renderReportHtml(buildReport(input()), { nonce: 'abc123' });
    assert.match(html, /content="default-src 'none'; img-src data:; style-src 'nonce-abc123';"/);
    assert.match(html, /<style nonce="abc123">/);
  });
});
