import type { Har, HarEntry, HarHeader } from './har';
import { REDACTED } from './redact';

// HAR → an Artillery script. Pure, so the mapping is unit tested; the same script runs with
// `artillery run` here and `artillery run-fargate` (or run-lambda, run-aci) at scale.

export interface ReplayPlan {
  /** http://host:port the load goes to. */
  target: string;
  users: number;
  /** Seconds over which the users arrive (0: at once). */
  ramp: number;
  /** Seconds each user keeps repeating its session; 0: play it once. */
  duration: number;
  /** Think times are the recorded gaps divided by this. */
  speed: number;
}

export interface Session {
  id: string;
  entries: HarEntry[];
}

/** Sessions as recorded (our `_session` mark); a browser export is one user, one session per file. */
export function sessionsOf(hars: Har[]): Session[] {
  const sessions: Session[] = [];
  hars.forEach((har, fileIndex) => {
    const byId = new Map<string, HarEntry[]>();
    for (const entry of har.log.entries) {
      const id = entry._session ?? 'browser';
      if (!byId.has(id)) byId.set(id, []);
      byId.get(id)!.push(entry);
    }
    for (const [id, entries] of byId) {
      entries.sort((a, b) => Date.parse(a.startedDateTime) - Date.parse(b.startedDateTime));
      sessions.push({ id: hars.length > 1 ? `${fileIndex + 1}.${id}` : id, entries });
    }
  });
  return sessions.filter((s) => s.entries.length > 0);
}

/** "GET /notes/{id}": numbers, UUIDs and long hex or mixed tokens in a path become {id}. */
export function routeTemplate(method: string, url: string): string {
  const { pathname } = new URL(url);
  const parts = pathname.split('/').map((p) => (/^\d+$/.test(p) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(p)
    || /^[0-9a-f]{16,}$/i.test(p) || (/\d/.test(p) && /[a-z]/i.test(p) && p.length >= 20) ? '{id}' : p));
  return `${method.toUpperCase()} ${parts.join('/') || '/'}`;
}

// Headers the engine sets itself, or that would lie on replay.
const SKIP_HEADERS = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'cookie', 'accept-encoding',
  'upgrade', 'te', 'proxy-connection', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-proto']);

function replayHeaders(headers: HarHeader[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name, value } of headers) {
    const lower = name.toLowerCase();
    // HTTP/2 pseudo-headers from browser exports, redacted credentials, WebSocket handshake.
    if (lower.startsWith(':') || SKIP_HEADERS.has(lower) || lower.startsWith('sec-websocket') || value.includes(REDACTED)) continue;
    out[lower] = value;
  }
  return out;
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']);
const isWebSocket = (e: HarEntry) => e._resourceType === 'websocket' || /^wss?:/.test(e.request.url) || e.response?.status === 101;

/** Artillery reads think times without a unit as whole seconds: fractions go in milliseconds. */
export function thinkStep(seconds: number): { think: number | string } | undefined {
  const ms = Math.round(seconds * 1000);
  if (ms < 10) return undefined;
  return { think: ms % 1000 === 0 ? ms / 1000 : `${ms}ms` };
}

function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

function httpStep(entry: HarEntry): Record<string, unknown> | undefined {
  const method = entry.request.method.toLowerCase();
  const spec: Record<string, unknown> = {
    url: pathOf(entry.request.url),
    name: routeTemplate(entry.request.method, entry.request.url),
  };
  const headers = replayHeaders(entry.request.headers ?? []);
  if (Object.keys(headers).length) spec.headers = headers;
  const body = entry.request.postData?.text;
  if (body) spec.body = body;
  // The recording holds the next hop of a redirect as its own entry: following it too would send it twice.
  if (entry.response?.redirectURL) spec.followRedirect = false;
  // Methods Artillery has no step for (TRACE, CONNECT, WebDAV's) are left out.
  return METHODS.has(method) ? { [method]: spec } : undefined;
}

function sessionLength(entries: HarEntry[]): number {
  const first = Date.parse(entries[0].startedDateTime);
  const last = Math.max(...entries.map((e) => Date.parse(e.startedDateTime) + Math.max(0, e.time || 0)));
  return Math.max(0.001, (last - first) / 1000);
}

export function artilleryScript(sessions: Session[], plan: ReplayPlan): Record<string, unknown> {
  const scenarios: Record<string, unknown>[] = [];
  const wsTarget = plan.target.replace(/^http/, 'ws');
  for (const session of sessions) {
    const http = session.entries.filter((e) => !isWebSocket(e));
    const sockets = session.entries.filter(isWebSocket);
    if (http.length) {
      const flow: Record<string, unknown>[] = [];
      let previousEnd: number | undefined;
      for (const entry of http) {
        const start = Date.parse(entry.startedDateTime);
        if (previousEnd !== undefined) {
          const think = thinkStep((start - previousEnd) / 1000 / plan.speed);
          if (think) flow.push(think);
        }
        const step = httpStep(entry);
        if (step) flow.push(step);
        previousEnd = Math.max(previousEnd ?? 0, start + Math.max(0, entry.time || 0));
      }
      const loops = plan.duration > 0 ? Math.max(1, Math.floor(plan.duration / (sessionLength(http) / plan.speed))) : 1;
      scenarios.push({ name: `session ${session.id}`, weight: 1, flow: loops > 1 ? [{ loop: flow, count: loops }] : flow });
    }
    sockets.forEach((entry, i) => {
      // Artillery's engines are one per scenario: each recorded socket is its own scenario.
      const flow: Record<string, unknown>[] = [{ connect: { target: wsTarget + pathOf(entry.request.url.replace(/^ws/, 'http')) } }];
      let previous = Date.parse(entry.startedDateTime) / 1000;
      const messages = entry._webSocketMessages ?? [];
      for (const m of messages) {
        const think = thinkStep((m.time - previous) / plan.speed);
        if (m.type === 'send') {
          if (think) flow.push(think);
          flow.push({ send: m.opcode === 2 ? Buffer.from(m.data, 'base64').toString('latin1') : m.data });
          previous = m.time;
        }
      }
      // Let the last replies arrive before closing, as the recording did (at most 5 s).
      const lastTime = messages.at(-1)?.time;
      if (lastTime !== undefined) {
        const tail = thinkStep(Math.min(5, (lastTime - previous) / plan.speed));
        if (tail) flow.push(tail);
      }
      scenarios.push({ name: `session ${session.id} websocket ${i + 1}`, engine: 'ws', weight: 1, flow });
    });
  }
  return {
    config: {
      target: plan.target,
      phases: [{ duration: Math.max(1, plan.ramp), arrivalCount: plan.users, name: `${plan.users} users` }],
      plugins: { 'metrics-by-endpoint': { useOnlyRequestNames: true } },
      http: { timeout: 30 },
    },
    scenarios,
  };
}
