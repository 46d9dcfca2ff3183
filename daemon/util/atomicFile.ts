import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes a file so that readers (and a crash at any moment) see the old content or the
 * new, never half: a temp file, fsync, rename, then fsync of the folder.
 */
export function writeFileAtomic(file: string, text: string, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dir = fs.openSync(path.dirname(file), 'r');
    fs.fsyncSync(dir);
    fs.closeSync(dir);
  } catch { /* not every platform can fsync a folder (Windows) */ }
}

/**
 * writeFileAtomic off the event loop (a recorder's snapshot of megabytes must not stall the
 * requests it proxies). Its own temporary name, so a synchronous write of the same file
 * (the final one) never shares it; callers must not run two of these on one file at once.
 */
export async function writeFileAtomicAsync(file: string, text: string, mode = 0o644): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.async.tmp`;
  const handle = await fs.promises.open(tmp, 'w', mode);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, file);
  try {
    const dir = await fs.promises.open(path.dirname(file), 'r');
    await dir.sync();
    await dir.close();
  } catch { /* not every platform can fsync a folder (Windows) */ }
}
