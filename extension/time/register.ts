import * as path from 'node:path';
import * as vscode from 'vscode';
import { Methods, type TimeStatus } from '../../daemon/protocol';
import type { DaemonClients } from '../daemon/clients';

const HEARTBEAT_EVERY_MS = 30_000;
const REFRESH_EVERY_MS = 60_000;

export interface TimeApi {
  /** The status bar's last reading, per folder. */
  status(folder: vscode.WorkspaceFolder): Promise<TimeStatus | null>;
}

export function formatToday(seconds: number): string {
  const m = Math.floor(seconds / 60);
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/**
 * Today's tracked time in the status bar, and editor heartbeats (typing or selecting in
 * a project file, at most one per file every 30 s) sent to the daemon that tracks time.
 */
export function register(context: vscode.ExtensionContext, clients: DaemonClients): TimeApi {
  const item = vscode.window.createStatusBarItem('heavy.time', vscode.StatusBarAlignment.Left, 50);
  item.name = 'Heavy Dev: time today';
  item.command = 'heavy.showTimeStatus';
  context.subscriptions.push(item);
  const lastBeat = new Map<string, number>();

  const status = async (folder: vscode.WorkspaceFolder): Promise<TimeStatus | null> => {
    const client = await clients.get(folder);
    return client.sendRequest(Methods.timeStatus);
  };

  async function refresh(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder || !vscode.workspace.isTrusted) return item.hide();
    try {
      const s = await status(folder);
      if (!s) return item.hide();
      item.text = `$(${s.active ? 'clock' : 'watch'}) ${formatToday(s.todaySeconds)}`;
      item.tooltip = `Heavy Dev: ${s.user} today ${formatToday(s.todaySeconds)} on ${s.branch}${s.paused ? ' (paused)' : ''}; ${formatToday(s.uncementedSeconds)} not yet cemented`;
      item.show();
    } catch {
      item.hide();
    }
  }

  function beat(uri: vscode.Uri): void {
    if (uri.scheme !== 'file' || !vscode.workspace.isTrusted) return;
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (!folder) return;
    const now = Date.now();
    if (now - (lastBeat.get(uri.fsPath) ?? 0) < HEARTBEAT_EVERY_MS) return;
    lastBeat.set(uri.fsPath, now);
    if (path.relative(folder.uri.fsPath, uri.fsPath).split(path.sep)[0] === '.heavy') return;
    void clients.get(folder).then((c) => c.sendNotification(Methods.heartbeat, { file: uri.fsPath })).catch(() => {});
  }

  const timer = setInterval(() => void refresh(), REFRESH_EVERY_MS);
  context.subscriptions.push(
    { dispose: () => clearInterval(timer) },
    vscode.workspace.onDidChangeTextDocument((e) => { if (e.contentChanges.length) beat(e.document.uri); }),
    vscode.window.onDidChangeTextEditorSelection((e) => beat(e.textEditor.document.uri)),
    vscode.commands.registerCommand('heavy.showTimeStatus', async () => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      const s = folder ? await status(folder).catch(() => null) : null;
      if (!s) {
        void vscode.window.showInformationMessage('Heavy Dev: time tracking is off for this project. Turn it on with enabled = true under [tool.heavy.time] in pyproject.toml.');
        return;
      }
      void vscode.window.showInformationMessage(`Heavy Dev: ${s.user} has ${formatToday(s.todaySeconds)} today on ${s.branch}; ${formatToday(s.uncementedSeconds)} not yet cemented (run heavy time cement).`);
    }),
  );
  // Only projects that asked for tracking: do not start a daemon just to find out it is off.
  void vscode.workspace.findFiles('pyproject.toml', undefined, 1).then(async (files) => {
    if (!files.length) return;
    const text = Buffer.from(await vscode.workspace.fs.readFile(files[0])).toString('utf8');
    if (/\[tool\.heavy\.time\][^[]*enabled\s*=\s*true/.test(text)) await refresh();
  });
  return { status };
}
