import * as fs from 'node:fs';
import * as path from 'node:path';
import { harFromJournal, type BuiltHar, type JournalEvent } from './har';
import { SnapshotBuilder } from './snapshot';
import { writeFileAtomic, writeFileAtomicAsync } from '../util/atomicFile';

// The recording on disk while the recorder runs, in two forms:
// - an append-only file of JSON lines next to the HAR-to-be (<out>.journal). Events are
//   buffered and written, then fdatasync'ed, every FLUSH_MS, so a kill -9 (or a power cut)
//   loses at most that much; the next start turns a dead recorder's journal into its HAR.
// - the HAR itself, rewritten atomically from memory whenever something new was recorded,
//   at most every SNAPSHOT_MS. So the file at --out is valid HAR at every moment, holding
//   everything up to the last snapshot, even if nobody ever runs the recorder again.
// Stop writes the final HAR and removes the journal.

export const FLUSH_MS = 250;
export const SNAPSHOT_MS = 500;
/** The wait after a snapshot is SNAPSHOT_DUTY times as long as it took: at most 1/(1+5) of the time. */
const SNAPSHOT_DUTY = 5;
/** Past this much recorded text the HAR is written at stop only (memory and time stay bounded); the journal has it all. */
export const SNAPSHOT_MAX_CHARS = 64 * 1024 * 1024;
export const JOURNAL_SUFFIX = '.journal';

export class Journal {
  private fd: number;
  private buffer: string[] = [];
  /** The recording so far, for the snapshots (undefined once past SNAPSHOT_MAX_CHARS). */
  private snapshots: SnapshotBuilder | undefined = new SnapshotBuilder();
  private events = 0;
  private snapshotted = 0;
  private nextSnapshot = 0;
  /** The snapshot being written: at most one at a time, and close() waits for it. */
  private writing?: Promise<void>;
  private lastError?: string;
  private begun = false;
  private timer: NodeJS.Timeout;
  requests = 0;
  messages = 0;

  /** `har` is the file the journal becomes; `version` goes in its creator. */
  constructor(readonly har: string, private readonly version: string) {
    fs.mkdirSync(path.dirname(har), { recursive: true });
    // 0o600: the journal may hold secrets under --keep-secrets. 'wx': a leftover journal was
    // recovered (or refused) by the caller; one that appeared since is another recorder's
    // (EEXIST), never truncated.
    this.fd = fs.openSync(this.file, 'wx', 0o600);
    // Who writes it, on disk at once: a later start recovers only journals whose recorder is
    // gone, and reads a journal without this line as dead.
    fs.writeSync(this.fd, JSON.stringify({ k: 'start', pid: process.pid }) + '\n');
    fs.fdatasyncSync(this.fd);
    this.timer = setInterval(() => { this.flush(); this.snapshot(); }, FLUSH_MS);
    this.timer.unref();
  }

  /** Recording starts: the HAR at `har` is valid (empty) from now on. Not before, so a start that fails leaves a file there untouched. */
  begin(): void {
    writeAtomic(this.har, this.harText());
    this.begun = true;
  }

  /** A start that failed: nothing was recorded, so no journal is left to recover. */
  async discard(): Promise<void> {
    await this.close();
    fs.rmSync(this.file, { force: true });
  }

  get file(): string {
    return this.har + JOURNAL_SUFFIX;
  }

  append(event: JournalEvent): void {
    if (event.k === 'http' || event.k === 'ws') this.requests++;
    else if (event.k === 'msg') this.messages++;
    // An HTTP entry is serialized once, for the journal line and the snapshots.
    const entryJson = event.k === 'http' ? JSON.stringify(event.entry) : undefined;
    this.buffer.push((entryJson !== undefined ? `{"k":"http","entry":${entryJson}}` : JSON.stringify(event)) + '\n');
    this.events++;
    this.snapshots?.add(event, entryJson);
    if (this.snapshots && this.snapshots.size > SNAPSHOT_MAX_CHARS) {
      this.snapshots = undefined;
      process.stderr.write(`heavy: the recording passed ${SNAPSHOT_MAX_CHARS / 1048576} MiB: ${path.basename(this.har)} is now written at stop, and ${path.basename(this.file)} has everything meanwhile\n`);
    }
  }

  /** Writes what was recorded to the journal. On a failure (a full disk) the lines stay buffered for the next try. */
  flush(): void {
    if (!this.buffer.length || this.fd < 0) return;
    const text = this.buffer.join('');
    try {
      fs.writeSync(this.fd, text);
      fs.fdatasyncSync(this.fd);
      this.buffer = [];
    } catch (err) {
      this.say(`could not write ${this.file}: ${(err as Error).message}`);
      // Written in part or not at all: a torn line is skipped when the journal is read.
      this.buffer = [`\n${text}`];
    }
  }

