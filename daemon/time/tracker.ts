import * as fs from 'node:fs';
import * as path from 'node:path';
import ignore from 'ignore';
import type { HeavyConfig } from '../project/config';
import type { TimeStatus } from '../protocol';
import { after, blockOptions, secondsWithin, seconds, toBlocks, type BlockOptions } from './blocks';
import { activityHash, requestCoSignature } from './witness';
import { appendRunning, cementedThrough, currentBranch, ensureGitignore, readLedgerLines, readRunningLog, timePaths, TimeError, type TimePaths } from './store';
import { isAlive } from '../util/process';

const FILE_THROTTLE_MS = 15_000;
const HEARTBEAT_THROTTLE_MS = 30_000;


/** Who tracks time for this project and user right now, if anyone. */
export function trackerPid(paths: TimePaths): number | undefined {
  try {
    const pid = Number(fs.readFileSync(paths.tracker, 'utf8'));
    return pid && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Turns file changes and editor heartbeats into running-log lines. One per project and
 * user: a second tracker is refused rather than interleaving its lines with the first.
 */
export class Tracker {
  readonly paths: TimePaths;
  readonly options: BlockOptions;
  private last = new Map<string, number>();
  private ignored;
  private readonly witnessUrl?: string;
  private witnessDown = false;

  constructor(readonly root: string, readonly user: string, config: HeavyConfig['time']) {
    this.paths = timePaths(root, user);
    this.options = blockOptions(config);
    this.ignored = ignore().add(config?.ignore ?? []);
    this.witnessUrl = config?.witness_url;
  }

  start(): void {
    ensureGitignore(this.root);
    const holder = trackerPid(this.paths);
    if (holder && holder !== process.pid) throw new TimeError(`time for ${this.user} in ${this.root} is already tracked by process ${holder}`);
    fs.writeFileSync(this.paths.tracker, String(process.pid), { mode: 0o600 });
  }

  stop(): void {
    if (trackerPid(this.paths) === process.pid) fs.rmSync(this.paths.tracker, { force: true });
  }

  /** A file in the project changed (relative path, as the watcher reports it). */
  fileChanged(relative: string, now = Date.now()): void {
    this.record(relative, FILE_THROTTLE_MS, now);
  }

  /** The editor says the user is typing or selecting in a file of the project. */
  heartbeat(relative: string, now = Date.now()): void {
    this.record(relative, HEARTBEAT_THROTTLE_MS, now);
  }

  private record(relative: string, throttleMs: number, now: number): void {
    const posix = relative.split('\\').join('/');
    if (!posix || posix.startsWith('.heavy/') || posix.startsWith('..') || this.ignored.ignores(posix)) return;
    const previous = this.last.get(posix);
    if (previous !== undefined && now - previous < throttleMs) return;
    this.last.set(posix, now);
    const branch = currentBranch(this.root);
    appendRunning(this.paths, { t: 'a', at: now, b: branch, f: posix });
    if (this.witnessUrl) void this.witness(now, branch, posix);
  }

  /** Gets the witness's co-signature for one activity; tracking never waits for it. */
  private async witness(at: number, branch: string, file: string): Promise<void> {
    const c = await requestCoSignature(this.witnessUrl!, activityHash(this.user, at, branch, file));
    if (!c) {
      if (!this.witnessDown) process.stderr.write(`heavy: the time witness at ${this.witnessUrl} does not answer; tracking goes on without co-signatures\n`);
      this.witnessDown = true;
      return;
    }
    this.witnessDown = false;
    try {
      appendRunning(this.paths, { t: 'w', at, b: branch, f: file, c });
    } catch { /* the next activity tries again */ }
  }
}

export function pause(paths: TimePaths, now = Date.now()): void {
  ensureGitignore(path.dirname(path.dirname(paths.dir)));
  appendRunning(paths, { t: 'pause', at: now });
}

export function resume(paths: TimePaths, now = Date.now()): void {
  appendRunning(paths, { t: 'resume', at: now });
}

export function timeStatus(root: string, user: string, config: HeavyConfig['time'], now = Date.now()): TimeStatus {
  const paths = timePaths(root, user);
  const options = blockOptions(config);
  const log = readRunningLog(paths.running);
  const blocks = toBlocks(log.activity, { ...options, paused: log.paused }, now);
  const through = cementedThrough(readLedgerLines(paths.ledger));
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  const cementedToday = readLedgerLines(paths.ledger).reduce((sum, line) => {
    try {
      const r = JSON.parse(line);
      return sum + secondsWithin([{ start: Date.parse(r.start), end: Date.parse(r.end) }], midnight.getTime(), now);
    } catch {
      return sum;
    }
  }, 0);
  const uncemented = after(blocks, through);
  const paused = log.paused.some((p) => p.to === undefined);
  const tracker = trackerPid(paths);
  const lastActivity = log.activity.reduce((m, a) => Math.max(m, a.at), 0);
  return {
    user,
    tracking: !!tracker && !paused,
    trackerPid: tracker,
    paused,
    active: !paused && blocks.some((b) => b.open),
    todaySeconds: Math.round(cementedToday + secondsWithin(uncemented, midnight.getTime(), now)),
    branch: currentBranch(root),
    lastActivity: lastActivity ? new Date(lastActivity).toISOString() : undefined,
    uncementedSeconds: Math.round(seconds(uncemented)),
    warnings: log.warnings,
  };
}
