// The time report's numbers and chart geometry. Pure: records, uncemented blocks and the
// clock come in; the VS Code webview and `heavy time report --html` render the result.

export interface ReportRecord {
  user: string;
  start: string;
  end: string;
  seconds: number;
  branch: string;
  imported?: boolean;
}

export interface UncementedSpan {
  user: string;
  branch: string;
  /** Epoch ms. */
  start: number;
  end: number;
}

/** What `heavy time verify` found, reduced to what the badge needs. */
export interface VerifySummary {
  problems: number;
  records: number;
  imported: number;
  witnessed: number;
  /** .heavy/time/witness.pub is committed, so co-signatures are checked. */
  witnessChecked: boolean;
}

export type Badge = 'verified' | 'imported' | 'not witnessed' | 'failing' | 'empty';

export interface ReportInput {
  records: ReportRecord[];
  uncemented: UncementedSpan[];
  verify: VerifySummary;
  now: number;
  /** How many days the chart covers, ending today. */
  days?: number;
  /** Minutes to add to UTC for the local day (east positive); default: this machine's. */
  utcOffsetMinutes?: number;
}

export interface DayTotals {
  day: string;
  /** Cemented seconds per branch. */
  branches: Record<string, number>;
  uncemented: Record<string, number>;
  total: number;
}

export interface Totals {
  name: string;
  cemented: number;
  uncemented: number;
}

export interface ReportData {
  generatedAt: string;
  days: DayTotals[];
  users: Totals[];
  branches: Totals[];
  cemented: number;
  uncemented: number;
  badge: Badge;
  verify: VerifySummary;
}

const DAY = 86_400_000;

export function dayKey(ms: number, utcOffsetMinutes: number): string {
  return new Date(ms + utcOffsetMinutes * 60_000).toISOString().slice(0, 10);
}

/** Splits a span at local midnights: a block worked across midnight counts on both days. */
export function splitByDay(start: number, end: number, utcOffsetMinutes: number): Array<{ day: string; seconds: number }> {
  const out: Array<{ day: string; seconds: number }> = [];
  const offset = utcOffsetMinutes * 60_000;
  let from = start;
  while (from < end) {
    const nextMidnight = Math.floor((from + offset) / DAY + 1) * DAY - offset;
    const to = Math.min(end, nextMidnight);
    out.push({ day: dayKey(from, utcOffsetMinutes), seconds: (to - from) / 1000 });
    from = to;
  }
  return out;
}

export function badgeFor(v: VerifySummary): Badge {
  if (v.problems > 0) return 'failing';
  if (!v.records) return 'empty';
  if (v.imported > 0) return 'imported';
  if (v.witnessChecked && v.witnessed < v.records) return 'not witnessed';
  return 'verified';
}

export function buildReport(input: ReportInput): ReportData {
  const offset = input.utcOffsetMinutes ?? -new Date(input.now).getTimezoneOffset();
  const count = input.days ?? 14;
  const today = dayKey(input.now, offset);
  const days: DayTotals[] = [];
  const byDay = new Map<string, DayTotals>();
  for (let i = count - 1; i >= 0; i--) {
    const d: DayTotals = { day: dayKey(Date.parse(`${today}T12:00:00Z`) - i * DAY, 0), branches: {}, uncemented: {}, total: 0 };
    days.push(d);
    byDay.set(d.day, d);
  }
  const users = new Map<string, Totals>();
  const branches = new Map<string, Totals>();
  const totals = (map: Map<string, Totals>, name: string) => {
    let t = map.get(name);
    if (!t) map.set(name, (t = { name, cemented: 0, uncemented: 0 }));
    return t;
  };
  let cemented = 0;
  let uncemented = 0;
  const add = (user: string, branch: string, start: number, end: number, kind: 'cemented' | 'uncemented') => {
    if (!(end > start)) return;
    const secs = (end - start) / 1000;
    totals(users, user)[kind] += secs;
    totals(branches, branch)[kind] += secs;
    if (kind === 'cemented') cemented += secs;
    else uncemented += secs;
    for (const part of splitByDay(start, end, offset)) {
      const d = byDay.get(part.day);
      if (!d) continue;
      const bucket = kind === 'cemented' ? d.branches : d.uncemented;
      bucket[branch] = (bucket[branch] ?? 0) + part.seconds;
      d.total += part.seconds;
    }
  };
  for (const r of input.records) add(r.user, r.branch, Date.parse(r.start), Date.parse(r.end), 'cemented');
  for (const u of input.uncemented) add(u.user, u.branch, u.start, u.end, 'uncemented');
  const sorted = (map: Map<string, Totals>) => [...map.values()].sort((a, b) => b.cemented + b.uncemented - (a.cemented + a.uncemented) || a.name.localeCompare(b.name));
  return {
    generatedAt: new Date(input.now).toISOString(),
    days,
    users: sorted(users),
    branches: sorted(branches),
    cemented,
    uncemented,
    badge: badgeFor(input.verify),
    verify: input.verify,
  };
}

export interface ChartSegment {
  day: string;
  branch: string;
  uncemented: boolean;
  seconds: number;
  x: number;
  y: number;
  width: number;
  height: number;
  /** Index into the branch palette: branches keep their colour across days. */
  color: number;
}

export interface ChartData {
  width: number;
  height: number;
  /** The value at the top of the axis, in seconds (whole hours). */
  maxSeconds: number;
  segments: ChartSegment[];
  labels: Array<{ day: string; x: number }>;
  branches: string[];
}

/** Bars per day, stacked by branch (biggest branch at the bottom), uncemented on top. */
export function chartData(report: ReportData, width = 640, height = 200): ChartData {
  const branches = report.branches.map((b) => b.name);
  const color = new Map(branches.map((b, i) => [b, i]));
  const maxTotal = Math.max(0, ...report.days.map((d) => d.total));
  const maxSeconds = Math.max(3600, Math.ceil(maxTotal / 3600) * 3600);
  const slot = width / Math.max(1, report.days.length);
  const barWidth = Math.max(2, slot * 0.7);
  const segments: ChartSegment[] = [];
  const labels: ChartData['labels'] = [];
  report.days.forEach((d, i) => {
    const x = i * slot + (slot - barWidth) / 2;
    labels.push({ day: d.day, x: i * slot + slot / 2 });
    let top = height;
    const stack = (values: Record<string, number>, uncemented: boolean) => {
      for (const branch of branches) {
        const seconds = values[branch];
        if (!seconds) continue;
        const h = (seconds / maxSeconds) * height;
        top -= h;
        segments.push({ day: d.day, branch, uncemented, seconds, x, y: top, width: barWidth, height: h, color: color.get(branch)! });
      }
    };
    stack(d.branches, false);
    stack(d.uncemented, true);
  });
  return { width, height, maxSeconds, segments, labels, branches };
}

/** "1 h 25 min", "12 min", "40 s": how the editor and the report say a duration. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.round(totalSeconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (!h) return `${m} min`;
  return m ? `${h} h ${m} min` : `${h} h`;
}
