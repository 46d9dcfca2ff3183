import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { Methods, type TimeSnapshot } from '../../daemon/protocol';
import type { DaemonClients } from '../daemon/clients';
import { isPythonProject } from '../util/projectFolder';
import { trackingEnabled } from './project';
import { describeSnapshot, notTrackingView, startingView, stoppedView, type StatusBarMode, type StatusView } from './statusView';

export interface StatusBarReading {
  visible: boolean;
  text: string;
  tooltip: string;
  warning: boolean;
  /** Milliseconds from activation to the item's first appearance. */
  firstShownMs?: number;
  snapshot?: TimeSnapshot;
  /** Milliseconds from activation to the daemon's first snapshot. */
  firstAnswerMs?: number;
  /** How many snapshots the daemon pushed (not asked for). */
  pushes: number;
}

/**
 * Today's time in the status bar. It appears as soon as pyproject.toml says tracking is
 * on (a starting state), then follows the daemon's `heavy/timeChanged` pushes: no polling.
 * Between pushes an open block's clock runs on locally until its last activity plus padding.
 */
export class TimeStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('heavy.time', vscode.StatusBarAlignment.Left, 50);
  private folder?: vscode.WorkspaceFolder;
  private snapshot?: TimeSnapshot;
  private view?: StatusView;
  private tick?: NodeJS.Timeout;
  private firstShownMs?: number;
  private firstAnswerMs?: number;
  private pushes = 0;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly listening = new WeakSet<LanguageClient>();
  private readonly snapshotEmitter = new vscode.EventEmitter<TimeSnapshot | undefined>();
  /** Fires on every new reading (the context keys and tests follow it). */
  readonly onDidChange = this.snapshotEmitter.event;

  constructor(private readonly clients: DaemonClients, private readonly activatedAt: number) {
    this.item.name = 'Heavy Dev: time today';
    this.item.command = 'heavy.timeMenu';
    this.subscriptions.push(
      // A new connection (the daemon started or came back): listen to it and ask where things stand.
      clients.onDidConnect(({ folder, client }) => {
        if (folder !== this.folder) return;
        this.listen(client);
        void client.sendRequest(Methods.timeSnapshot).then((snap) => { if (snap && folder === this.folder) this.update(snap, false); }, () => {});
      }),
      clients.onDidDisconnect((folder) => {
        if (folder !== this.folder || !this.folder) return;
        this.snapshot = undefined;
        this.render(stoppedView(this.mode()));
        this.snapshotEmitter.fire(undefined);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('heavy.time.statusBar')) this.rerender(); }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.refresh()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.refresh()),
    );
    // pyproject.toml turning tracking on or off: a file watcher, not a scan.
    const watcher = vscode.workspace.createFileSystemWatcher('**/pyproject.toml');
    this.subscriptions.push(watcher, watcher.onDidChange(() => void this.refresh()), watcher.onDidCreate(() => void this.refresh()), watcher.onDidDelete(() => void this.refresh()));
  }

  /**
   * Finds the folder that tracks time and shows the item at once (in its starting state until
   * the daemon answers): this part is synchronous, so during activation the item is up before
   * activate() returns. The daemon is connected to afterwards.
   */
  refresh(): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      this.hide();
      return Promise.resolve();
    }
    const found = (vscode.workspace.workspaceFolders ?? []).filter(isPythonProject).find(trackingEnabled);
    if (!found) {
      this.folder = undefined;
      this.hide();
      return Promise.resolve();
    }
    const changedFolder = found !== this.folder;
    this.folder = found;
    if (changedFolder || !this.snapshot) this.render(startingView(this.mode()));
    return this.connect(found);
  }

  private async connect(found: vscode.WorkspaceFolder): Promise<void> {
    try {
      // The daemon does the tracking; starting it is this feature's job once tracking is on.
      const client = await this.clients.get(found);
      this.listen(client);
      const snap = await client.sendRequest(Methods.timeSnapshot);
      if (found !== this.folder) return;
      if (snap) this.update(snap, false);
      else if (!this.snapshot) this.render(notTrackingView(this.mode()));
    } catch {
      if (found === this.folder) this.render(stoppedView(this.mode()));
    }
  }

  private listen(client: LanguageClient): void {
    if (this.listening.has(client)) return;
    this.listening.add(client);
    this.subscriptions.push(client.onNotification(Methods.timeChanged, (snap) => this.update(snap, true)));
  }

  private update(snap: TimeSnapshot, pushed: boolean): void {
    if (pushed) this.pushes++;
    this.firstAnswerMs ??= performance.now() - this.activatedAt;
    this.snapshot = snap;
    this.rerender();
    this.snapshotEmitter.fire(snap);
  }

  private mode(): StatusBarMode {
    return vscode.workspace.getConfiguration('heavy', this.folder?.uri).get<StatusBarMode>('time.statusBar', 'full');
  }

  private rerender(): void {
    if (!this.folder) return;
    clearTimeout(this.tick);
    if (!this.snapshot) return this.render(this.view ?? startingView(this.mode()));
    const now = Date.now();
    this.render(describeSnapshot(this.snapshot, now, this.mode()));
    // An open block's minutes go on between pushes: redraw at the next minute, until it stops growing.
    const until = this.snapshot.growsUntil ? Date.parse(this.snapshot.growsUntil) : 0;
    if (this.snapshot.status.active && until > now) {
      this.tick = setTimeout(() => this.rerender(), Math.min(60_000 - (now % 60_000) + 50, until - now + 50));
    }
  }

  private render(view: StatusView): void {
    this.view = view;
    if (this.mode() === 'hidden') return this.item.hide();
    this.item.text = view.text;
    const md = new vscode.MarkdownString(view.tooltip.join('\n\n'), true);
    md.appendMarkdown('\n\n[Cement Time](command:heavy.cementTime) · [Show Time Report](command:heavy.showTimeReport) · [Verify](command:heavy.verifyTimeLogs)');
    md.isTrusted = { enabledCommands: ['heavy.cementTime', 'heavy.showTimeReport', 'heavy.verifyTimeLogs'] };
    this.item.tooltip = md;
    this.item.backgroundColor = view.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
    this.firstShownMs ??= performance.now() - this.activatedAt;
  }

  private hide(): void {
    clearTimeout(this.tick);
    this.snapshot = undefined;
    this.view = undefined;
    this.item.hide();
    this.snapshotEmitter.fire(undefined);
  }

  get current(): TimeSnapshot | undefined {
    return this.snapshot;
  }

  get trackedFolder(): vscode.WorkspaceFolder | undefined {
    return this.folder;
  }

  reading(): StatusBarReading {
    const tooltip = this.item.tooltip;
    return {
      visible: !!this.folder && !!this.view && this.mode() !== 'hidden',
      text: this.item.text,
      tooltip: typeof tooltip === 'string' ? tooltip : tooltip?.value ?? '',
      warning: !!this.item.backgroundColor,
      firstShownMs: this.firstShownMs,
      firstAnswerMs: this.firstAnswerMs,
      snapshot: this.snapshot,
      pushes: this.pushes,
    };
  }

  dispose(): void {
    clearTimeout(this.tick);
    this.item.dispose();
    this.snapshotEmitter.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}
