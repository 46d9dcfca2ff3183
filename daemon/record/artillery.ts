import { CredentialSource, type CredentialsConfig, type MissingCredential } from './credentials';
import type { Har, HarEntry, HarHeader, HarWebSocketMessage } from './har';
import { MULTIPART_FIELD, REDACTED } from './redact';

// HAR → an Artillery script. Pure, so the mapping is unit tested; the same script runs with
// `artillery run` here and `artillery run-fargate` (or run-lambda, run-aci) at scale, next to
// its processor (replayProcessor.cjs, copied as PROCESSOR_FILE).
//
// Why one scenario and a processor: Artillery picks a scenario per virtual user at random by
// weight, and runs one engine per scenario, so "one scenario per session, one per WebSocket"
// replayed a session's sockets apart from its HTTP requests, and with --users 1 played one
// randomly picked scenario of several. Here every virtual user runs the one scenario; its
// first step (heavyStart) assigns it the next recorded session in turn, and the session's
// WebSockets are opened by function steps among its HTTP requests, in recorded order.

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
  /** [tool.heavy.record.credentials]: values for redacted headers and fields, a login. */
  credentials?: CredentialsConfig;
}

/** The processor's file name, next to the script (config.processor is relative to the script). */
export const PROCESSOR_FILE = 'heavy-replay.cjs';

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

// Headers the engine sets itself, or that would lie on replay. Cookies come from each user's
// own jar (the app's Set-Cookie, the configured login), never from the recording.
const SKIP_HEADERS = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'cookie', 'accept-encoding',
  'upgrade', 'te', 'proxy-connection', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-proto']);

/** Collects the placeholders with no configured value, by header or field name. */
class Missing {
  private readonly byName = new Map<string, MissingCredential>();
  add(kind: 'header' | 'field', name: string, where: string): undefined {
    const key = `${kind}:${name.toLowerCase()}`;
    const known = this.byName.get(key);
    if (known) known.count++;
    else this.byName.set(key, { kind, name, where, count: 1 });
    return undefined;
  }
  list(): MissingCredential[] {
    return [...this.byName.values()];
  }
}

interface Context { creds: CredentialSource; missing: Missing; where: string; literals: string[] }

/**
 * A recorded string as Artillery must send it. Artillery (and the processor) expand {{ ... }}
 * in urls, headers and bodies, re-scanning what they put in, so a recorded "{{ name }}" would be
 * sent as "" and a recorded "{{ $processEnvironment.KEY }}" as the replaying machine's secret.
 * Such a string goes into a variable heavyStart sets, referenced alone: a template that is one
 * variable and nothing else is replaced by its value as it is.
 */
function literal(value: string, ctx: Context): string {
  if (!value.includes('{{')) return value;
  let index = ctx.literals.indexOf(value);
  if (index < 0) index = ctx.literals.push(value) - 1;
  return `{{ ${LITERAL_VAR}${index} }}`;
}

export const LITERAL_VAR = 'heavyLiteral';

function replayHeaders(headers: HarHeader[], ctx: Context, skip: (lower: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name, value } of headers) {
    const lower = name.toLowerCase();
    // HTTP/2 pseudo-headers from browser exports, the WebSocket handshake's own.
    if (lower.startsWith(':') || SKIP_HEADERS.has(lower) || skip(lower)) continue;
    // A configured value replaces the recorded one, redacted or not (a browser export keeps
    // yesterday's token in clear); a placeholder without one is reported before any load.
    const configured = ctx.creds.header(lower);
    if (configured !== undefined) out[lower] = configured;
    else if (value.includes(REDACTED)) ctx.missing.add('header', name, ctx.where);
    else out[lower] = literal(value, ctx);
  }
  return out;
}

/** A JSON value with its redacted fields replaced by their templates. */
function fillJson(value: unknown, ctx: Context, key?: string): unknown {
  if (typeof value === 'string' && value.includes(REDACTED) && key !== undefined) {
    // A body field named like a redacted header (an echoed Authorization) takes the header's value.
    return ctx.creds.field(key) ?? ctx.creds.header(key) ?? ctx.missing.add('field', key, ctx.where) ?? value;
  }
  if (typeof value === 'string') return literal(value, ctx);
  if (Array.isArray(value)) return value.map((v) => fillJson(v, ctx, key));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillJson(v, ctx, k)]));
  return value;
}

/** Part of a body the processor's heavyBody assembles: recorded text, or a credential encoded for where it goes. */
export type BodyPart = string | { fill: string; as: 'json' | 'form' | 'raw' } | { base64: string };

