import type { DaemonConnection } from '../../daemon/client';
import { Methods, type RunParams } from '../../daemon/protocol';
import { waitFor } from './project';

/** Durations are the only thing two runs of the same tests may differ in. */
export const maskDurations = (text: string) => text.replace(/\d+\.\d+s/g, 'T');

/** One run requested from the daemon as the editor does (or, with `env`, as the CLI does), with its output (durations masked). */
export async function requestRun(daemon: DaemonConnection, root: string, args: string[], extra: Partial<RunParams> = {}) {
  let output = '';
  const runId = `r${Math.random()}`;
  const sub = daemon.connection.onNotification(Methods.runOutput, (p) => { if (p.runId === runId) output += p.data; });
  const result = await daemon.connection.sendRequest(Methods.runTests, { runId, args, cwd: root, ...extra });
  sub.dispose();
  return { ...result, output: maskDurations(output) };
}

export const projectWarm = (daemon: DaemonConnection) =>
  waitFor(async () => (await daemon.connection.sendRequest(Methods.status)).projectWarm === 'ready', 30000, 'project modules warm');

export const primesReady = (daemon: DaemonConnection, n: number, what = `${n} primes`) =>
  waitFor(async () => (await daemon.connection.sendRequest(Methods.status)).primes >= n, 10000, what);
