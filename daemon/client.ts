import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { packageRoot } from './assets';
import { readLock } from './server/lock';
import { connectSocket } from './util/socket';
import { daemonPaths } from './server/paths';

export interface DaemonConnection {
  connection: MessageConnection;
  /** True when this call had to start the daemon. */
  started: boolean;
  close(): void;
}

async function handshake(sock: net.Socket): Promise<MessageConnection> {
  const connection = createMessageConnection(new StreamMessageReader(sock), new StreamMessageWriter(sock));
  sock.on('error', () => {});
  connection.listen();
  // processId null: the daemon outlives any one client.
  await connection.sendRequest('initialize', { processId: null, rootUri: null, capabilities: {} });
  await connection.sendNotification('initialized', {});
  return connection;
}

/** The CLI bundle that also hosts the daemon. */
export function heavyScript(): string {
  return path.join(packageRoot(), 'dist', 'heavy.js');
}

/** Starts a detached daemon for `root` and waits until it answers. */
export async function startDaemon(root: string, timeoutMs = 20000): Promise<void> {
  const paths = daemonPaths(root);
  rotateLog(paths.log);
  const logFd = fs.openSync(paths.log, 'a', 0o600);
  // Loaded here: most CLI calls find the daemon running and never spawn.
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [heavyScript(), 'daemon', '__serve', '--root', root], {
    cwd: root,
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  });
  fs.closeSync(logFd);
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const sock = await connectSocket(paths.socket);
    if (sock) {
      sock.destroy();
      return;
    }
    if (exited !== undefined && !readLock(paths.lock)) {
      throw new Error(`the test daemon exited while starting (code ${exited}); its log is ${paths.log}:\n${tail(paths.log)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the test daemon did not start within ${timeoutMs / 1000}s; its log is ${paths.log}`);
}

/** Keeps one previous log: a daemon restarted daily for months must not fill the disk. */
function rotateLog(log: string, maxBytes = 1 << 20): void {
  try {
    if (fs.statSync(log).size > maxBytes) fs.renameSync(log, `${log}.1`);
  } catch { /* no log yet */ }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}

/** Connects to the project's daemon, starting it first when `start` is set and none runs. */
export async function connectDaemon(root: string, options: { start: boolean }): Promise<DaemonConnection | undefined> {
  const paths = daemonPaths(root);
  let sock = await connectSocket(paths.socket);
  let started = false;
  if (!sock) {
    if (!options.start) return undefined;
    await startDaemon(root);
    started = true;
    sock = await connectSocket(paths.socket);
    if (!sock) throw new Error(`the test daemon started but does not answer on ${paths.socket}`);
  }
  const connection = await handshake(sock);
  return {
    connection,
    started,
    close: () => {
      connection.dispose();
      sock!.destroy();
    },
  };
}
