import { spawnSync } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOrCreateKey } from './keys';
import { TimeError } from './timeError';
import { after, toBlocks, type Activity, type BlockOptions } from './blocks';
import type { CoSignature, Witnessed } from './witness';
import { keyId, lineHash, parsePublicKeys, publicKeyLine, recordLine, signRecord, LEDGER_VERSION, type LedgerRecord } from './ledger';
import { isAlive } from '../util/process';
import { writeFileAtomic } from '../util/atomicFile';

// Files on disk: the running log (local, ignored), the ledger and public keys (committed),
// the private key (the user's config folder, never the repository).

export { TimeError } from './timeError';
export { loadOrCreateKey, privateKeyFile } from './keys';

export interface TimePaths {
  dir: string;
  ledger: string;
  publicKeys: string;
  running: string;
  lock: string;
  tracker: string;
}

export function timePaths(root: string, user: string): TimePaths {
  const dir = path.join(root, '.heavy', 'time');
  return {
    dir,
    ledger: path.join(dir, `${user}.jsonl`),
    publicKeys: path.join(dir, 'keys', `${user}.pub`),
    running: path.join(dir, '.running', `${user}.jsonl`),
    lock: path.join(dir, '.running', `${user}.lock`),
    tracker: path.join(dir, '.running', `${user}.tracker`),
  };
}

const SAFE_USER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** --user, then HEAVY_USER, then [tool.heavy.time].user, then the local part of git's user.email. */
export function resolveUser(root: string, flag: string | undefined, configured: string | undefined): string {
  let user = flag ?? process.env.HEAVY_USER ?? configured;
  let source = flag ? '--user' : process.env.HEAVY_USER ? 'HEAVY_USER' : configured ? '[tool.heavy.time] user' : 'git config user.email';
  if (!user) {
    const email = spawnSync('git', ['config', 'user.email'], { cwd: root, encoding: 'utf8' }).stdout?.trim();
    user = email ? email.split('@')[0] : undefined;
    source = 'git config user.email';
  }
  if (!user) throw new TimeError('no user for time tracking: pass --user NAME, set HEAVY_USER, set user under [tool.heavy.time], or set git config user.email');
  if (!SAFE_USER.test(user) || user.includes('..')) {
    throw new TimeError(`the user "${user}" (from ${source}) cannot be a file name: use letters, digits, ".", "_" and "-" (at most 64)`);
  }
  return user;
}

export function ensureGitignore(root: string): void {
  const dir = path.join(root, '.heavy');
  fs.mkdirSync(path.join(dir, 'time', '.running'), { recursive: true });
  const file = path.join(dir, '.gitignore');
  if (!fs.existsSync(file)) fs.writeFileSync(file, '# Written by Heavy Dev: the running time log is local; cemented logs are committed.\ntime/.running/\n');
}

// ---------------------------------------------------------------- lock


