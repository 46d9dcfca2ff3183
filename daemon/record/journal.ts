import * as fs from 'node:fs';
import * as os from 'node:os';
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
    fs.writeSync(this.fd, JSON.stringify({ k: 'start', ...writerIdentity(process.pid) }) + '\n');
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
  const writer = writerOf(journal);
  if (writerAlive(journal)) {
    const who = writer?.host && writer.host !== os.hostname() ? `on ${writer.host}, pid ${writer.pid}` : `pid ${writer?.pid}`;
    throw new Error(`another heavy record (${who}) is recording to ${har}; stop it or pass another --out (or delete ${journal} if it is gone)`);
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

interface Writer { pid: number; started?: string; host?: string }

/** Who a journal's recorder is: its pid, when that process started (pids are reused) and the host. */
function writerIdentity(pid: number): Writer {
  return { pid, started: processStarted(pid), host: os.hostname() };
}

/** The process's start, in clock ticks since boot, with the boot's id: unique while the machine runs (Linux). */
function processStarted(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return `${boot}:${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return undefined;
  }
}

function writerAlive(journal: string): boolean {
  const writer = writerOf(journal);
  if (!writer || writer.pid === process.pid) return false;
  // Another machine's or container's recorder (a shared folder): its pids are not ours to check.
  if (writer.host && writer.host !== os.hostname()) return true;
  if (!alive(writer.pid)) return false;
  // The pid is in use; by the recorder only if that process started when the recorder did.
  const now = processStarted(writer.pid);
  return !(writer.started && now && now !== writer.started);
}

function writerOf(journal: string): Writer | undefined {
  // Only the first line: a journal may be large.
  let first = '';
  try {
    const fd = fs.openSync(journal, 'r');
    try {
      const buf = Buffer.alloc(4096);
      first = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString('utf8').split('\n', 1)[0];
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  try {
    const w = JSON.parse(first) as Partial<Writer>;
    return typeof w.pid === 'number' && w.pid > 0 ? { pid: w.pid, started: w.started, host: w.host } : undefined;
  } catch {
    return undefined; // torn first line: nobody is writing it
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (killed, not yet reaped) is gone for our purposes.
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    } catch { /* no /proc: the signal's answer stands */ }
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