  private say(message: string): void {
    if (message !== this.lastError) process.stderr.write(`heavy: ${message}\n`);
    this.lastError = message;
  }

  private harText(): string {
    return (this.snapshots ?? new SnapshotBuilder()).text(this.version);
  }

  /** Rewrites the HAR (off the event loop) if anything was recorded since the last time. */
  private snapshot(): void {
    if (this.fd < 0 || !this.begun || !this.snapshots || this.writing || this.events === this.snapshotted || performance.now() < this.nextSnapshot) return;
    const started = performance.now();
    const count = this.events;
    let text: string;
    try {
      text = this.harText();
    } catch (err) {
      // Out of memory for the text: no more snapshots; the journal has it all.
      this.snapshots = undefined;
      this.say(`stopped updating ${this.har} while recording (${(err as Error).message}); it is written at stop`);
      return;
    }
    this.writing = writeFileAtomicAsync(this.har, text, 0o600)
      .then(() => { this.snapshotted = count; })
      // A full disk or a removed folder: the journal still has it; the next stop says more.
      .catch((err: Error) => this.say(`could not update ${this.har}: ${err.message}`))
      .finally(() => {
        this.writing = undefined;
        this.nextSnapshot = performance.now() + Math.max(SNAPSHOT_MS, (performance.now() - started) * SNAPSHOT_DUTY);
      });
  }

  /** Stops the flushes and snapshots; the journal is complete on disk when this resolves. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    // A snapshot still being written would otherwise land after the final HAR.
    await this.writing;
  }
}

/** Recordings hold what the app was sent: readable by their owner only. */
export function writeAtomic(file: string, text: string): void {
  writeFileAtomic(file, text, 0o600);
}

/** Turns a journal into its HAR (the journal's name without .journal) and removes the journal. */
export function finishJournal(journal: string, version: string): BuiltHar & { file: string } {
  const file = journal.slice(0, -JOURNAL_SUFFIX.length);
  const built = harFromJournal(fs.readFileSync(journal, 'utf8'), version);
  writeAtomic(file, JSON.stringify(built.har, null, 2) + '\n');
  fs.rmSync(journal, { force: true });
  return { ...built, file };
}

/**
 * A journal left at `har`'s own path, before a new recording takes that path: a live
 * recorder's is refused; a dead one's becomes a HAR beside it (never overwritten).
 */
export function clearJournalFor(har: string, version: string): (BuiltHar & { file: string }) | undefined {
  const journal = har + JOURNAL_SUFFIX;
  if (!fs.existsSync(journal)) return undefined;
  const pid = writerPid(journal);
  if (pid !== undefined && pid !== process.pid && alive(pid)) {
    throw new Error(`another heavy record (pid ${pid}) is recording to ${har}; stop it or pass another --out`);
  }
  const stem = har.slice(0, -'.har'.length);
  let aside = `${stem}-interrupted.har`;
  for (let n = 2; fs.existsSync(aside); n++) aside = `${stem}-interrupted-${n}.har`;
  const built = harFromJournal(fs.readFileSync(journal, 'utf8'), version);
  writeAtomic(aside, JSON.stringify(built.har, null, 2) + '\n');
  fs.rmSync(journal, { force: true });
  return { ...built, file: aside };
}

/** Journals left in `dir` by a recorder that was killed: each becomes its HAR. */
export function recoverJournals(dir: string, version: string, except?: string): (BuiltHar & { file: string })[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  // A write cut by the kill leaves its temporary file (NAME.har.PID[.async].tmp).
  for (const n of names) {
    const tmp = /\.har\.(\d+)(?:\.async)?\.tmp$/.exec(n);
    if (tmp && Number(tmp[1]) !== process.pid && !alive(Number(tmp[1]))) fs.rmSync(path.join(dir, n), { force: true });
  }
  return names.filter((n) => n.endsWith(`.har${JOURNAL_SUFFIX}`))
    .map((n) => path.join(dir, n))
    .filter((f) => f !== except && !writerAlive(f))
    .map((f) => finishJournal(f, version));
}

function writerAlive(journal: string): boolean {
  const pid = writerPid(journal);
  return pid !== undefined && pid !== process.pid && alive(pid);
}

function writerPid(journal: string): number | undefined {
  const first = fs.readFileSync(journal, 'utf8').split('\n', 1)[0];
  try {
    const pid = (JSON.parse(first) as { pid?: number }).pid;
    return typeof pid === 'number' && pid > 0 ? pid : undefined;
  } catch {
    return undefined; // torn first line: nobody is writing it
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
