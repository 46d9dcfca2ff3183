import * as fs from 'node:fs';
import * as path from 'node:path';
import { HEAVY_CREATOR, type Har, type HarEntry, type HarHeader, type HarWebSocketMessage } from './har';

// Reading a HAR to replay: ours or a browser's export. Anything unusable is one line naming
// the file and the entry (the CLI prints it and exits 2), never a stack trace.
//
// A browser export (Chrome DevTools "Save all as HAR", Playwright's recordHar) holds more
// than the app saw: requests to other origins (CDNs, fonts, analytics, extensions), data:
// URLs, answers from the browser's own cache and requests that failed. normaliseHar keeps
// what reached the app's origin and says in one line what it left out, so a load test never
// sends third-party traffic to the target, nor traffic the server never had.

export class HarInputError extends Error {
  override name = 'InputError';
}

/** Reads, checks and normalises one HAR; `notice` gets the one line about left-out entries. */
export function readHar(file: string, notice: (line: string) => void = (line) => process.stderr.write(`heavy: ${line}\n`)): Har {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new HarInputError(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a HAR file' : (err as Error).message}`);
  }
  if (!text.trim()) throw new HarInputError(`${file}: empty file, not a HAR recording`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new HarInputError(`${file}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const { har, note } = normaliseHar(doc, file);
  if (note) notice(note);
  return har;
}

export interface NormalisedHar {
  har: Har;
  /** The origin replayed (scheme://host:port of the app), when there was any entry to take it from. */
  origin?: string;
  /** One line for the user when entries were left out or bodies are missing; no line when all is replayable. */
  note?: string;
}

type Reason = 'origin' | 'scheme' | 'failed' | 'cache';

// Fields browsers add that our HarEntry type does not name.
interface BrowserFields {
  _fromCache?: string;
  _transferSize?: number;
  _fetchedViaServiceWorker?: boolean;
  content?: { _file?: string };
}
interface LoosePostData { mimeType?: string; text?: string; params?: { name: string; value?: string }[]; _file?: string }
interface LooseMessage { type?: string; time?: number; opcode?: number; data?: unknown }

const WEB_SCHEMES = new Set(['http:', 'https:', 'ws:', 'wss:']);

/** Checks every entry (throwing one line naming the file and entry) and keeps what the app's origin answered. */
export function normaliseHar(doc: unknown, file: string): NormalisedHar {
  const log = (doc as Har | undefined)?.log;
  if (!log || typeof log !== 'object' || !Array.isArray(log.entries)) throw new HarInputError(`${file}: not a HAR file (no log.entries)`);
  log.entries.forEach((entry, i) => {
    const problem = entryProblem(entry);
    if (problem) throw new HarInputError(`${file}: entry ${i + 1}: ${problem}`);
  });
  const origin = appOrigin(log.entries);
  // Everything in our own recording went through the one proxy to the one app, whatever Host
  // the client named (localhost and 127.0.0.1, a forwarded name): none of it is another origin.
  const ours = (log as { creator?: { name?: unknown } }).creator?.name === HEAVY_CREATOR;
  const left = new Map<Reason, number>();
  const otherHosts = new Set<string>();
  const kept: HarEntry[] = [];
  let bodiesMissing = 0;
  log.entries.forEach((entry, i) => {
    const reason = leftOutBecause(entry, ours ? undefined : origin);
    if (reason) {
      left.set(reason, (left.get(reason) ?? 0) + 1);
      if (reason === 'origin') otherHosts.add(new URL(entry.request.url).host);
      return;
    }
    const at = `${file}: entry ${i + 1}`;
    const { entry: clean, bodyMissing } = normaliseEntry(entry, path.dirname(file), at);
    if (bodyMissing) bodiesMissing++;
    kept.push(clean);
  });

  const parts: string[] = [];
  const n = (reason: Reason) => left.get(reason) ?? 0;
  if (n('origin')) parts.push(`${n('origin')} to other origins than ${origin} (${[...otherHosts].slice(0, 4).join(', ')}${otherHosts.size > 4 ? ', …' : ''})`);
  if (n('scheme')) parts.push(`${n('scheme')} data:, blob: or extension URL${n('scheme') > 1 ? 's' : ''}`);
  if (n('cache')) parts.push(`${n('cache')} answered by the browser's cache`);
  if (n('failed')) parts.push(`${n('failed')} that got no response`);
  const leftOut = [...left.values()].reduce((a, b) => a + b, 0);
  if (log.entries.length && !kept.length) {
    // Everything was left out: that is the error, in one line, rather than a notice and then "nothing to replay".
    throw new HarInputError(`${file}: nothing to replay: all ${leftOut} entries left out: ${parts.join(', ')}`);
  }
  let note: string | undefined;
  if (leftOut) note = `${file}: left out ${leftOut} of ${log.entries.length} entries: ${parts.join(', ')}`;
  if (bodiesMissing) {
    const bodies = `${bodiesMissing} request bod${bodiesMissing > 1 ? 'ies are' : 'y is'} not in the file (exported without content) and will be sent empty`;
    note = note ? `${note}; ${bodies}` : `${file}: ${bodies}`;
  }
  return { har: { ...(doc as Har), log: { ...log, entries: kept } }, origin, note };
}

function entryProblem(entry: HarEntry): string | undefined {
  if (!entry || typeof entry !== 'object') return 'not an object';
  if (typeof entry.startedDateTime !== 'string' || Number.isNaN(Date.parse(entry.startedDateTime))) return 'startedDateTime is missing or not a date';
  if (!entry.request || typeof entry.request !== 'object') return 'request is missing';
  if (typeof entry.request.method !== 'string' || !entry.request.method) return 'request.method is missing';
  if (typeof entry.request.url !== 'string') return 'request.url is missing';
  try {
    new URL(entry.request.url);
  } catch {
    return `request.url is not a URL: ${JSON.stringify(entry.request.url).slice(0, 80)}`;
  }
  if (entry.request.headers !== undefined && !Array.isArray(entry.request.headers)) return 'request.headers is not a list';
  if (entry._webSocketMessages !== undefined && !Array.isArray(entry._webSocketMessages)) return '_webSocketMessages is not a list';
  return undefined;
}

/** http://host:port for http(s) and ws(s) URLs alike: a page's WebSocket belongs to the page's origin. */
export function originOf(url: string): string {
  const u = new URL(url);
  const scheme = u.protocol === 'ws:' ? 'http:' : u.protocol === 'wss:' ? 'https:' : u.protocol;
  // new URL drops default ports (ws://h:80 → h), so http://h and ws://h:80 compare equal.
  return `${scheme}//${u.host}`;
}

const isWeb = (entry: HarEntry) => WEB_SCHEMES.has(new URL(entry.request.url).protocol);
const answered = (entry: HarEntry) => typeof entry.response?.status === 'number' && entry.response.status > 0;

/**
 * The app is where the browser went: the first page it loaded (`_resourceType: "document"`,
 * set by Chrome DevTools and Playwright), else the first request that got an answer. Our own
 * recordings are never filtered by origin (see normaliseHar).
 */
function appOrigin(entries: HarEntry[]): string | undefined {
  const web = entries.filter(isWeb).sort((a, b) => Date.parse(a.startedDateTime) - Date.parse(b.startedDateTime));
  const first = web.find((e) => e._resourceType === 'document' && answered(e)) ?? web.find(answered) ?? web[0];
  return first && originOf(first.request.url);
}

/** `origin` undefined: every origin is the app's (our own recordings). */
function leftOutBecause(entry: HarEntry, origin: string | undefined): Reason | undefined {
  if (!isWeb(entry)) return 'scheme';
  if (origin !== undefined && originOf(entry.request.url) !== origin) return 'origin';
  // Chrome writes status 0 (with _error), Playwright -1 (with response._failureText) when no
  // response came: blocked, refused, cancelled. Whether the server saw it is unknown.
  if (!answered(entry)) return 'failed';
  if (servedByBrowser(entry)) return 'cache';
  return undefined;
}

/** True when the browser answered the request itself, so the server never saw it. */
export function servedByBrowser(entry: HarEntry): boolean {
  const e = entry as HarEntry & BrowserFields;
  const response = entry.response as HarEntry['response'] & BrowserFields;
  // A WebSocket is never a cache hit, and DevTools may give its handshake no transfer size.
  if (entry._resourceType === 'websocket' || /^wss?:/.test(entry.request.url)) return false;
  // Chrome DevTools: "_fromCache": "memory" | "disk"; a service worker's answer is marked too.
  if (e._fromCache || response._fetchedViaServiceWorker) return true;
  // Chrome DevTools and Playwright (mode "full"): nothing came over the wire.
  if (response._transferSize === 0) return true;
  // Playwright mode "minimal" has no sizes. The headers it records are those Chromium put on
  // the wire, and on the wire there is always a Host (HTTP/1) or :authority (HTTP/2); a cache
  // hit only has the few headers the page itself added. Only browser exports (they mark
  // _resourceType) are judged so; a HAR without headers says nothing either way.
  const headers = entry.request.headers ?? [];
  return entry._resourceType !== undefined && headers.length > 0 && !headers.some((h) => /^(host|:authority)$/i.test(h.name));
}

function normaliseEntry(entry: HarEntry, dir: string, at: string): { entry: HarEntry; bodyMissing: boolean } {
  const request = { ...entry.request };
  // HTTP/2 and HTTP/3 pseudo-headers (:method, :path, :authority, :scheme) are not headers a client sends.
  request.headers = (request.headers ?? []).filter((h: HarHeader) => h && typeof h.name === 'string' && !h.name.startsWith(':'));
  let bodyMissing = false;
  const post = request.postData as LoosePostData | undefined;
  if (post && !post.text) {
    const text = postText(post, dir, at);
    if (text !== undefined) request.postData = { mimeType: post.mimeType ?? '', text };
    else bodyMissing = (request.bodySize ?? 0) > 0 || Number(headerValue(request.headers, 'content-length') ?? 0) > 0;
  }
  const out: HarEntry = { ...entry, request, time: typeof entry.time === 'number' && entry.time > 0 ? entry.time : 0 };
  const messages = webSocketMessages(entry, dir, at);
  if (messages) out._webSocketMessages = messages;
  return { entry: out, bodyMissing };
}

function headerValue(headers: HarHeader[], name: string): string | undefined {
  return headers.find((h) => h.name.toLowerCase() === name)?.value;
}

/** The body when the HAR has it other than as postData.text: form params, or Playwright's content: "attach" file. */
function postText(post: LoosePostData, dir: string, at: string): string | undefined {
  if (post._file) return attached(dir, post._file, at, 'postData._file');
  // HAR allows a form body as params only (Playwright with content "omit" keeps just those).
  if (Array.isArray(post.params) && post.params.length && /x-www-form-urlencoded/i.test(post.mimeType ?? '')) {
    return new URLSearchParams(post.params.map((p): [string, string] => [String(p.name), String(p.value ?? '')])).toString();
  }
  return undefined;
}

function attached(dir: string, name: string, at: string, field: string): string {
  // Playwright writes attached content next to the HAR under a plain file name.
  const file = path.join(dir, path.basename(name));
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw new HarInputError(`${at}: ${field} ${JSON.stringify(name)} is not next to the HAR (copy it with the .har file)`);
  }
}

/**
 * WebSocket messages in the shape replay uses (Chrome DevTools': type send/receive, time in
 * seconds since 1970, opcode 1 text / 2 binary base64). Playwright writes times in
 * milliseconds, -1 in mode "minimal", and with content "attach" a .jsonl file instead.
 */
function webSocketMessages(entry: HarEntry, dir: string, at: string): HarWebSocketMessage[] | undefined {
  let raw = entry._webSocketMessages as LooseMessage[] | undefined;
  const file = (entry.response as HarEntry['response'] & BrowserFields | undefined)?.content?._file;
  if (!raw && file && (entry._resourceType === 'websocket' || /^wss?:/.test(entry.request.url))) {
    raw = attached(dir, file, at, 'response.content._file').split('\n').filter((l) => l.trim()).map((line) => {
      try {
        return JSON.parse(line) as LooseMessage;
      } catch {
        throw new HarInputError(`${at}: response.content._file ${JSON.stringify(file)} has a line that is not JSON`);
      }
    });
  }
  if (!raw) return undefined;
  const start = Date.parse(entry.startedDateTime) / 1000;
  let previous = start;
  const out: HarWebSocketMessage[] = [];
  for (const m of raw) {
    // Control frames (close 8, ping 9, pong 10) are the engine's business, not messages to send.
    const opcode = m?.opcode ?? 1;
    if (!m || typeof m !== 'object' || (opcode !== 1 && opcode !== 2)) continue;
    let time = typeof m.time === 'number' && m.time >= 0 ? m.time : previous;
    // Seconds since 1970 stay under 1e11 until the year 5138; milliseconds are over it since 1973.
    if (time > 1e11) time /= 1000;
    previous = time;
    out.push({ type: m.type === 'send' ? 'send' : 'receive', time, opcode, data: typeof m.data === 'string' ? m.data : JSON.stringify(m.data ?? '') });
  }
  return out;
}
