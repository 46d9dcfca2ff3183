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
  /**
   * What the daemon binds to hold its lock, where the system releases a bound name when its
   * process dies: an abstract Unix socket on Linux, a named pipe on Windows. Elsewhere
   * undefined, and `lock` itself is the lock.
   */
  lockSocket?: string;
  /** Who holds the lock (pid, start time), as JSON: for messages, and the lock itself where there is no lockSocket. */
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

/**
 * A short name for a project root (FNV-1a, 64 bits, over its UTF-8 bytes). Not a secret and
 * not a defence: the folder is private. Not node:crypto, whose loading alone was 4% of a warm
 * `heavy test`.
 */
export function rootId(root: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(path.resolve(root), 'utf8')) {
    hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}

export function daemonPaths(root: string): DaemonPaths {
  const id = rootId(root);
  const dir = runtimeDir();
  if (process.platform === 'win32') {
    return { dir, socket: `\\\\.\\pipe\\heavy-${id}`, workerSocket: `\\\\.\\pipe\\heavy-${id}-worker`, lockSocket: `\\\\.\\pipe\\heavy-${id}-lock`, lock: path.join(dir, `${id}.lock`), log: path.join(dir, `${id}.log`) };
  }
  // Abstract names are not files: they carry no permissions and are shared by every user, so
  // the uid is part of the name, and the daemon answers nothing on it.
  const lockSocket = process.platform === 'linux' ? `\0heavy-${process.getuid!()}-${id}.lock` : undefined;
  return { dir, socket: path.join(dir, `${id}.sock`), workerSocket: path.join(dir, `${id}.worker.sock`), lockSocket, lock: path.join(dir, `${id}.lock`), log: path.join(dir, `${id}.log`) };
}
