import * as vscode from 'vscode';
import { formatStatus } from '../../daemon/cli/daemonCommand';
import { Methods, type DaemonStatus } from '../../daemon/protocol';
import { readLock } from '../../daemon/server/lock';
import { daemonPaths } from '../../daemon/server/paths';
import { connectSocket } from '../../daemon/util/socket';
import { isAlive } from '../../daemon/util/process';
import { trustedCommand } from '../trust';
import { pickProjectFolder } from '../util/projectFolder';
import type { DaemonClients } from './clients';

export interface DaemonOutcome { running: boolean; pid?: number; status?: DaemonStatus; message: string }

const mb = (n?: number) => (n === undefined ? '?' : `${(n / 1048576).toFixed(0)} MB`);

/** Start, Stop, Restart and Show Status of the folder's test daemon, as `heavy daemon ...` does. */
export function register(context: vscode.ExtensionContext, clients: DaemonClients): void {
  async function folderOf(arg: unknown) {
    return pickProjectFolder(arg, 'Which project\'s test daemon?');
  }

  async function status(folder: vscode.WorkspaceFolder): Promise<DaemonStatus> {
    return (await clients.get(folder)).sendRequest(Methods.status);
  }

  async function stopDaemon(folder: vscode.WorkspaceFolder): Promise<number | undefined> {
    const root = folder.uri.fsPath;
    const paths = daemonPaths(root);
    const sock = await connectSocket(paths.socket);
    let pid: number | undefined;
    if (sock) {
      sock.destroy();
      const client = await clients.get(folder);
      pid = (await client.sendRequest(Methods.status)).pid;
      await client.sendRequest(Methods.shutdown).catch(() => {});
      await clients.drop(folder);
    } else {
      // No answer on the socket, but a process may still hold the lock: a hung daemon.
      const holder = readLock(paths.lock);
      if (holder && isAlive(holder.pid)) {
        pid = holder.pid;
        process.kill(pid, 'SIGTERM');
      }
    }
    if (pid !== undefined) {
      const deadline = Date.now() + 5000;
      while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    return pid;
  }

  const progress = <T>(title: string, fn: () => Promise<T>) => vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, fn);
  const failed = (err: unknown): undefined => {
    void vscode.window.showErrorMessage(`Heavy Dev: ${(err as Error).message}`);
    return undefined;
  };

  async function start(arg?: unknown): Promise<DaemonOutcome | undefined> {
    const folder = await folderOf(arg);
    if (!folder) return undefined;
    try {
      const { started } = await progress('Starting the test daemon', () => clients.ensureDaemon(folder));
      const s = await status(folder);
      const message = `${started ? 'Started' : 'Already running:'} the test daemon for ${folder.name} (pid ${s.pid}).`;
      void vscode.window.showInformationMessage(message);
      return { running: true, pid: s.pid, status: s, message };
    } catch (err) {
      return failed(err);
    }
  }

  async function stop(arg?: unknown): Promise<DaemonOutcome | undefined> {
    const folder = await folderOf(arg);
    if (!folder) return undefined;
    try {
      const pid = await progress('Stopping the test daemon', () => stopDaemon(folder));
      const message = pid ? `Stopped the test daemon for ${folder.name} (pid ${pid}).` : `No test daemon is running for ${folder.name}.`;
      void vscode.window.showInformationMessage(message);
      return { running: false, pid, message };
    } catch (err) {
      return failed(err);
    }
  }

  async function restart(arg?: unknown): Promise<DaemonOutcome | undefined> {
    const folder = await folderOf(arg);
    if (!folder) return undefined;
    try {
      const s = await progress('Restarting the test daemon', async () => {
        await stopDaemon(folder);
        await clients.ensureDaemon(folder);
        return status(folder);
      });
      const message = `Restarted the test daemon for ${folder.name} (pid ${s.pid}).`;
      void vscode.window.showInformationMessage(message);
      return { running: true, pid: s.pid, status: s, message };
    } catch (err) {
      return failed(err);
    }
  }

  /** A quick view: each line an item, the log one opens it. Does not start a daemon that is not running. */
  async function showStatus(arg?: unknown): Promise<DaemonOutcome | undefined> {
    const folder = await folderOf(arg);
    if (!folder) return undefined;
    const paths = daemonPaths(folder.uri.fsPath);
    const sock = await connectSocket(paths.socket);
    sock?.destroy();
    const openLog = { label: '$(output) Open Log', description: paths.log, action: 'log' as const };
    if (!sock) {
      const startItem = { label: '$(play) Start Test Daemon', description: '', action: 'start' as const };
      const message = `No test daemon is running for ${folder.name}.`;
      void showView(message, [startItem, openLog], folder);
      return { running: false, message };
    }
    const s = await status(folder);
    const items = [
      { label: `$(${s.warm === 'warm' ? 'flame' : s.warm === 'failed' ? 'error' : 'loading~spin'}) Warm state: ${s.warm}`, description: `${s.warmError ?? ''} project modules: ${s.projectWarm}, requests primed: ${s.primes}`.trim() },
      { label: `$(pulse) Memory: daemon ${mb(s.memory.nodeRssBytes)}, warm Python ${mb(s.memory.workerRssBytes)}`, description: `pid ${s.pid}, up ${Math.round(s.uptimeSeconds)} s` },
      { label: `$(beaker) Runs: ${s.runs.total} so far`, description: `${s.runs.active} running, ${s.runs.queued} queued, ${s.runs.primed} primed` },
      { label: `$(history) Last rebuild: ${s.lastRebuild ? `${s.lastRebuild.seconds.toFixed(2)} s` : 'none yet'}`, description: s.lastRebuild ? `${s.lastRebuild.at} (${s.lastRebuild.reason})` : '' },
      { label: `$(symbol-misc) Python ${s.pythonVersion ?? '?'}, pytest ${s.pytestVersion ?? '?'}`, description: s.python ?? '' },
      openLog,
    ];
    void showView(`Test daemon for ${folder.name}`, items, folder);
    return { running: true, pid: s.pid, status: s, message: formatStatus(s) };
  }

  async function showView(title: string, items: Array<vscode.QuickPickItem & { action?: 'log' | 'start' }>, folder: vscode.WorkspaceFolder): Promise<void> {
    const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'Heavy Dev test daemon' });
    if (picked?.action === 'log') await vscode.window.showTextDocument(vscode.Uri.file(daemonPaths(folder.uri.fsPath).log), { preview: true });
    if (picked?.action === 'start') await vscode.commands.executeCommand('heavy.startTestDaemon', folder.uri);
  }

  context.subscriptions.push(
    trustedCommand('heavy.startTestDaemon', start),
    trustedCommand('heavy.stopTestDaemon', stop),
    trustedCommand('heavy.restartTestDaemon', restart),
    trustedCommand('heavy.showDaemonStatus', showStatus),
  );
}