/** body, or json/form when redacted fields are filled (Artillery escapes and encodes those). */
function requestBody(postData: { mimeType?: string; text: string; _encoding?: string }, ctx: Context): Record<string, unknown> {
  if (postData._encoding === 'base64') return binaryBody(postData.text, ctx);
  const text = postData.text;
  if (!text.includes(REDACTED)) return { body: literal(text, ctx) };
  const mime = postData.mimeType ?? '';
  if (/json/i.test(mime)) {
    try {
      return { json: fillJson(JSON.parse(text), ctx) };
    } catch { /* a cut body: by pattern below */ }
  }
  if (/x-www-form-urlencoded/i.test(mime)) {
    const params = new URLSearchParams(text);
    const keys = [...params.keys()];
    if (new Set(keys).size === keys.length) {
      return { form: Object.fromEntries([...params.entries()].map(([k, v]) => [k, v.includes(REDACTED) ? (fillJson(v, ctx, k) as string) : literal(v, ctx)])) };
    }
  }
  // A truncated JSON body or a form with repeated keys: the processor's heavyBody puts each
  // credential in place at run time, JSON-escaped or URL-encoded (a template put in the text
  // would be inserted raw: a password with '&' or '"' would break the body), around the
  // recorded text sent as it is.
  const parts: BodyPart[] = [];
  const pattern = /("([^"\\]{1,100})"\s*:\s*)"__heavy_redacted__"|([^&=]+)(=)__heavy_redacted__/g;
  let last = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    const [whole, jsonLead, jsonKey, formKey] = m;
    let key = jsonKey;
    if (formKey !== undefined) {
      try {
        key = decodeURIComponent(formKey.replace(/\+/g, ' '));
      } catch {
        key = formKey;  // a malformed %-escape: the key as written
      }
    }
    const value = fillJson(REDACTED, ctx, key) as string;
    if (value === REDACTED) continue;  // reported as missing: no load starts
    parts.push(text.slice(last, m.index) + (jsonLead ?? `${formKey}=`));
    parts.push({ fill: value, as: jsonLead ? 'json' : 'form' });
    last = m.index + whole.length;
  }
  parts.push(text.slice(last));
  return { beforeRequest: 'heavyBody', heavyBody: parts.filter((p) => p !== '') };
}

/**
 * A binary or multipart body, sent byte for byte (Artillery's body is text): the processor's
 * heavyBody decodes it. Redacted multipart fields are filled from `fields.NAME` as they are.
 */
