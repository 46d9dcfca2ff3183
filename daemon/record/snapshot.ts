import { HEAVY_CREATOR, type HarEntry, type HarWebSocketMessage, type JournalEvent } from './har';

// The recorder's running HAR, kept as text: each HTTP entry is serialized once, when it is
// recorded (the journal line needs that text anyway), so rewriting the HAR every half second
// joins strings instead of parsing and printing the whole recording again. Gives the same
// document as harFromEvents (tested), compact rather than indented.

interface Slot { at: number; seq: number; session?: string; startedDateTime: string; json?: string; socket?: HarEntry }

export class SnapshotBuilder {
  private slots: Slot[] = [];
  private sockets = new Map<number, HarEntry>();
  /** Characters held: the recorder stops snapshotting past a limit. */
  size = 0;

  /** Takes an event, with its entry's JSON when the caller has it (an HTTP entry's). */
  add(event: JournalEvent, entryJson?: string): void {
    if (event.k === 'http') {
      const json = entryJson ?? JSON.stringify(event.entry);
      this.slots.push(slotOf(event.entry, this.slots.length, { json }));
      this.size += json.length;
    } else if (event.k === 'ws') {
      const entry: HarEntry = { ...event.entry, _webSocketMessages: [] as HarWebSocketMessage[] };
      this.sockets.set(event.id, entry);
      this.slots.push(slotOf(entry, this.slots.length, { socket: entry }));
    } else if (event.k === 'msg') {
      const entry = this.sockets.get(event.id);
      if (entry) {
        entry._webSocketMessages!.push(event.m);
        this.size += event.m.data.length + 64;
      }
    } else if (event.k === 'wsend') {
      const entry = this.sockets.get(event.id);
      if (entry) entry.time = Math.max(0, event.time - Date.parse(entry.startedDateTime));
    }
  }

  text(version: string): string {
    const slots = [...this.slots].sort((a, b) => a.at - b.at || a.seq - b.seq);
    const pages = new Map<string, string>();
    for (const s of slots) {
      if (!s.session || pages.has(s.session)) continue;
      pages.set(s.session, JSON.stringify({ startedDateTime: s.startedDateTime, id: s.session, title: `session ${s.session}`, pageTimings: {} }));
    }
    const entries = slots.map((s) => s.json ?? JSON.stringify(openSocket(s.socket!)));
    return `{"log":{"version":"1.2","creator":${JSON.stringify({ name: HEAVY_CREATOR, version })},"pages":[${[...pages.values()].join(',')}],"entries":[${entries.join(',')}]}}\n`;
  }
}

function slotOf(entry: HarEntry, seq: number, rest: Pick<Slot, 'json' | 'socket'>): Slot {
  return { at: Date.parse(entry.startedDateTime), seq, session: entry._session, startedDateTime: entry.startedDateTime, ...rest };
}

/** A socket still open lasts, so far, until its last message (as harFromEvents has it). */
function openSocket(entry: HarEntry): HarEntry {
  const last = entry._webSocketMessages!.at(-1);
  return entry.time === 0 && last ? { ...entry, time: Math.max(0, last.time * 1000 - Date.parse(entry.startedDateTime)) } : entry;
}
