// Artillery's JSON report (artillery run --output) → the summary heavy replay prints. Pure.

export interface Percentiles { p50: number; p95: number; p99: number; max: number }
export interface EndpointSummary extends Percentiles { endpoint: string; requests: number; errors: number; codes: Record<string, number>; unexpected: Record<string, number> }

export interface ReplaySummary {
  requests: number;
  responses: number;
  /** Transport errors, 5xx responses, and 401/403 where the recording got in (see AUTH_FAILURES). */
  errors: number;
  /** Answers of another class than the recording's (a 401 where it got a 200), by status. */
  unexpected: Record<string, number>;
  errorRate: number;
  codes: Record<string, number>;
  errorsByKind: Record<string, number>;
  websocketMessages: number;
  /** Artillery's virtual users: one that failed (a refused connection, a failed capture) stopped mid-session. */
  vusers: { created: number; completed: number; failed: number };
  durationSeconds: number;
  throughput: number;
  latency: Percentiles;
  endpoints: EndpointSummary[];
  /** Per reporting period, for the HTML charts. */
  timeline: { at: number; requests: number; p50: number; p95: number; p99: number }[];
}

interface ArtilleryPeriod {
  counters?: Record<string, number>;
  summaries?: Record<string, { p50?: number; p95?: number; p99?: number; max?: number; median?: number }>;
  firstMetricAt?: number;
  lastMetricAt?: number;
  period?: number | string;
}
export interface ArtilleryReport { aggregate: ArtilleryPeriod; intermediate?: ArtilleryPeriod[] }

const PREFIX = 'plugins.metrics-by-endpoint.';

/**
 * Answers not as recorded that count as errors: a 401 or 403 where the recording was let in
 * means the replay is not authenticated (a stale token, a login not configured), whatever the
 * load. Other differences are listed, not counted: a second pass's POST /register gets a 409,
 * a replayed DELETE a 404, a bug fixed since turns a 500 into a 200; that is the app's answer
 * to a repeat, not a failure.
 */
const AUTH_FAILURES = ['401', '403'];

export function summarize(report: ArtilleryReport): ReplaySummary {
  const counters = report.aggregate.counters ?? {};
  const summaries = report.aggregate.summaries ?? {};
  const codes: Record<string, number> = {};
  const errorsByKind: Record<string, number> = {};
  for (const [name, n] of Object.entries(counters)) {
    const code = /^http\.codes\.(\d+)$/.exec(name);
    if (code) codes[code[1]] = n;
    const error = /^errors\.(.+)$/.exec(name);
    if (error) errorsByKind[error[1]] = n;
  }
  const unexpected: Record<string, number> = {};
  const unexpectedByEndpoint: [string, string, number][] = [];
  for (const [name, n] of Object.entries(counters)) {
    const m = /^heavy\.unexpected\.(\d+)\.(.*)$/.exec(name);
    if (!m) continue;
    unexpected[m[1]] = (unexpected[m[1]] ?? 0) + n;
    unexpectedByEndpoint.push([m[2], m[1], n]);
  }
  const serverErrors = Object.entries(codes).filter(([c]) => Number(c) >= 500).reduce((a, [, n]) => a + n, 0);
  const transport = Object.values(errorsByKind).reduce((a, n) => a + n, 0);
  const requests = counters['http.requests'] ?? 0;
  const errors = serverErrors + transport + AUTH_FAILURES.reduce((a, c) => a + (unexpected[c] ?? 0), 0);
  const first = report.aggregate.firstMetricAt ?? 0;
  const last = report.aggregate.lastMetricAt ?? first;
  const durationSeconds = Math.max(0.001, (last - first) / 1000);

  const endpoints = new Map<string, EndpointSummary>();
  const endpoint = (name: string) => {
    let e = endpoints.get(name);
    if (!e) endpoints.set(name, (e = { endpoint: name, requests: 0, errors: 0, codes: {}, unexpected: {}, p50: 0, p95: 0, p99: 0, max: 0 }));
    return e;
  };
  for (const [name, s] of Object.entries(summaries)) {
    if (!name.startsWith(`${PREFIX}response_time.`)) continue;
    Object.assign(endpoint(name.slice(`${PREFIX}response_time.`.length)), percentiles(s));
  }
  for (const [name, n] of Object.entries(counters)) {
    if (!name.startsWith(PREFIX)) continue;
    const m = /^(.*)\.(codes|errors)\.([^.]+)$/.exec(name.slice(PREFIX.length));
    if (!m) continue;
    const e = endpoint(m[1]);
    if (m[2] === 'codes') {
      e.codes[m[3]] = n;
      e.requests += n;
      if (Number(m[3]) >= 500) e.errors += n;
    } else {
      e.errors += n;
      e.requests += n;
    }
  }
  for (const [name, code, n] of unexpectedByEndpoint) {
    const e = endpoint(name);
    e.unexpected[code] = (e.unexpected[code] ?? 0) + n;
    if (AUTH_FAILURES.includes(code)) e.errors += n;
  }
  const timeline = (report.intermediate ?? []).map((p) => ({
    at: Number(p.firstMetricAt ?? p.period ?? 0),
    requests: p.counters?.['http.requests'] ?? 0,
    ...percentiles(p.summaries?.['http.response_time'] ?? {}),
  }));
  return {
    requests,
    responses: counters['http.responses'] ?? 0,
    errors,
    unexpected,
    errorRate: requests ? errors / requests : (transport ? 1 : 0),
    codes,
    errorsByKind,
    websocketMessages: counters['websocket.messages_sent'] ?? 0,
    vusers: { created: counters['vusers.created'] ?? 0, completed: counters['vusers.completed'] ?? 0, failed: counters['vusers.failed'] ?? 0 },
    durationSeconds,
    throughput: requests / durationSeconds,
    latency: percentiles(summaries['http.response_time'] ?? {}),
    endpoints: [...endpoints.values()].sort((a, b) => a.endpoint.localeCompare(b.endpoint)),
    timeline,
  };
}

