import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Where a project's daemon listens. A directory only this user can open (0700) holds the
 * sockets, so no other user can connect; nothing listens on TCP.
 */
export interface DaemonPaths {
  dir: string;
  socket: string;
  workerSocket: string;
  lock: string;
  log: string;
}

export function runtimeDir(): string {
  const base = process.env.XDG_RUNTIME_DIR && fs.existsSync(process.env.XDG_RUNTIME_DIR)
    ? path.join(process.env.XDG_RUNTIME_DIR, 'heavy')
    : path.join(os.tmpdir(), `heavy-${typeof process.getuid === 'function' ? process.getuid() : os.userInfo().username}`);
  fs.mkdirSync(base, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(base);
  if (!st.isDirectory() || (typeof process.getuid === 'function' && st.uid !== process.getuid())) {
    throw new Error(`${base} is not a directory owned by you; refusing to use it for the daemon's socket`);
  }
  if ((st.mode & 0o077) !== 0) fs.chmodSync(base, 0o700);
  return base;
}

export function daemonPaths(root: string): DaemonPaths {
  const id = createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 16);
  const dir = runtimeDir();
  if (process.platform === 'win32') {
    return { dir, socket: `\\\\.\\pipe\\heavy-${id}`, workerSocket: `\\\\.\\pipe\\heavy-${id}-worker`, lock: path.join(dir, `${id}.lock`), log: path.join(dir, `${id}.log`) };
  }
  return { dir, socket: path.join(dir, `${id}.sock`), workerSocket: path.join(dir, `${id}.worker.sock`), lock: path.join(dir, `${id}.lock`), log: path.join(dir, `${id}.log`) };
}