function binaryBody(base64: string, ctx: Context): Record<string, unknown> {
  const latin1 = Buffer.from(base64, 'base64').toString('latin1');
  if (!latin1.includes(REDACTED)) return { beforeRequest: 'heavyBody', heavyBody: [{ base64 }] };
  const parts: BodyPart[] = [];
  let last = 0;
  for (const m of latin1.matchAll(MULTIPART_FIELD)) {
    const [, head, name, value] = m;
    if (value !== REDACTED) continue;
    const filled = fillJson(REDACTED, ctx, name) as string;
    if (filled === REDACTED) continue;  // reported as missing: no load starts
    const start = m.index! + head.length;
    parts.push({ base64: Buffer.from(latin1.slice(last, start), 'latin1').toString('base64') }, { fill: filled, as: 'raw' });
    last = start + value.length;
  }
  parts.push({ base64: Buffer.from(latin1.slice(last), 'latin1').toString('base64') });
  return { beforeRequest: 'heavyBody', heavyBody: parts };
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']);
export const isWebSocket = (e: HarEntry): boolean => e._resourceType === 'websocket' || /^wss?:/.test(e.request.url) || e.response?.status === 101;

/** Artillery reads think times without a unit as whole seconds: fractions go in milliseconds. */
export function thinkStep(seconds: number): { think: number | string } | undefined {
  const ms = Math.round(seconds * 1000);
  if (ms < 10) return undefined;
  return { think: ms % 1000 === 0 ? ms / 1000 : `${ms}ms` };
}

function pathOf(url: string): string {
  const u = new URL(url.replace(/^ws/, 'http'));
  return u.pathname + u.search;
}

function httpStep(entry: HarEntry, ctx: Context): Record<string, unknown> | undefined {
  const method = entry.request.method.toLowerCase();
  // Methods Artillery has no step for (TRACE, CONNECT, WebDAV's) are left out.
  if (!METHODS.has(method)) return undefined;
  // A redacted query parameter (?token=...) is filled like a redacted field: taken out of the
  // url and put back by the processor's heavyQuery, URL-encoded, at run time (Artillery's `qs`
  // would replace the whole query). The rest of the query is sent byte for byte as recorded.
  const u = new URL(entry.request.url.replace(/^ws/, 'http'));
  const kept: string[] = [];
  const query: { key: string; fill: string }[] = [];
  for (const pair of u.search.slice(1).split('&').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq < 0 || !pair.slice(eq + 1).includes(REDACTED)) {
      kept.push(pair);
      continue;
    }
    let name = pair.slice(0, eq);
    try {
      name = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch { /* a malformed %-escape: the key as written */ }
    const filled = fillJson(REDACTED, ctx, name) as string;
    if (filled !== REDACTED) query.push({ key: pair.slice(0, eq), fill: filled });  // else reported as missing
  }
  const spec: Record<string, unknown> = {
    // Artillery puts the target in front of the url before expanding it, so a variable would not
    // stand alone there: braces are percent-encoded instead, which servers read the same.
    url: (u.pathname + (kept.length ? `?${kept.join('&')}` : '')).replace(/[{}]/g, (c) => (c === '{' ? '%7B' : '%7D')),
    name: literal(routeTemplate(entry.request.method, entry.request.url), ctx),
  };
  const before: string[] = [];
  if (query.length) {
    before.push('heavyQuery');
    spec.heavyQuery = query;
  }
  const headers = replayHeaders(entry.request.headers ?? [], ctx);
  if (Object.keys(headers).length) spec.headers = headers;
  if (entry.request.postData?.text) {
    const body = requestBody(entry.request.postData, ctx);
    if (body.beforeRequest) before.push(body.beforeRequest as string);
    Object.assign(spec, body);
  }
  if (before.length) spec.beforeRequest = before.length === 1 ? before[0] : before;
  // The recording holds the next hop of a redirect as its own entry: following it too would send it twice.
  const status = entry.response?.status ?? 0;
  if (entry.response?.redirectURL || (status >= 300 && status < 400 && status !== 304)) spec.followRedirect = false;
  // What the app answered when recorded: the processor's heavyCheck counts an answer of
  // another class (a 401 or 404 where the recording got a 200) as an error, since the replay
  // did not do what the user did.
  // A body cut at max_body is replayed cut: the app's answer to it says nothing.
  const cut = (entry.request.bodySize ?? 0) > 0 && /truncated/.test(entry.request.postData?.comment ?? '');
  if (status >= 100 && !cut) Object.assign(spec, { heavyStatus: status, afterResponse: 'heavyCheck' });
  return { [method]: spec };
}

/** What the processor needs to replay one recorded WebSocket (the scenario's "heavy" data). */
export interface SocketSpec {
  path: string;
  protocols?: string[];
  headers?: Record<string, string>;
  /** Seconds after the socket opened (already divided by --speed). */
  sends: ({ at: number } & ({ text: string } | { json: unknown } | { base64: string }))[];
  /** Messages the recording received: the socket stays open until as many came back (at most 5 s more). */
  receives: number;
  closeAt: number;
}

function socketSpec(entry: HarEntry, speed: number, ctx: Context): SocketSpec {
  const opened = Date.parse(entry.startedDateTime) / 1000;
  const messages: HarWebSocketMessage[] = entry._webSocketMessages ?? [];
  const round = (s: number) => Math.max(0, Math.round((s / speed) * 1000) / 1000);
  const sends = messages.filter((m) => m.type === 'send').map((m) => {
    const at = round(m.time - opened);
    if (m.opcode === 2) return { at, base64: m.data };
    if (m.data.includes(REDACTED)) {
      try {
        return { at, json: fillJson(JSON.parse(m.data), ctx) };
      } catch { /* not JSON: sent as recorded */ }
    }
    return { at, text: literal(m.data, ctx) };
  });
  // The recorded pause between the last send and the close (at most 5 s); the processor also waits for the replies.
  const lastSend = sends.at(-1)?.at ?? 0;
  const lastMessage = messages.length ? round(messages.at(-1)!.time - opened) : 0;
  const protocols = (entry.request.headers ?? []).find((h) => h.name.toLowerCase() === 'sec-websocket-protocol')?.value
    .split(',').map((p) => p.trim()).filter(Boolean);
  const headers = replayHeaders(entry.request.headers ?? [], ctx, (lower) => lower.startsWith('sec-websocket'));
  return {
    path: pathOf(entry.request.url),
    ...(protocols?.length ? { protocols } : {}),
    ...(Object.keys(headers).length ? { headers } : {}),
    sends,
    receives: messages.length - sends.length,
    closeAt: Math.round((lastSend + Math.min(5, Math.max(0, lastMessage - lastSend))) * 1000) / 1000,
  };
}

/** One pass over a session: its HTTP requests and WebSocket openings in recorded order, with the recorded pauses. */
function sessionPass(session: Session, plan: ReplayPlan, ctx: Context, sockets: SocketSpec[]): Record<string, unknown>[] {
  const flow: Record<string, unknown>[] = [{ function: 'heavyPass' }];
  let previousEnd: number | undefined;
  session.entries.forEach((entry, i) => {
    const start = Date.parse(entry.startedDateTime);
    if (previousEnd !== undefined) {
      const think = thinkStep((start - previousEnd) / 1000 / plan.speed);
      if (think) flow.push(think);
    }
    ctx.where = `${routeTemplate(entry.request.method, entry.request.url)}, request ${i + 1} of session ${session.id}`;
    if (isWebSocket(entry)) {
      sockets.push(socketSpec(entry, plan.speed, ctx));
      flow.push({ function: 'heavySocket' });
      // The socket lives on beside the requests that follow: the next pause counts from its opening.
      previousEnd = Math.max(previousEnd ?? 0, start);
      return;
    }
    const step = httpStep(entry, ctx);
    if (step) flow.push(step);
    previousEnd = Math.max(previousEnd ?? 0, start + Math.max(0, entry.time || 0));
  });
  if (sockets.length) flow.push({ function: 'heavyWaitSockets' });
  // --duration: passes again while the user's time lasts (the first pass always runs).
  return plan.duration > 0 ? [{ loop: flow, whileTrue: 'heavyAgain', loopValue: 'heavyPassNumber' }] : flow;
}

/**
 * Cookies a session sent before any recorded response set them (the recording began after
 * the login, or a script set them in the browser): replay cannot send those, since each user's
 * jar only holds what the app sets. One per name, with the first request that sent it.
 */
export function unsetCookies(session: Session): { name: string; where: string }[] {
  const set = new Set<string>();
  const found = new Map<string, string>();
  session.entries.forEach((entry, i) => {
    const header = (entry.request.headers ?? []).filter((h) => h.name.toLowerCase() === 'cookie').map((h) => h.value).join(';');
    const sent = entry.request.cookies?.length ? entry.request.cookies.map((c) => c.name) : header.split(';').map((p) => p.split('=')[0].trim()).filter(Boolean);
    for (const name of sent) {
      if (!set.has(name) && !found.has(name)) found.set(name, `${routeTemplate(entry.request.method, entry.request.url)}, request ${i + 1} of session ${session.id}`);
    }
    for (const c of entry.response?.cookies ?? []) set.add(c.name);
    for (const h of entry.response?.headers ?? []) if (h.name.toLowerCase() === 'set-cookie') set.add(h.value.split(';')[0].split('=')[0].trim());
  });
  return [...found].map(([name, where]) => ({ name, where }));
}

export interface Replay {
  script: Record<string, unknown>;
  /** Cookies the recording sent that no recorded response (and no configured login) sets: a warning, not an error. */
  unsetCookies: { name: string; where: string }[];
  /** Placeholders with no configured value: replay refuses to start while there are any. */
  missing: MissingCredential[];
  /** Environment variables the script reads ({{ $processEnvironment.NAME }}). */
  env: string[];
}

export function buildReplay(sessions: Session[], plan: ReplayPlan): Replay {
  const creds = new CredentialSource(plan.credentials);
  const ctx: Context = { creds, missing: new Missing(), where: '', literals: [] };
  const login = creds.loginStep();
  const data: { id: string; sockets: SocketSpec[] }[] = [];
  const passes = sessions.map((session) => {
    const sockets: SocketSpec[] = [];
    const pass = sessionPass(session, plan, ctx, sockets);
    data.push({ id: session.id, sockets });
    return pass;
  });
  const flow: Record<string, unknown>[] = [{ function: 'heavyStart' }, ...(login ? [login] : [])];
  if (passes.length === 1) flow.push(...passes[0]);
  // Each user plays the one session heavyStart gave it: the others' loops run over an empty list.
  else passes.forEach((pass, k) => flow.push({ loop: pass, over: `heavyPlays[${k}]`, loopValue: 'heavySessionLoop', loopElement: 'heavySessionIndex' }));
  const arrivals = plan.users * sessions.length;
  const script = {
    config: {
      target: plan.target,
      processor: `./${PROCESSOR_FILE}`,
      // users x sessions arrivals: every user plays every recorded session once (heavyStart deals them out).
      phases: [{ duration: Math.max(1, plan.ramp), arrivalCount: arrivals, name: `${plan.users} users x ${sessions.length} sessions` }],
      plugins: { 'metrics-by-endpoint': { useOnlyRequestNames: true } },
      http: { timeout: 30 },
    },
    scenarios: [{ name: 'replay', heavy: { sessions: data, duration: plan.duration, literals: ctx.literals }, flow }],
  };
  // With a login, the session cookie comes from it; which cookies it sets is only known at run time.
  const unset = login ? [] : sessions.flatMap(unsetCookies);
  return { script, unsetCookies: unset, missing: ctx.missing.list(), env: [...creds.used] };
}

export function artilleryScript(sessions: Session[], plan: ReplayPlan): Record<string, unknown> {
  return buildReplay(sessions, plan).script;
}