/** A short-held lock shared by the tracker's appends and cement's rewrite. */
export function withLock<T>(lock: string, fn: () => T, timeoutMs = 10_000): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(lock, { encoding: 'utf8', flag: 'a+' }) || 0);
      if (holder && !isAlive(holder)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new TimeError(`${lock} is held by process ${holder || '?'}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

// ---------------------------------------------------------------- running log

export type RunningEntry =
  | { t: 'a'; at: number; b: string; f?: string }
  /** The witness's co-signature for the activity with the same at, b and f. */
  | { t: 'w'; at: number; b: string; f?: string; c: CoSignature }
  | { t: 'pause'; at: number }
  | { t: 'resume'; at: number };

export interface RunningLog {
  activity: Activity[];
  witnessed: Array<{ at: number; branch: string; file?: string; c: CoSignature }>;
  paused: Array<{ from: number; to?: number }>;
  warnings: string[];
}

export function readRunningLog(file: string): RunningLog {
  const log: RunningLog = { activity: [], witnessed: [], paused: [], warnings: [] };
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return log;
  }
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let e: RunningEntry;
    try {
      e = JSON.parse(line);
      if (typeof e.at !== 'number') throw new Error();
    } catch {
      // A torn last line (kill -9 mid-write) or damage: skip it, keep the rest.
      log.warnings.push(`${file}:${i + 1}: skipped a corrupted line`);
      return;
    }
    if (e.t === 'a') log.activity.push({ at: e.at, branch: e.b, file: e.f });
    else if (e.t === 'w') log.witnessed.push({ at: e.at, branch: e.b, file: e.f, c: e.c });
    else if (e.t === 'pause' && !log.paused.some((p) => p.to === undefined)) log.paused.push({ from: e.at });
    else if (e.t === 'resume') {
      const open = log.paused.find((p) => p.to === undefined);
      if (open) open.to = e.at;
    }
  });
  return log;
}

/** Appends one line; O_APPEND and a single write, so a kill at any moment leaves whole lines. */
export function appendRunning(paths: TimePaths, entry: RunningEntry): void {
  const line = JSON.stringify(entry) + '\n';
  fs.mkdirSync(path.dirname(paths.running), { recursive: true });
  withLock(paths.lock, () => {
    // A torn line from a killed writer must not swallow this one.
    let prefix = '';
    try {
      const fd = fs.openSync(paths.running, 'r');
      const size = fs.fstatSync(fd).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        fs.readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) prefix = '\n';
      }
      fs.closeSync(fd);
    } catch { /* new file */ }
    fs.appendFileSync(paths.running, prefix + line, { mode: 0o600 });
  });
}

// ---------------------------------------------------------------- ledger

export function readLedgerLines(file: string): string[] {
  try {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines;
  } catch {
    return [];
  }
}

/** End of the last cemented block (epoch ms), or 0. */
export function cementedThrough(lines: string[]): number {
  let through = 0;
  for (const line of lines) {
    try {
      through = Math.max(through, Date.parse((JSON.parse(line) as LedgerRecord).end));
    } catch { /* verify reports it */ }
  }
  return through;
}

export interface CementResult {
  added: LedgerRecord[];
  seconds: number;
  warnings: string[];
}

/**
 * Moves finished blocks, and the open one up to now, into the signed ledger. The ledger
 * itself says how far it reaches, so a cement killed at any point is simply redone.
 */
export function cement(root: string, user: string, options: BlockOptions, now = Date.now()): CementResult {
  const paths = timePaths(root, user);
  ensureGitignore(root);
  const key = loadOrCreateKey(user);
  return withLock(paths.lock, () => {
    const log = readRunningLog(paths.running);
    const lines = readLedgerLines(paths.ledger);
    const through = cementedThrough(lines);
    // The open block is cemented up to its last activity, not up to now: a second cement
    // with no new activity then adds nothing. Its trailing padding comes once it is finished.
    const blocks = after(toBlocks(log.activity, { ...options, paused: log.paused }, now)
      .map((b) => (b.open ? { ...b, end: Math.max(b.start, Math.min(b.end, b.last)) } : b)), through)
      .filter((b) => b.end - b.start >= 1000);
    const added: LedgerRecord[] = [];
    let prev = lines.length ? lineHash(lines[lines.length - 1]) : undefined;
    const newLines: string[] = [];
    for (const b of blocks) {
      const start = Math.floor(b.start / 1000) * 1000;
      const end = Math.floor(b.end / 1000) * 1000;
      if (end <= Math.max(start, through)) continue;
      const s = Math.max(start, through);
      const record = signRecord({
        v: LEDGER_VERSION, user, key: key.id,
        start: new Date(s).toISOString(), end: new Date(end).toISOString(), seconds: (end - s) / 1000,
        branch: b.branch, files: b.files.length, witness: witnessFor(log, b.branch, Math.max(b.start, through), b.end), prev,
      }, key.privateKey);
      const line = recordLine(record);
      newLines.push(line);
      prev = lineHash(line);
      added.push(record);
    }
    if (newLines.length) {
      addPublicKey(paths.publicKeys, key.publicKey);
      writeFileAtomic(paths.ledger, [...lines, ...newLines].join('\n') + '\n');
      // Keep only what the open block still needs, so the running log does not grow forever.
      const keepFrom = Date.parse(added[added.length - 1].end) - options.idleMs - options.paddingMs;
      const kept = fs.existsSync(paths.running)
        ? fs.readFileSync(paths.running, 'utf8').split('\n').filter((line) => {
          try {
            const e = JSON.parse(line) as RunningEntry;
            return (e.t !== 'a' && e.t !== 'w') || e.at >= keepFrom;
          } catch {
            return false;
          }
        })
        : [];
      writeFileAtomic(paths.running, kept.length ? kept.join('\n') + '\n' : '');
    } else if (!fs.existsSync(paths.publicKeys) || !parsePublicKeys(fs.readFileSync(paths.publicKeys, 'utf8')).has(key.id)) {
      addPublicKey(paths.publicKeys, key.publicKey);
    }
    return { added, seconds: added.reduce((n, r) => n + r.seconds, 0), warnings: log.warnings };
  });
}

/** The first and last witnessed activity inside a record's span: enough to pin it in time. */
function witnessFor(log: RunningLog, branch: string, start: number, end: number): Witnessed[] | undefined {
  const inside = log.witnessed
    .filter((w) => w.branch === branch && w.at >= start && w.at <= end)
    .sort((a, b) => a.at - b.at);
  if (!inside.length) return undefined;
  const picked = inside.length === 1 ? inside : [inside[0], inside[inside.length - 1]];
  return picked.map((w) => ({ a: w.at, f: w.file, at: w.c.at, key: w.c.key, sig: w.c.sig }));
}

export interface ImportResult {
  added: number;
  seconds: number;
  skipped: string[];
}

/**
 * Converts a ptyme-track cemented file (JSON lines with "time" in UTC and "stop") into
 * blocks marked imported: signed by the importer from now on, but their times are only
 * as good as ptyme-track's, so verify reports them as imported, not verified.
 */
export function importPtyme(root: string, user: string, source: string, options: BlockOptions, now = Date.now()): ImportResult {
  const text = fs.readFileSync(source, 'utf8');
  const activity: Activity[] = [];
  const skipped: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      const entry = JSON.parse(line) as { time?: string; stop?: boolean };
      const at = Date.parse(`${String(entry.time).replace(' ', 'T')}Z`);
      if (Number.isNaN(at)) throw new Error('no time');
      if (!entry.stop) activity.push({ at, branch: 'imported' });
    } catch {
      skipped.push(`${source}:${i + 1}: not a ptyme-track record`);
    }
  });
  const paths = timePaths(root, user);
  ensureGitignore(root);
  const key = loadOrCreateKey(user);
  return withLock(paths.lock, () => {
    const lines = readLedgerLines(paths.ledger);
    const existing = lines.flatMap((l) => {
      try {
        const r = JSON.parse(l) as LedgerRecord;
        return [[Date.parse(r.start), Date.parse(r.end)]];
      } catch {
        return [];
      }
    });
    let prev = lines.length ? lineHash(lines[lines.length - 1]) : undefined;
    const newLines: string[] = [];
    let seconds = 0;
    for (const b of toBlocks(activity, options, now)) {
      const start = Math.floor(b.start / 1000) * 1000;
      const end = Math.floor(Math.min(b.end, now) / 1000) * 1000;
      if (end - start < 1000 || existing.some(([s, e]) => start < e && end > s)) continue;
      const line = recordLine(signRecord({
        v: LEDGER_VERSION, user, key: key.id, start: new Date(start).toISOString(), end: new Date(end).toISOString(),
        seconds: (end - start) / 1000, branch: b.branch, files: 0, imported: true, prev,
      }, key.privateKey));
      newLines.push(line);
      prev = lineHash(line);
      seconds += (end - start) / 1000;
    }
    if (newLines.length) {
      addPublicKey(paths.publicKeys, key.publicKey);
      writeFileAtomic(paths.ledger, [...lines, ...newLines].join('\n') + '\n');
    }
    return { added: newLines.length, seconds, skipped };
  });
}

function addPublicKey(file: string, publicKey: KeyObject): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (parsePublicKeys(existing).has(keyId(publicKey))) return;
  writeFileAtomic(file, (existing && !existing.endsWith('\n') ? existing + '\n' : existing) + publicKeyLine(publicKey) + '\n');
}

export function currentBranch(root: string): string {
  try {
    const head = fs.readFileSync(path.join(root, '.git', 'HEAD'), 'utf8').trim();
    const m = /^ref: refs\/heads\/(.+)$/.exec(head);
    return m ? m[1] : head.slice(0, 12);
  } catch {
    return 'unknown';
  }
}
