// HAR 1.2 types and the journal → HAR step. The recorder appends one JSON line per finished
// request or WebSocket event to a journal (so a kill -9 loses at most the last flush); a HAR
// is built from the journal on stop, or from a leftover journal at the next start.

/** log.creator.name of the recordings heavy record writes; replay knows its own by it. */
export const HEAVY_CREATOR = 'Heavy Dev';

export interface HarHeader { name: string; value: string; comment?: string }
export interface HarCookie { name: string; value: string }
export interface HarWebSocketMessage { type: 'send' | 'receive'; time: number; opcode: number; data: string }

export interface HarEntry {
  pageref?: string;
  startedDateTime: string;
  time: number;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    cookies: HarCookie[];
    headers: HarHeader[];
    queryString: { name: string; value: string }[];
    /** `_encoding: 'base64'`: a binary or multipart body, base64 in `text` (our recordings). */
    postData?: { mimeType: string; text: string; comment?: string; _encoding?: 'base64' };
    headersSize: number;
    bodySize: number;
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    cookies: HarCookie[];
    headers: HarHeader[];
    content: { size: number; mimeType: string; text?: string; encoding?: string; comment?: string };
    redirectURL: string;
    headersSize: number;
    bodySize: number;
  };
  cache: Record<string, never>;
  timings: { blocked?: number; dns?: number; connect?: number; send: number; wait: number; receive: number; ssl?: number };
  serverIPAddress?: string;
  connection?: string;
  comment?: string;
  /** Chrome's name for WebSocket entries. */
  _resourceType?: string;
  _webSocketMessages?: HarWebSocketMessage[];
  /** Ours: which browser session (one user) the entry belongs to; replay groups by it. */
  _session?: string;
}

export interface HarPage { startedDateTime: string; id: string; title: string; pageTimings: { onContentLoad?: number; onLoad?: number } }

export interface Har {
  log: {
    version: '1.2';
    creator: { name: string; version: string };
    pages?: HarPage[];
    entries: HarEntry[];
    comment?: string;
  };
}

/** One line of the journal. */
export type JournalEvent =
  | { k: 'start'; pid: number; started?: string; host?: string }
  | { k: 'http'; entry: HarEntry }
  | { k: 'ws'; id: number; entry: HarEntry }
  | { k: 'msg'; id: number; m: HarWebSocketMessage }
  | { k: 'wsend'; id: number; time: number };

export interface BuiltHar { har: Har; requests: number; messages: number; badLines: number }

/** Builds a HAR from journal text. A torn last line (the process died mid-write) is skipped. */
export function harFromJournal(text: string, version: string): BuiltHar {
  const events: JournalEvent[] = [];
  let badLines = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as JournalEvent);
    } catch {
      badLines++;
    }
  }
  return { ...harFromEvents(events, version), badLines };
}

/** The HAR of a recording's events, in memory (the recorder's snapshots) or read back from its journal. */
export function harFromEvents(events: readonly JournalEvent[], version: string): BuiltHar {
  const entries: HarEntry[] = [];
  const sockets = new Map<number, HarEntry>();
  let messages = 0;
  for (const event of events) {
    if (event.k === 'http') entries.push(event.entry);
    else if (event.k === 'ws') {
      const entry = { ...event.entry, _webSocketMessages: [] as HarWebSocketMessage[] };
      sockets.set(event.id, entry);
      entries.push(entry);
    } else if (event.k === 'msg') {
      const entry = sockets.get(event.id);
      if (entry) {
        entry._webSocketMessages!.push(event.m);
        messages++;
      }
    } else if (event.k === 'wsend') {
      const entry = sockets.get(event.id);
      if (entry) entry.time = Math.max(0, event.time - Date.parse(entry.startedDateTime));
    }
  }
  // A socket still open when the recorder died lasts until its last message.
  for (const entry of sockets.values()) {
    const last = entry._webSocketMessages!.at(-1);
    if (entry.time === 0 && last) entry.time = Math.max(0, last.time * 1000 - Date.parse(entry.startedDateTime));
  }
  entries.sort((a, b) => Date.parse(a.startedDateTime) - Date.parse(b.startedDateTime));
  return { har: buildHar(entries, version), requests: entries.length, messages, badLines: 0 };
}

export function buildHar(entries: HarEntry[], version: string): Har {
  // One HAR page per session, so HAR viewers group a user's requests the way replay does.
  const pages = new Map<string, HarPage>();
  for (const entry of entries) {
    if (!entry._session || pages.has(entry._session)) continue;
    pages.set(entry._session, { startedDateTime: entry.startedDateTime, id: entry._session, title: `session ${entry._session}`, pageTimings: {} });
  }
  return {
    log: {
      version: '1.2',
      creator: { name: HEAVY_CREATOR, version },
      pages: [...pages.values()],
      entries,
    },
  };
}

export function parseCookieHeader(value: string): HarCookie[] {
  return value.split(';').map((p) => p.trim()).filter(Boolean).map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? { name: pair, value: '' } : { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
  });
}

export function parseSetCookie(value: string): HarCookie {
  return parseCookieHeader(value.split(';')[0])[0] ?? { name: '', value: '' };
}
