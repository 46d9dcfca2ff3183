// What the status-bar item says, from the daemon's latest snapshot. Pure (no vscode), so
// the wording, the running clock and the menu's choices are unit-tested.
import type { TimeSnapshot, TimeStatus } from '../../daemon/protocol';
import { formatDuration } from '../../daemon/time/report';

export type StatusBarMode = 'full' | 'icon' | 'hidden';

export interface StatusView {
  text: string;
  /** Markdown lines; command links are added by the caller. */
  tooltip: string[];
  /** Uncemented time older than a day: the item takes the warning colour. */
  warning: boolean;
}

const DAY_MS = 86_400_000;

export function clock(seconds: number): string {
  const m = Math.floor(Math.max(0, seconds) / 60);
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** Today's seconds now: an open block keeps growing after the snapshot, until its last activity plus padding. */
export function secondsNow(snap: TimeSnapshot, now: number): number {
  const s = snap.status;
  if (!s.active || !snap.growsUntil) return s.todaySeconds;
  const grown = Math.min(now, Date.parse(snap.growsUntil)) - Date.parse(snap.at);
  return s.todaySeconds + Math.max(0, grown) / 1000;
}

export function startingView(mode: StatusBarMode): StatusView {
  return {
    text: mode === 'icon' ? '$(loading~spin)' : '$(loading~spin) time',
    tooltip: ['**Heavy Dev time tracking** is on for this project.', 'Starting: waiting for the test daemon, which tracks time.'],
    warning: false,
  };
}

export function stoppedView(mode: StatusBarMode): StatusView {
  return {
    text: mode === 'icon' ? '$(debug-disconnect)' : '$(debug-disconnect) time',
    tooltip: ['**Heavy Dev time tracking** is on for this project, but its test daemon is not running: nothing is tracked.', 'Start it with **Heavy: Start Test Daemon**.'],
    warning: true,
  };
}

export function notTrackingView(mode: StatusBarMode): StatusView {
  return {
    text: mode === 'icon' ? '$(watch)' : '$(watch) not tracking',
    tooltip: ['**Heavy Dev**: the test daemon does not track time here. Its reason is in the Heavy Dev log (for example: no user name).'],
    warning: true,
  };
}

export function describeSnapshot(snap: TimeSnapshot, now: number, mode: StatusBarMode): StatusView {
  const s = snap.status;
  const icon = s.paused ? '$(debug-pause)' : s.active ? '$(pulse)' : '$(watch)';
  const today = clock(secondsNow(snap, now));
  const oldSince = snap.uncementedSince ? Date.parse(snap.uncementedSince) : undefined;
  const warning = oldSince !== undefined && now - oldSince > DAY_MS;
  const state = s.paused ? 'paused' : s.active ? 'active' : 'idle';
  const tooltip = [
    `**Heavy Dev time**: ${today} today for ${s.user} (${state})`,
    `Branch: \`${s.branch}\``,
    `Last activity: ${s.lastActivity ? new Date(s.lastActivity).toLocaleString() : 'none yet'}`,
    `Not yet cemented: ${s.uncementedSeconds ? formatDuration(s.uncementedSeconds) : 'nothing'}${warning ? ` (since ${new Date(oldSince!).toLocaleDateString()}: more than a day old)` : ''}`,
  ];
  return { text: mode === 'icon' ? icon : `${icon} ${today}${s.paused ? ' paused' : ''}`, tooltip, warning };
}

export interface MenuChoice {
  label: string;
  description?: string;
  command: string;
}

/** The status-bar item's menu: Cement, Report, Pause or Resume (whichever applies), Verify. */
export function timeMenuChoices(status: TimeStatus | undefined): MenuChoice[] {
  return [
    { label: '$(lock) Cement Time', description: status?.uncementedSeconds ? `${formatDuration(status.uncementedSeconds)} not yet cemented` : undefined, command: 'heavy.cementTime' },
    { label: '$(graph) Show Time Report', command: 'heavy.showTimeReport' },
    status?.paused
      ? { label: '$(debug-start) Resume Time Tracking', command: 'heavy.resumeTimeTracking' }
      : { label: '$(debug-pause) Pause Time Tracking', command: 'heavy.pauseTimeTracking' },
    { label: '$(verified) Verify Time Logs', command: 'heavy.verifyTimeLogs' },
  ];
}
