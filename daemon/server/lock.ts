import * as fs from 'node:fs';
import * as net from 'node:net';
import { isAlive } from '../util/process';
import type { DaemonPaths } from './paths';
import { processStartTime } from './processStart';

/** Who holds a project's daemon lock, as its holder wrote it. */
export interface LockInfo {
  pid: number;
  root: string;
  started: string;
  /** processStartTime(pid) when the holder took the lock: tells a live holder from a reused pid. */
  startTime?: string;
  /** Where the holder listens for clients. */
  socket?: string;
}

export interface HeldLock {
  release(): void;
}

export type LockResult = { ok: true; lock: HeldLock } | { ok: false; holder?: LockInfo };

export function readLock(file: string): LockInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
    return typeof info?.pid === 'number' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process `info` names is still the one that wrote it (not a reused pid). */
export function isHolderAlive(info: LockInfo): boolean {
  if (!isAlive(info.pid)) return false;
  if (info.startTime === undefined) return true; // written by a heavy that did not record it
  const now = processStartTime(info.pid);
  return now === undefined || now === info.startTime;
}

/**
 * Takes the per-project daemon lock: one daemon per project root. Where the system offers a
 * lock that it releases when the holder dies (paths.lockSocket), that is the lock, so it can
 * never go stale; elsewhere the lock file is, and a holder counts only while its pid names a
 * process with the start time it recorded. When another live daemon holds it, says who.
 */
export function acquireLock(paths: DaemonPaths, root: string): Promise<LockResult> {
  const info = (): LockInfo => ({ pid: process.pid, root, started: new Date().toISOString(), startTime: processStartTime(process.pid), socket: paths.socket });
  return paths.lockSocket ? acquireSocketLock(paths.lockSocket, paths.lock, info) : Promise.resolve(acquireFileLock(paths.lock, info));
}

async function acquireSocketLock(name: string, file: string, info: () => LockInfo): Promise<LockResult> {
  // Nobody is served on it: anyone may connect to an abstract name, to learn only that it is held.
  const server = net.createServer((sock) => sock.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(name, () => resolve());
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return { ok: false, holder: await writtenHolder(file) };
  }
  server.unref(); // the lock alone does not keep a process running
  writeAtomically(file, JSON.stringify(info()));
  return {
    ok: true,
    lock: {
      release: () => {
        server.close();
        removeIfOurs(file);
      },
    },
  };
}

/** The holder's info, giving it a moment to write it after binding. */
async function writtenHolder(file: string): Promise<LockInfo | undefined> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const holder = readLock(file);
    if (holder && isHolderAlive(holder)) return holder;
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

function acquireFileLock(file: string, info: () => LockInfo): LockResult {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, JSON.stringify(info()));
      fs.closeSync(fd);
      return { ok: true, lock: { release: () => removeIfOurs(file) } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(file);
      if (holder && holder.pid !== process.pid && isHolderAlive(holder)) return { ok: false, holder };
      if (!holder) {
        // Being written right now, or a torn write from a crash: give the writer a moment.
        const stat = fs.statSync(file, { throwIfNoEntry: false });
        if (!stat) continue;
        if (Date.now() - stat.mtimeMs < 2000) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
          continue;
        }
      }
      // Stale: its holder died, or its pid now names another process.
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`could not take the daemon lock ${file}`);
}

/**
 * Who holds the lock right now, checked with the system where it can tell: undefined when
 * nobody does; 'unknown' when it is held but the holder's info is missing or out of date.
 */
export async function lockHolder(paths: DaemonPaths): Promise<LockInfo | 'unknown' | undefined> {
  const info = readLock(paths.lock);
  if (!paths.lockSocket) return info && isHolderAlive(info) ? info : undefined;
  // Connecting, not binding: a probe must never take the lock from a daemon starting now.
  const held = await new Promise<boolean>((resolve) => {
    const sock = net.connect(paths.lockSocket!);
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
  if (!held) return undefined;
  return info && isHolderAlive(info) ? info : 'unknown';
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function removeIfOurs(file: string): void {
  if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
}