function percentiles(s: { p50?: number; p95?: number; p99?: number; max?: number; median?: number }): Percentiles {
  return { p50: s.p50 ?? s.median ?? 0, p95: s.p95 ?? 0, p99: s.p99 ?? 0, max: s.max ?? 0 };
}

export function formatSummary(s: ReplaySummary): string {
  const ms = (n: number) => `${Math.round(n * 10) / 10} ms`;
  const lines = [
    `${s.requests} requests in ${s.durationSeconds.toFixed(1)} s (${s.throughput.toFixed(1)}/s), ${s.errors} errors (${(s.errorRate * 100).toFixed(2)}%)`
      + (s.websocketMessages ? `, ${s.websocketMessages} WebSocket messages sent` : ''),
    ...(s.vusers?.failed ? [`${s.vusers.failed} of ${s.vusers.created} virtual users stopped before the end of their session`] : []),
    `latency p50 ${ms(s.latency.p50)}, p95 ${ms(s.latency.p95)}, p99 ${ms(s.latency.p99)}`,
    `status: ${Object.entries(s.codes).map(([c, n]) => `${c} ×${n}`).join(', ') || 'none'}`
      + (Object.keys(s.errorsByKind).length ? `; errors: ${Object.entries(s.errorsByKind).map(([k, n]) => `${k} ×${n}`).join(', ')}` : '')
      + (Object.keys(s.unexpected).length ? `; not as recorded: ${Object.entries(s.unexpected).map(([c, n]) => `${c} ×${n}`).join(', ')}` : ''),
  ];
  if (s.endpoints.length) {
    const width = Math.max(...s.endpoints.map((e) => e.endpoint.length));
    lines.push('', `${'endpoint'.padEnd(width)}  requests  errors      p50      p95      p99`);
    for (const e of s.endpoints) {
      lines.push(`${e.endpoint.padEnd(width)}  ${String(e.requests).padStart(8)}  ${String(e.errors).padStart(6)}  ${ms(e.p50).padStart(7)}  ${ms(e.p95).padStart(7)}  ${ms(e.p99).padStart(7)}`);
    }
    const diverged = s.endpoints.filter((e) => Object.keys(e.unexpected).length);
    if (diverged.length) {
      lines.push('', 'answers of another class than recorded (401 and 403 count as errors):');
      for (const e of diverged) lines.push(`  ${e.endpoint}: ${Object.entries(e.unexpected).map(([c, n]) => `${c} ×${n}`).join(', ')}`);
    }
  }
  return lines.join('\n');
}

/**
 * Why a replay fails the gate, or undefined. The error rate alone misses a server that died:
 * each virtual user stops at its first refused request, so the requests never sent count
 * nowhere. Users that stopped early count against the same limit.
 */
export function gateFailure(s: ReplaySummary, maxErrorRate: number): string | undefined {
  const pct = (n: number) => `${(n * 100).toFixed(2)}%`;
  if (s.errorRate > maxErrorRate) return `error rate ${pct(s.errorRate)} is over --max-error-rate ${pct(maxErrorRate)}`;
  const failed = s.vusers?.created ? s.vusers.failed / s.vusers.created : 0;
  if (failed > maxErrorRate) {
    const why = Object.entries(s.errorsByKind).map(([k, n]) => `${k} ×${n}`).join(', ');
    return `${s.vusers.failed} of ${s.vusers.created} virtual users (${pct(failed)}) stopped before the end of their session${why ? ` (${why})` : ''}, over --max-error-rate ${pct(maxErrorRate)}`;
  }
  return undefined;
}
