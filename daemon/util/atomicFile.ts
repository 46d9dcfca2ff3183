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
