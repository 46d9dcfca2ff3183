import * as fs from 'node:fs';
import * as path from 'node:path';
import { connectDaemon, type DaemonConnection } from '../client';
import { Methods, type FilesChanged, type RunResult, type TestItem, type TestResult } from '../protocol';
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

interface RunOptions {
  onResult?: (r: TestResult) => void;
  /** Where pytest's output goes; default: stdout. */
  onOutput?: (data: string) => void;
  repeatable?: boolean;
  /** Collect only these test files, inside the selection `args` make. */
  onlyFiles?: string[];
}

async function runOnce(daemon: DaemonConnection, root: string, args: string[], options: RunOptions = {}): Promise<RunResult & { items?: TestItem[] }> {
  const runId = newRunId();
  const output = options.onOutput ?? ((data: string) => { process.stdout.write(data); });
  const subscriptions = [
    daemon.connection.onNotification(Methods.runOutput, (p) => { if (p.runId === runId) output(p.data); }),
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
      ...(options.onlyFiles ? { onlyFiles: options.onlyFiles } : {}),
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

/** "a.py, b.py" or "a.py, b.py, c.py and 4 more": a branch switch can change thousands of files. */
export function describeFiles(files: string[], show = 3): string {
  return files.length <= show + 1 ? files.join(', ') : `${files.slice(0, show).join(', ')} and ${files.length - show} more`;
}

/** Changes that arrive during a run are merged into one request, run once it ends. */
export interface WatchRequest {
  /** Re-run the user's whole selection (a config or data file changed, or the first run). */
  all: boolean;
  /** Absolute test files to re-run, inside the user's selection. */
  files: Set<string>;
  /** Changed files, relative, for the messages. */
  changed: Set<string>;
  why: string[];
}

export function mergeRequest(into: WatchRequest | undefined, next: { affected: string[] | 'all'; changed: string[]; why: string }): WatchRequest {
  const req = into ?? { all: false, files: new Set<string>(), changed: new Set<string>(), why: [] };
  if (next.affected === 'all') req.all = true;
  else for (const f of next.affected) req.files.add(f);
  for (const c of next.changed) req.changed.add(c);
  req.why.push(next.why);
  return req;
}

const realpath = (file: string): string => {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
};

export async function watchCommand(argv: string[]): Promise<number> {
  const { values, positional } = parseArgs(argv, { values: ['--root'], passThrough: true });
  const root = rootOf(values);
  const daemon = await connect(root);
  let running: Promise<unknown> | undefined;
  let pending: WatchRequest | undefined;
  // Test files (real paths) that had tests in a run of this session: a re-run that includes one shows at once.
  const selected = new Set<string>();

  const run = async (req: WatchRequest): Promise<void> => {
    const only = req.all ? undefined : [...req.files].sort();
    const header = `\n\u2500\u2500 heavy watch: ${req.why.join('; ')}\n`;
    // Re-runs keep the user's own arguments (paths, --ignore, -k, -m, testpaths) and only
    // narrow them to the affected files, so pytest itself decides what is in the selection.
    // When none of those files is known to be in it, the output waits until a test is
    // reported: if none is, the save affected nothing selected, and one line says so.
    let held: string[] | undefined = only && !only.some((f) => selected.has(realpath(f))) ? [] : undefined;
    const release = () => {
      if (!held) return;
      process.stdout.write(header + held.join(''));
      held = undefined;
    };
    if (!held) process.stdout.write(header);
    const results: TestResult[] = [];
    const started = Date.now();
    // Each run follows a save, which would drop a prime anyway.
    const result = await runOnce(daemon, root, positional, {
      onlyFiles: only,
      repeatable: false,
      onOutput: (data) => { if (held) held.push(data); else process.stdout.write(data); },
      onResult: (r) => { release(); results.push(r); },
    });
    const ran = new Set([...results.map((r) => r.file), ...(result.items ?? []).map((i) => i.file)].map(realpath));
    for (const f of ran) selected.add(f);
    if (held && !results.length && result.exitCode === 5) {
      process.stdout.write(`heavy watch: ${describeFiles([...req.changed])} changed; no selected test depends on it\n`);
      return;
    }
    release();
    // From the collected items, so only when pytest got that far (not after a collection error).
    const outside = only && result.items && result.exitCode <= 1 ? only.filter((f) => !ran.has(realpath(f))).length : 0;
    const note = outside ? ` (${outside} affected test file${outside === 1 ? '' : 's'} outside your selection not run)` : '';
    const failed = results.some((r) => r.outcome === 'failed' || r.outcome === 'error') || (result.exitCode !== 0 && result.exitCode !== 5);
    process.stdout.write(`\u2500\u2500 ${failed ? 'FAIL' : 'ok'}: ${summarize(results, (Date.now() - started) / 1000)}${note}; watching for changes (Ctrl+C to stop)\n`);
  };
  const kick = (): void => {
    if (running || !pending) return;
    const req = pending;
    pending = undefined;
    running = run(req).finally(() => {
      running = undefined;
      kick();
    });
  };
  const schedule = (next: { affected: string[] | 'all'; changed: string[]; why: string }): void => {
    pending = mergeRequest(pending, next);
    kick();
  };

  daemon.connection.onNotification(Methods.changed, (change: FilesChanged) => {
    const changed = change.files.map((f) => path.relative(root, f));
    const names = describeFiles(changed);
    if (change.affected === 'all') return schedule({ affected: 'all', changed, why: `${names} changed: running everything` });
    if (!change.affected.length) {
      process.stdout.write(`heavy watch: ${names} changed; no test depends on it\n`);
      return;
    }
    const n = change.affected.length;
    schedule({ affected: change.affected, changed, why: `${names} changed: running ${n} affected test file${n === 1 ? '' : 's'}` });
  });
  schedule({ affected: 'all', changed: [], why: 'first run' });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    daemon.connection.onClose(() => resolve());
  });
  daemon.close();
  return 0;
}
