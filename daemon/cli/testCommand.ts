import * as path from 'node:path';
import { connectDaemon, type DaemonConnection } from '../client';
import { Methods, type FilesChanged, type RunResult, type TestResult } from '../protocol';
import { parseArgs, rootOf } from './args';

async function connect(root: string): Promise<DaemonConnection> {
  const daemon = (await connectDaemon(root, { start: true }))!;
  if (daemon.started) process.stderr.write(`heavy: started the test daemon for ${root}\n`);
  return daemon;
}

function clientEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
}

function wantsColor(): boolean {
  return !!process.stdout.isTTY && !process.env.NO_COLOR;
}

let runs = 0;
/** Unique among the daemon's clients (pid and start time), without loading node:crypto. */
function newRunId(): string {
  return `cli-${process.pid}-${Date.now().toString(36)}-${++runs}`;
}

/** Runs once, streaming output; Ctrl+C cancels (twice: kills) and leaves the daemon running. */
/** Where pytest runs: here when here is inside the project (relative node ids work), else the project root. */
export function runCwd(root: string, cwd = process.cwd()): string {
  const rel = path.relative(root, cwd);
  return rel.startsWith('..') || path.isAbsolute(rel) ? root : cwd;
}

async function runOnce(daemon: DaemonConnection, root: string, args: string[], options: { onResult?: (r: TestResult) => void; repeatable?: boolean } = {}): Promise<RunResult> {
  const runId = newRunId();
  const subscriptions = [
    daemon.connection.onNotification(Methods.runOutput, (p) => { if (p.runId === runId) process.stdout.write(p.data); }),
    daemon.connection.onNotification(Methods.testResult, (p) => { if (p.runId === runId) options.onResult?.(p.result); }),
  ];
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    void daemon.connection.sendNotification(Methods.cancelRun, { runId, force: interrupts > 1 });
  };
  process.on('SIGINT', onSigint);
  try {
    return await daemon.connection.sendRequest(Methods.runTests, {
      runId,
      args,
      color: wantsColor(),
      cwd: runCwd(root),
      env: clientEnv(),
      repeatable: options.repeatable,
    });
  } finally {
    process.off('SIGINT', onSigint);
    for (const s of subscriptions) s.dispose();
  }
}

export async function testCommand(argv: string[]): Promise<number> {
  const { values, positional } = parseArgs(argv, { values: ['--root'], passThrough: true });
  const root = rootOf(values);
  const daemon = await connect(root);
  try {
    const result = await runOnce(daemon, root, positional);
    return result.exitCode;
  } finally {
    daemon.close();
  }
}

export function summarize(results: TestResult[], seconds: number): string {
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const order = ['failed', 'error', 'passed', 'skipped', 'xfailed', 'xpassed'];
  const parts = order.filter((o) => counts.get(o)).map((o) => `${counts.get(o)} ${o}`);
  return `${parts.length ? parts.join(', ') : 'no tests ran'} in ${seconds.toFixed(2)}s`;
}

export async function watchCommand(argv: string[]): Promise<number> {
  const { values, positional } = parseArgs(argv, { values: ['--root'], passThrough: true });
  const root = rootOf(values);
  const daemon = await connect(root);
  let running: Promise<unknown> | undefined;
  // Changes that arrive during a run are merged and run once it ends.
  let pending: { files: Set<string>; why: string[]; all: boolean } | undefined;

  const run = async (extra: string[], why: string): Promise<void> => {
    process.stdout.write(`\n\u2500\u2500 heavy watch: ${why}\n`);
    const results: TestResult[] = [];
    const started = Date.now();
    // Each run follows a save, which would drop a prime anyway.
    const result = await runOnce(daemon, root, [...positional, ...extra], { onResult: (r) => results.push(r), repeatable: false });
    const failed = results.some((r) => r.outcome === 'failed' || r.outcome === 'error') || (result.exitCode !== 0 && result.exitCode !== 5);
    process.stdout.write(`\u2500\u2500 ${failed ? 'FAIL' : 'ok'}: ${summarize(results, (Date.now() - started) / 1000)}; watching for changes (Ctrl+C to stop)\n`);
  };
  const schedule = (extra: string[] | 'all', why: string): void => {
    pending ??= { files: new Set(), why: [], all: false };
    if (extra === 'all') pending.all = true;
    else for (const f of extra) pending.files.add(f);
    pending.why.push(why);
    if (running) return;
    const next = pending;
    pending = undefined;
    running = run(next.all ? [] : [...next.files].sort(), next.why.join('; ')).finally(() => {
      running = undefined;
      if (pending) {
        const again = pending;
        pending = undefined;
        schedule(again.all ? 'all' : [...again.files], again.why.join('; '));
      }
    });
  };

  daemon.connection.onNotification(Methods.changed, (change: FilesChanged) => {
    const names = change.files.map((f) => path.relative(root, f)).join(', ');
    if (change.affected === 'all') return schedule('all', `${names} changed: running everything`);
    if (!change.affected.length) {
      process.stdout.write(`heavy watch: ${names} changed; no test depends on it\n`);
      return;
    }
    schedule(change.affected.map((f) => path.relative(runCwd(root), f)), `${names} changed: running ${change.affected.length} affected test file(s)`);
  });
  schedule([], 'first run');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    daemon.connection.onClose(() => resolve());
  });
  daemon.close();
  return 0;
}
