import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

// A save counts only when it changed what the file holds. Code generators, formatters and
// tests that write fixtures rewrite files with the same bytes; each rewrite is a watcher
// event, and under `heavy watch` a re-run that rewrites the file again would loop forever.

/** Bigger files are compared by size and modification time only: hashing them on every save costs more than a spurious re-run. */
export const HASH_LIMIT = 8 * 1024 * 1024;

interface Stamp {
  /** Undefined for files above HASH_LIMIT. */
  hash?: string;
  mtimeMs: number;
  size: number;
  /**
   * Read ahead of any event (the baseline), not while handling one. A save made just before
   * that read, whose event is still on its way, would look unchanged against it; such an
   * event is recognised by the modification time being the one the baseline read.
   */
  ahead: boolean;
}

export interface Check {
  /** The content differs from the last accounted for, or nothing was known, or the file was deleted. */
  changed: boolean;
  /** The file's text when it was read (so the import graph need not read it again). */
  text?: string;
}

const hashOf = (data: Buffer) => createHash('sha1').update(data).digest('hex');

/** The content of every project file the daemon has accounted for, as a hash. */
export class ContentStamps {
  private stamps = new Map<string, Stamp>();
  private baseline?: Promise<void>;

  /** Whether a watcher event for `file` is a real change; remembers the content it finds. */
  check(file: string): Check {
    let stat: fs.Stats;
    let data: Buffer | undefined;
    try {
      stat = fs.statSync(file);
      if (!stat.isFile()) {
        this.stamps.delete(file);
        return { changed: true }; // a folder added or removed
      }
      if (stat.size <= HASH_LIMIT) data = fs.readFileSync(file);
    } catch {
      this.stamps.delete(file); // deleted, or unreadable: counts
      return { changed: true };
    }
    const now: Stamp = { hash: data && hashOf(data), mtimeMs: stat.mtimeMs, size: data?.length ?? stat.size, ahead: false };
    const known = this.stamps.get(file);
    this.stamps.set(file, now);
    const text = data && file.endsWith('.py') ? data.toString('utf8') : undefined;
    if (!known) return { changed: true, text };
    if (known.ahead && known.mtimeMs === now.mtimeMs && known.size === now.size) return { changed: true, text };
    const changed = known.hash !== undefined && now.hash !== undefined
      ? known.hash !== now.hash
      : known.mtimeMs !== now.mtimeMs || known.size !== now.size;
    return { changed, text };
  }

  /**
   * Hashes `files` in the background, once, so that the first rewrite of a file already
   * counts only if it changed something. Skips files an event is pending for (`pending`),
   * files already known, and files written while being read.
   */
  takeBaseline(files: () => string[], pending: (file: string) => boolean): Promise<void> {
    this.baseline ??= (async () => {
      const queue = [...files()];
      const worker = async () => {
        for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
          if (this.stamps.has(file) || pending(file)) continue;
          const stamp = await readAhead(file);
          if (stamp && !this.stamps.has(file) && !pending(file)) this.stamps.set(file, stamp);
        }
      };
      // A few reads in flight: the warm Python process is starting at the same time.
      await Promise.all([worker(), worker(), worker(), worker()]);
    })().catch(() => {});
    return this.baseline;
  }

  get size(): number {
    return this.stamps.size;
  }
}

async function readAhead(file: string): Promise<Stamp | undefined> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(file, 'r');
    const before = await handle.stat();
    if (!before.isFile() || before.size > HASH_LIMIT) return undefined;
    const data = await handle.readFile();
    const after = await handle.stat();
    // Written while we read: what we hold may be neither version.
    if (after.mtimeMs !== before.mtimeMs || after.size !== before.size || data.length !== after.size) return undefined;
    return { hash: hashOf(data), mtimeMs: after.mtimeMs, size: after.size, ahead: true };
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => {});
  }
}
