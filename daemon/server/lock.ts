import * as fs from 'node:fs';
import { isAlive } from '../util/process';

export interface LockInfo {
  pid: number;
  root: string;
  started: string;
}


export function readLock(file: string): LockInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

/**
 * Takes the per-project daemon lock. A lock whose process is gone (a daemon killed with
 * kill -9) is stale and is replaced. Returns the holder's info when another live daemon owns it.
 */
export function acquireLock(file: string, root: string): { ok: true } | { ok: false; holder: LockInfo } {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, root, started: new Date().toISOString() } satisfies LockInfo));
      fs.closeSync(fd);
      return { ok: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(file);
      if (holder && holder.pid !== process.pid && isAlive(holder.pid)) return { ok: false, holder };
      if (!holder) {
        // Being written right now, or a torn write from a crash: give the writer a moment.
        const stat = fs.statSync(file, { throwIfNoEntry: false });
        if (!stat) continue;
        if (Date.now() - stat.mtimeMs < 2000) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
          continue;
        }
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`could not take the daemon lock ${file}`);
}

export function releaseLock(file: string): void {
  if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
}
