import * as fs from 'node:fs';
import type { HeavyConfig } from '../project/config';
import type { TimeSnapshot, TimeStatus } from '../protocol';
import { after, blockOptions, toBlocks } from './blocks';
import { cementedThrough, readLedgerLines, readRunningLog, timePaths } from './store';
import { timeStatus } from './tracker';

/** The status bar's view of the tracker: the status plus when the open block stops growing. */
export function timeSnapshot(root: string, user: string, config: HeavyConfig['time'], reason: TimeSnapshot['reason'], now = Date.now()): TimeSnapshot {
  const status = timeStatus(root, user, config, now);
  const paths = timePaths(root, user);
  const options = blockOptions(config);
  const log = readRunningLog(paths.running);
  const blocks = toBlocks(log.activity, { ...options, paused: log.paused }, now);
  const uncemented = after(blocks, cementedThrough(readLedgerLines(paths.ledger)));
  const open = status.active ? blocks.find((b) => b.open) : undefined;
  return {
    status,
    reason,
    at: new Date(now).toISOString(),
    growsUntil: open ? new Date(open.last + options.paddingMs).toISOString() : undefined,
    uncementedSince: uncemented.length ? new Date(uncemented[0].start).toISOString() : undefined,
  };
}

/** Names the change between two readings, for the notification (and the log). */
export function changeReason(before: TimeStatus | undefined, after: TimeStatus): TimeSnapshot['reason'] {
  if (!before) return 'started';
  if (before.paused !== after.paused) return after.paused ? 'paused' : 'resumed';
  if (!before.active && after.active) return 'opened';
  if (before.active && !after.active) return 'closed';
  if (after.uncementedSeconds < before.uncementedSeconds) return 'cemented';
  if (after.lastActivity !== before.lastActivity) return 'grew';
  return 'changed';
}

const SETTLE_MS = 50;

/**
 * Follows the tracker's files and tells `push` whenever the status bar would change: the
 * running log is appended by the tracker (a block opens or grows), by `heavy time pause`
 * and `resume` from any terminal or the editor, and rewritten by cement. A block closes
 * with no write at all, so a timer fires when its idle limit runs out. No polling.
 */
export class LiveTimeStatus {
  private watcher?: fs.FSWatcher;
  private settle?: NodeJS.Timeout;
  private closeTimer?: NodeJS.Timeout;
  private last?: TimeStatus;

  constructor(
    private readonly root: string,
    private readonly user: string,
    private readonly config: HeavyConfig['time'],
    private readonly push: (snapshot: TimeSnapshot) => void,
  ) {}

  start(): void {
    const paths = timePaths(this.root, this.user);
    fs.mkdirSync(paths.dir + '/.running', { recursive: true });
    // The folder, not the files: cement replaces them by rename.
    this.watcher = fs.watch(paths.dir + '/.running', () => this.changed());
    this.watcher.on('error', () => {});
    this.changed();
  }

  /** Something may have changed: read once the writes settle. */
  changed(): void {
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.emit(), SETTLE_MS);
  }

  /** The current snapshot, for a client that asks. */
  snapshot(): TimeSnapshot {
    return timeSnapshot(this.root, this.user, this.config, 'asked');
  }

  private emit(): void {
    const before = this.last;
    const snap = timeSnapshot(this.root, this.user, this.config, 'changed');
    snap.reason = changeReason(before, snap.status);
    this.last = snap.status;
    clearTimeout(this.closeTimer);
    if (snap.status.active && snap.status.lastActivity) {
      // The block closes when the idle limit passes without activity: nothing is written then.
      const closesAt = Date.parse(snap.status.lastActivity) + blockOptions(this.config).idleMs + 1000;
      this.closeTimer = setTimeout(() => this.emit(), Math.max(0, closesAt - Date.now()));
      this.closeTimer.unref?.();
    }
    if (before && JSON.stringify(before) === JSON.stringify(snap.status)) return;
    this.push(snap);
  }

  stop(): void {
    this.watcher?.close();
    clearTimeout(this.settle);
    clearTimeout(this.closeTimer);
  }
}
