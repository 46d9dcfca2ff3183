import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { packageRoot } from './assets';
import { rootProblem } from './project/root';
import { lockHolder } from './server/lock';
import { daemonPaths, type DaemonPaths } from './server/paths';
import type { StartReport } from './server/startReport';
import { connectSocket } from './util/socket';

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

/**
 * A daemon that did not start. `input`: the project cannot be served (a missing folder, an
 * interpreter that is not Python), and the message is one line; otherwise it also quotes the
 * daemon's log.
 */
export class DaemonStartError extends Error {
  constructor(message: string, readonly input = false) {
    super(message);
    // The CLI tells them apart by name (each command's bundle has its own copy of the class).
    this.name = input ? 'InputError' : 'DaemonStartError';
  }
}

/** A daemon process being started, and what it has said so far. */
interface Starting {
  pid?: number;
  report?: StartReport;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  spawnError?: Error;
  dispose(): void;
}

async function spawnDaemon(root: string, log: string): Promise<Starting> {
  // Loaded here: most CLI calls find the daemon running and never spawn.
  const { spawn } = await import('node:child_process');
  const logFd = fs.openSync(log, 'a', 0o600);
  const starting: Starting = { dispose: () => {} };
  try {
    const child = spawn(process.execPath, [heavyScript(), 'daemon', '__serve', '--root', root, '--report-fd', '3'], {
      cwd: root,
      detached: true,
      // fd 3: the daemon's one-line start report (see startReport.ts).
      stdio: ['ignore', logFd, logFd, 'pipe'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    starting.pid = child.pid;
    const reports = child.stdio[3] as net.Socket | null;
    let text = '';
    reports?.on('data', (data: Buffer) => {
      text += data.toString('utf8');
      const line = text.split('\n')[0];
      if (starting.report || !text.includes('\n')) return;
      try {
        starting.report = JSON.parse(line) as StartReport;
      } catch { /* not a report: the exit code and the log will tell */ }
    });
    reports?.on('error', () => {});
    child.on('error', (err) => { starting.spawnError = err; });
    child.on('exit', (code, signal) => { starting.exit = { code, signal }; });
    child.unref();
    (reports as net.Socket & { unref?: () => void })?.unref?.();
    starting.dispose = () => {
      reports?.destroy();
      child.removeAllListeners();
    };
  } catch (err) {
    starting.spawnError = err as Error;
  } finally {
    fs.closeSync(logFd);
  }
  return starting;
}

/**
 * Starts a detached daemon for `root` and waits until it answers. True when the daemon it
 * started serves; false when another daemon, starting at the same moment, won the lock and
 * serves. Every failure says why, here and in the daemon's log: the lock's holder, what it
 * waited for, and the log's last lines.
 */
export async function startDaemon(root: string, timeoutMs = 20000): Promise<boolean> {
  const problem = rootProblem(root);
  if (problem) throw new DaemonStartError(problem, true);
  const paths = daemonPaths(root);
  rotateLog(paths.log);
  const deadline = Date.now() + timeoutMs;
  let starting = await spawnDaemon(root, paths.log);
  let respawns = 0;
  let silentSince: number | undefined;
  const fail = (message: string, input = false): never => {
    starting.dispose();
    appendLog(paths.log, `starting the daemon failed: ${message}`);
    throw new DaemonStartError(input ? message : `${message}; its log is ${paths.log}:\n${tail(paths.log)}`, input);
  };
  for (;;) {
    const sock = await connectSocket(paths.socket);
    if (sock) {
      sock.destroy();
      // Whose daemon answers: ours says it took the lock before it listens; one that lost
      // the race to another starter says so once it gets that far.
      const settled = Date.now() + 2000;
      while (!starting.report && !starting.exit && !starting.spawnError && Date.now() < settled) await new Promise((r) => setTimeout(r, 20));
      starting.dispose();
      return !!starting.report && 'locked' in starting.report;
    }
    const { report, exit, spawnError } = starting;
    if (spawnError) fail(`the test daemon could not be started: ${process.execPath}: ${spawnError.message}`);
    if (report && 'error' in report) fail(report.input ? report.error : `the test daemon could not start: ${report.error}`, report.input);
    if (exit) {
      if (!report || !('held' in report)) fail(`the test daemon (pid ${starting.pid}) exited while starting (${exitText(exit)})${report ? '' : ' without saying why'}`);
      // Another daemon took the lock first: wait for it to answer. If it has died in the
      // meantime, nothing holds the lock any more: start one again.
      const holder = await lockHolder(paths);
      if (!holder && respawns < 3) {
        respawns++;
        starting.dispose();
        starting = await spawnDaemon(root, paths.log);
        continue;
      }
      // A daemon writes who it is as soon as it has the lock: a holder that stays silent is
      // not one, and waiting longer will not change that.
      if (holder === 'unknown') {
        silentSince ??= Date.now();
        if (Date.now() - silentSince > 2000) fail(`the test daemon cannot start: ${await lockStory(paths, starting)}`);
      } else {
        silentSince = undefined;
      }
    }
    if (Date.now() >= deadline) fail(`the test daemon did not start within ${timeoutMs / 1000}s: waited for it to answer on ${paths.socket}; ${await lockStory(paths, starting)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Who holds the lock, for a message about a daemon that does not answer. */
async function lockStory(paths: DaemonPaths, starting: Starting): Promise<string> {
  const holder = await lockHolder(paths);
  const ours = starting.exit ? `the daemon it started (pid ${starting.pid}) exited (${exitText(starting.exit)})` : `the daemon it started (pid ${starting.pid}) is still running`;
  if (!holder) return `nothing holds the lock; ${ours}`;
  if (holder === 'unknown') return `a process holds the lock (${paths.lockSocket?.replace('\0', '@') ?? paths.lock}) and has not said who it is; ${ours}`;
  if (holder.pid === starting.pid) return `the daemon it started (pid ${holder.pid}) holds the lock but does not answer`;
  return `the lock is held by pid ${holder.pid} (started ${holder.started}${holder.socket && holder.socket !== paths.socket ? `, serving ${holder.socket}` : ''}), which does not answer; ${ours}`;
}

function exitText(exit: NonNullable<Starting['exit']>): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/** The starter's side of a failure, for whoever reads the log later. */
function appendLog(log: string, message: string): void {
  try {
    fs.appendFileSync(log, `${new Date().toISOString()} heavy ${process.pid}: ${message}\n`, { mode: 0o600 });
  } catch { /* the log's folder is gone: the terminal has it */ }
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
    started = await startDaemon(root);
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
