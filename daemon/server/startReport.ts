import * as fs from 'node:fs';
import type { LockInfo } from './lock';

/**
 * What a starting daemon tells the process that started it, as one JSON line on the pipe
 * that `--report-fd` names, so a start failure reaches the terminal with its reason rather
 * than as a timeout. Sent before the daemon starts any process of its own, then closed: the
 * pipe must not leak into the warm Python process and the tests it forks.
 */
export type StartReport =
  /** Holds the lock; the socket follows. */
  | { locked: true; pid: number }
  /** Another daemon holds the lock (null: it has not said who yet). */
  | { held: LockInfo | null }
  /** Will not start. `input`: the project itself cannot be served (exit 2, one line). */
  | { error: string; input?: boolean };

export type Reporter = (report: StartReport) => void;

export function startReporter(fd: string | undefined): Reporter {
  let open = fd !== undefined && /^\d+$/.test(fd);
  return (report) => {
    if (!open) return;
    open = false;
    try {
      fs.writeSync(Number(fd), JSON.stringify(report) + '\n');
    } catch { /* the starter has gone: the log has it */ }
    try {
      fs.closeSync(Number(fd));
    } catch { /* already closed */ }
  };
}
