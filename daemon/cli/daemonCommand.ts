import { connectDaemon } from '../client';
import { Methods, type DaemonStatus } from '../protocol';
import { lockHolder } from '../server/lock';
import { daemonPaths } from '../server/paths';
import { startReporter } from '../server/startReport';
import { checkRoot, parseArgs, rootOf, UsageError } from './args';
import { isAlive } from '../util/process';

export async function daemonCommand(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === '__serve') {
    const { values } = parseArgs(rest, { values: ['--root', '--report-fd'] });
    const report = startReporter(values['--report-fd']);
    let root: string;
    try {
      root = rootOf(values);
    } catch (err) {
      report({ error: (err as Error).message, input: (err as Error).name === 'InputError' });
      throw err;
    }
    const { serveForever } = await import('../server/daemon');
    return serveForever(root, report);
  }
  const { values, flags, positional } = parseArgs(rest, { values: ['--root'], flags: ['--json'] });
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"`);
  // stop checks the root itself: it may stop the daemon of a folder deleted since.
  const root = rootOf(values, { check: verb !== 'stop' });
  const json = flags.has('--json');
  switch (verb) {
    case 'start': return start(root, json);
    case 'stop': return stop(root, json);
    case 'restart': {
      const previous = await shutdown(root);
      return start(root, json, previous);
    }
    case 'status': return status(root, json);
    default: throw new UsageError(verb ? `unknown verb "heavy daemon ${verb}" (expected start, stop, status or restart)` : 'heavy daemon needs a verb: start, stop, status or restart');
  }
}

/** `previous`: the pid a restart stopped. */
async function start(root: string, json: boolean, previous?: number): Promise<number> {
  const daemon = await connectDaemon(root, { start: true });
  const status = await daemon!.connection.sendRequest(Methods.status);
  daemon!.close();
  if (json) process.stdout.write(JSON.stringify({ ...status, started: daemon!.started, ...(previous ? { previousPid: previous } : {}) }, null, 2) + '\n');
  else if (previous) process.stdout.write(`restarted the test daemon for ${root} (pid ${previous}, now ${status.pid})\n`);
  else process.stdout.write(`${daemon!.started ? 'started' : 'already running:'} the test daemon for ${root} (pid ${status.pid})\n`);
  return 0;
}

async function stop(root: string, json: boolean): Promise<number> {
  const pid = await shutdown(root);
  if (pid === undefined) checkRoot(root);
  if (json) process.stdout.write(JSON.stringify({ stopped: pid !== undefined, pid }) + '\n');
  else process.stdout.write(pid ? `stopped the test daemon (pid ${pid})\n` : `no test daemon is running for ${root}\n`);
  return 0;
}

/** Stops the project's daemon, if any; the pid it had. */
async function shutdown(root: string): Promise<number | undefined> {
  const daemon = await connectDaemon(root, { start: false });
  let pid: number | undefined;
  if (daemon) {
    const status = await daemon.connection.sendRequest(Methods.status);
    pid = status.pid;
    await daemon.connection.sendRequest(Methods.shutdown).catch(() => {});
    daemon.close();
    await waitForExit(pid);
  } else {
    // No answer on the socket; a hung daemon may still hold the lock. Only a holder the
    // system vouches for is signalled: never a process that merely reuses a recorded pid.
    const holder = await lockHolder(daemonPaths(root));
    if (holder && holder !== 'unknown') {
      pid = holder.pid;
      process.kill(pid, 'SIGTERM');
      if (!(await waitForExit(pid, 3000))) process.kill(pid, 'SIGKILL');
    }
  }
  return pid;
}

async function status(root: string, json: boolean): Promise<number> {
  const daemon = await connectDaemon(root, { start: false });
  if (!daemon) {
    const holder = await lockHolder(daemonPaths(root));
    if (json) process.stdout.write(JSON.stringify({ running: false, root, ...(holder && holder !== 'unknown' ? { lockHolder: holder.pid } : {}) }) + '\n');
    else if (holder === 'unknown') process.stdout.write(`no test daemon answers for ${root}, but a process that has not said who it is holds its lock\n`);
    else if (holder) process.stdout.write(`no test daemon answers for ${root}, but pid ${holder.pid} holds its lock (heavy daemon stop ends it)\n`);
    else process.stdout.write(`no test daemon is running for ${root}\n`);
    return 3;
  }
  const s = await daemon.connection.sendRequest(Methods.status);
  daemon.close();
  if (json) {
    process.stdout.write(JSON.stringify({ running: true, ...s }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(formatStatus(s));
  return 0;
}

export function formatStatus(s: DaemonStatus): string {
  const mb = (n?: number) => (n === undefined ? '?' : `${(n / 1048576).toFixed(0)} MB`);
  const lines = [
    `test daemon for ${s.root}`,
    `  pid ${s.pid}, up ${formatSeconds(s.uptimeSeconds)}, heavy ${s.version}`,
    `  python ${s.python ?? '?'}${s.pythonVersion ? ` (${s.pythonVersion}, pytest ${s.pytestVersion})` : ''}`,
    `  warm state: ${s.warm}${s.warmError ? `: ${s.warmError}` : ''}; project modules: ${s.projectWarm}; requests primed: ${s.primes}`,
    s.lastRebuild ? `  last rebuild ${s.lastRebuild.at} took ${s.lastRebuild.seconds.toFixed(2)}s (${s.lastRebuild.reason})` : '',
    `  memory: daemon ${mb(s.memory.nodeRssBytes)}, warm python ${mb(s.memory.workerRssBytes)}${s.memory.warmPrivateBytes !== undefined ? ` (${mb(s.memory.warmPrivateBytes)} private in all warm processes)` : ''}`,
    `  runs: ${s.runs.active} running, ${s.runs.queued} queued, ${s.runs.total} so far (${s.runs.primed} primed)`,
    ...(s.contexts ?? []).map((c) => `  warm context: ${c.levels} in ${c.cwd}, ${c.runs} runs${c.privateBytes ? `, ${mb(c.privateBytes)} private` : ''}${c.reads.length ? `; keyed on ${c.reads.includes('*') ? 'the whole environment' : c.reads.slice(0, 6).join(' ') + (c.reads.length > 6 ? ' ...' : '')}` : ''}`),
  ];
  return lines.filter(Boolean).join('\n') + '\n';
}

function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(0)}s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(0)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}


async function waitForExit(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}
