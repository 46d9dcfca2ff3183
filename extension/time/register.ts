import * as path from 'node:path';
import * as vscode from 'vscode';
import { Methods, type TimeStatus } from '../../daemon/protocol';
import type { DaemonClients } from '../daemon/clients';
import { registerTimeCommands } from './commands';
import { TimeReportPanel } from './reportPanel';
import { TimeStatusBar, type StatusBarReading } from './statusBar';

const HEARTBEAT_EVERY_MS = 30_000;

export interface TimeApi {
  /** The daemon's time status for the folder (null when it does not track time). */
  status(folder: vscode.WorkspaceFolder): Promise<TimeStatus | null>;
  /** What the status-bar item shows now. */
  statusBar(): StatusBarReading;
  /** Fires when the status bar gets a new reading. */
  onDidChangeStatusBar: vscode.Event<unknown>;
  /** The HTML and numbers of the report last shown. */
  lastReport(): TimeReportPanel['last'];
}

/**
 * Time tracking in the editor: the status-bar item, the palette's time commands, and
 * heartbeats (typing or selecting in a project file, at most one per file every 30 s)
 * sent to the daemon that tracks time.
 */
export function register(context: vscode.ExtensionContext, clients: DaemonClients, activatedAt: number): TimeApi {
  const statusBar = new TimeStatusBar(clients, activatedAt);
  const report = new TimeReportPanel();
  const lastBeat = new Map<string, number>();

  function beat(uri: vscode.Uri): void {
    if (uri.scheme !== 'file' || !vscode.workspace.isTrusted) return;
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    // Only a folder that tracks time: do not start a daemon for a keystroke elsewhere.
    if (!folder || folder !== statusBar.trackedFolder) return;
    const now = Date.now();
    if (now - (lastBeat.get(uri.fsPath) ?? 0) < HEARTBEAT_EVERY_MS) return;
    lastBeat.set(uri.fsPath, now);
    if (path.relative(folder.uri.fsPath, uri.fsPath).split(path.sep)[0] === '.heavy') return;
    void clients.get(folder).then((c) => c.sendNotification(Methods.heartbeat, { file: uri.fsPath })).catch(() => {});
  }

  context.subscriptions.push(
    statusBar,
    report,
    ...registerTimeCommands(statusBar, report),
    // Pause and Resume are offered by `when` clauses on these keys.
    statusBar.onDidChange((snap) => {
      void vscode.commands.executeCommand('setContext', 'heavy.time.enabled', !!statusBar.trackedFolder);
      void vscode.commands.executeCommand('setContext', 'heavy.time.paused', !!snap?.status.paused);
    }),
    vscode.workspace.onDidChangeTextDocument((e) => { if (e.contentChanges.length) beat(e.document.uri); }),
    vscode.window.onDidChangeTextEditorSelection((e) => beat(e.textEditor.document.uri)),
  );
  // Reads pyproject.toml and shows the item now; the daemon is connected to without waiting.
  void statusBar.refresh();
  return {
    status: async (folder) => (await clients.get(folder)).sendRequest(Methods.timeStatus),
    statusBar: () => statusBar.reading(),
    onDidChangeStatusBar: statusBar.onDidChange,
    lastReport: () => report.last,
  };
}
