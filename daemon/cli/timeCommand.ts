import * as fs from 'node:fs';
import * as path from 'node:path';
import { readPyProject, type HeavyConfig } from '../project/config';
import { watchProject } from '../server/watch';
import { blockOptions } from '../time/blocks';
import { cement, importPtyme, resolveUser, timePaths, TimeError } from '../time/store';
import { pause, resume, timeStatus, Tracker, trackerPid } from '../time/tracker';
import { renderReportHtml } from '../time/reportHtml';
import { loadReport } from '../time/reportLoad';
import { verifyLedgers } from '../time/verify';
import { startWitness, witnessPublicKeyLine } from '../time/witness';
import { parseArgs, rootOf, UsageError } from './args';

const VERBS = ['track', 'status', 'cement', 'verify', 'report', 'pause', 'resume', 'witness', 'import-ptyme'];

export async function timeCommand(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof TimeError) {
      process.stderr.write(`heavy: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || !VERBS.includes(verb)) {
    throw new UsageError(verb ? `unknown verb "heavy time ${verb}" (expected ${VERBS.join(', ')})` : `heavy time needs a verb: ${VERBS.join(', ')}`);
  }
  if (verb === 'witness') return witness(rest);
  if (verb === 'import-ptyme') return importCommand(rest);
  const { values, flags, positional } = parseArgs(rest, { values: ['--root', '--user', '--since', '--html'], flags: ['--json'] });
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"`);
  const root = rootOf(values);
  const config = readPyProject(root).heavy.time;
  const json = flags.has('--json');
  const out = (text: string) => process.stdout.write(text + '\n');
  if (verb === 'verify') return verify(root, json, out);
  if (verb === 'report' && values['--html'] !== undefined) return reportHtml(root, config, values['--since'], values['--html'], out);
  if (verb === 'report') return report(root, values['--since'], json, out);
  const user = resolveUser(root, values['--user'], config?.user);
  switch (verb) {
    case 'track': return await track(root, user, config, out);
    case 'status': {
      const s = timeStatus(root, user, config);
      for (const w of s.warnings) process.stderr.write(`heavy: ${w}\n`);
      if (json) out(JSON.stringify(s, null, 2));
      else out(`${s.user}: ${s.tracking ? 'tracking' : s.paused ? 'paused' : 'not tracking'}${s.active ? ', block open' : ''}; today ${hms(s.todaySeconds)} on ${s.branch}; not yet cemented ${hms(s.uncementedSeconds)}${s.lastActivity ? `; last activity ${s.lastActivity}` : ''}`);
      return 0;
    }
    case 'cement': {
      const r = cement(root, user, blockOptions(config));
      for (const w of r.warnings) process.stderr.write(`heavy: ${w}\n`);
      const file = path.relative(root, timePaths(root, user).ledger);
      if (json) out(JSON.stringify({ added: r.added.length, seconds: r.seconds, file }));
      else out(r.added.length ? `cemented ${r.added.length} block(s), ${hms(r.seconds)}, into ${file}; commit it` : 'nothing new to cement');
      return 0;
    }
    case 'pause':
      pause(timePaths(root, user));
      out(`time tracking paused for ${user}; heavy time resume to go on`);
      return 0;
    case 'resume':
      resume(timePaths(root, user));
      out(`time tracking resumed for ${user}`);
      return 0;
  }
  return 2;
}

