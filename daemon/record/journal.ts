import * as fs from 'node:fs';
import * as path from 'node:path';
import { harFromJournal, type BuiltHar, type JournalEvent } from './har';
import { writeFileAtomic } from '../util/atomicFile';

// The recording on disk while the recorder runs: an append-only file of JSON lines next to
// the HAR-to-be (<out>.journal). Events are buffered and written, then fdatasync'ed, every
// FLUSH_MS, so a kill -9 (or a power cut) loses at most that much. Stop turns it into the HAR.

export const FLUSH_MS = 250;
export const JOURNAL_SUFFIX = '.journal';

export class Journal {
  private fd: number;
  private buffer: string[] = [];
  private timer: NodeJS.Timeout;
  requests = 0;
  messages = 0;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // 0o600: the journal may hold secrets under --keep-secrets.
    this.fd = fs.openSync(file, 'a', 0o600);
    // Who writes it: a later start recovers only journals whose recorder is gone.
    this.buffer.push(JSON.stringify({ k: 'start', pid: process.pid }) + '\n');
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  append(event: JournalEvent): void {
    if (event.k === 'http' || event.k === 'ws') this.requests++;
    else if (event.k === 'msg') this.messages++;
    this.buffer.push(JSON.stringify(event) + '\n');
  }

  flush(): void {
    if (!this.buffer.length || this.fd < 0) return;
    const text = this.buffer.join('');
    this.buffer = [];
    fs.writeSync(this.fd, text);
    fs.fdatasyncSync(this.fd);
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
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

/** Journals left in `dir` by a recorder that was killed: each becomes its HAR. */
export function recoverJournals(dir: string, version: string, except?: string): (BuiltHar & { file: string })[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith(`.har${JOURNAL_SUFFIX}`))
    .map((n) => path.join(dir, n))
    .filter((f) => f !== except && !writerAlive(f))
    .map((f) => finishJournal(f, version));
}

function writerAlive(journal: string): boolean {
  const first = fs.readFileSync(journal, 'utf8').split('\n', 1)[0];
  let pid: number | undefined;
  try {
    pid = (JSON.parse(first) as { pid?: number }).pid;
  } catch { /* torn first line: nobody is writing it */ }
  if (!pid || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