export function hms(totalSeconds: number): string {
  const s = Math.round(totalSeconds);
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Resolves on Ctrl+C or SIGTERM. Listening starts before anything is printed: whoever reads
 * "tracking time..." and interrupts at once must reach the clean-up, not Node's default exit.
 */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

async function track(root: string, user: string, config: HeavyConfig['time'], out: (t: string) => void): Promise<number> {
  const holder = trackerPid(timePaths(root, user));
  if (holder) throw new TimeError(`time for ${user} here is already tracked by process ${holder} (the test daemon or another heavy time track); not starting a second tracker`);
  const interrupted = untilInterrupted();
  const tracker = new Tracker(root, user, config);
  tracker.start();
  const watcher = watchProject(root, (rel) => {
    try {
      tracker.fileChanged(rel);
    } catch (err) {
      process.stderr.write(`heavy: ${(err as Error).message}\n`);
    }
  });
  if (await Promise.race([watcher.ready.then(() => false), interrupted.then(() => true)]) === false) {
    out(`tracking time for ${user} in ${root}; Ctrl+C to stop (heavy time cement records it)`);
    await interrupted;
  }
  await watcher.close();
  tracker.stop();
  return 0;
}

function importCommand(argv: string[]): number {
  const { values, positional } = parseArgs(argv, { values: ['--root', '--user'] });
  if (positional.length !== 1) throw new UsageError('heavy time import-ptyme needs one file: the ptyme-track log, e.g. .ptyme_track/<user>');
  const root = rootOf(values);
  const source = path.resolve(positional[0]);
  if (!fs.existsSync(source)) throw new UsageError(`${source} does not exist`);
  const config = readPyProject(root).heavy.time;
  // ptyme-track names each file after its user.
  const user = resolveUser(root, values['--user'] ?? path.basename(source), config?.user);
  const r = importPtyme(root, user, source, blockOptions(config));
  for (const w of r.skipped) process.stderr.write(`heavy: ${w}\n`);
  process.stdout.write(`imported ${r.added} block(s), ${hms(r.seconds)}, for ${user} into ${path.relative(root, timePaths(root, user).ledger)} (marked imported: verify reports them as imported, not verified)\n`);
  return 0;
}

async function witness(argv: string[]): Promise<number> {
  const { values, positional } = parseArgs(argv, { values: ['--port', '--host'] });
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"`);
  const port = Number(values['--port'] ?? 7777);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${values['--port']} is not a port number`);
  const interrupted = untilInterrupted();
  const { server, url } = await startWitness(port, values['--host'] ?? '127.0.0.1');
  process.stdout.write(`time witness listening on ${url}\n`);
  process.stdout.write(`its public key (commit it as .heavy/time/witness.pub):\n${witnessPublicKeyLine()}\n`);
  await interrupted;
  server.close();
  return 0;
}

function verify(root: string, json: boolean, out: (t: string) => void): number {
  const result = verifyLedgers(path.join(root, '.heavy', 'time'));
  if (json) {
    out(JSON.stringify(result, null, 2));
    return result.ok ? 0 : 1;
  }
  for (const p of result.problems) out(`${p.file}:${p.line}: ${p.reason}`);
  for (const [user, t] of Object.entries(result.users)) {
    const witnessed = result.witness ? `, ${t.witnessed} witnessed` : '';
    out(`${user}: ${hms(t.seconds)} in ${t.records} block(s)${witnessed}${t.imported ? ` (${t.imported} imported, not verified)` : ''}`);
    for (const [branch, secs] of Object.entries(t.branches)) out(`  ${branch}: ${hms(secs)}`);
  }
  if (!Object.keys(result.users).length) out('no cemented time logs in .heavy/time');
  out(result.ok ? 'time logs verified' : `time logs FAILED verification (${result.problems.length} problem(s))`);
  return result.ok ? 0 : 1;
}

function report(root: string, since: string | undefined, json: boolean, out: (t: string) => void): number {
  const from = since ? Date.parse(since) : 0;
  if (since && Number.isNaN(from)) throw new UsageError(`--since ${since} is not a date (use YYYY-MM-DD)`);
  const dir = path.join(root, '.heavy', 'time');
  const totals: Record<string, { total: number; days: Record<string, number>; branches: Record<string, number> }> = {};
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort() : []) {
    for (const line of fs.readFileSync(path.join(dir, name), 'utf8').split('\n')) {
      let r: { user: string; start: string; end: string; seconds: number; branch: string };
      try {
        r = JSON.parse(line);
      } catch {
        continue;
      }
      if (Date.parse(r.end) < from) continue;
      const t = (totals[r.user] ??= { total: 0, days: {}, branches: {} });
      const day = r.start.slice(0, 10);
      t.total += r.seconds;
      t.days[day] = (t.days[day] ?? 0) + r.seconds;
      t.branches[r.branch] = (t.branches[r.branch] ?? 0) + r.seconds;
    }
  }
  if (json) {
    out(JSON.stringify(totals, null, 2));
    return 0;
  }
  for (const [user, t] of Object.entries(totals)) {
    out(`${user}: ${hms(t.total)}`);
    for (const [day, s] of Object.entries(t.days).sort()) out(`  ${day}: ${hms(s)}`);
    for (const [branch, s] of Object.entries(t.branches)) out(`  branch ${branch}: ${hms(s)}`);
  }
  if (!Object.keys(totals).length) out('no cemented time yet');
  return 0;
}

/** The editor's report webview, as one self-contained file for people outside VS Code. */
function reportHtml(root: string, config: HeavyConfig['time'], since: string | undefined, file: string, out: (t: string) => void): number {
  const from = since ? Date.parse(since) : undefined;
  if (since && Number.isNaN(from)) throw new UsageError(`--since ${since} is not a date (use YYYY-MM-DD)`);
  if (!file) throw new UsageError('--html needs a file name, e.g. heavy time report --html report.html');
  const target = path.resolve(file);
  fs.writeFileSync(target, renderReportHtml(loadReport(root, config, { since: from }), { title: `Time report: ${path.basename(root)}` }));
  out(`wrote the time report to ${target}`);
  return 0;
}
