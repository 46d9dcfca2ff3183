import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { answers, startAppServer, type AppServer } from '../record/appServer';
import { packageRoot } from '../assets';
import { buildReplay, PROCESSOR_FILE, sessionsOf, type ReplayPlan } from '../record/artillery';
import { CONFIG_TABLE, missingEnv, missingMessage } from '../record/credentials';
import { artilleryCommand, findArtillery, INSTALL_HINT } from '../record/engine';
import { readHar } from '../record/harInput';
import { ArtilleryProgress } from '../record/progress';
import { formatSummary, gateFailure, summarize, type ArtilleryReport } from '../record/report';
import { replayHtml } from '../record/reportHtml';
import { readPyProject } from '../project/config';
import { shellQuote } from '../profiles/resolve';
import { InputError, parseArgs, rootOf, UsageError } from './args';
import { REPLAY_HELP } from './help';

export async function replayCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(REPLAY_HELP + '\n');
    return 0;
  }
  const args = parseArgs(argv, {
    values: ['--root', '--target', '--users', '--ramp', '--duration', '--speed', '--html', '--export', '--out', '--max-error-rate'],
    flags: ['--json'],
  });
  const files = args.positional;
  if (!files.length) throw new UsageError('name the recording(s) to replay, e.g. heavy replay .heavy/recordings/my.har');
  const exportFormat = args.values['--export'];
  if (exportFormat !== undefined && exportFormat !== 'artillery') throw new UsageError('--export takes "artillery"');
  // The script needs its processor beside it, so an export is a folder, not one file on stdout.
  if (exportFormat && !args.values['--out']) throw new UsageError('--export artillery writes a folder (load.yml and its processor): add --out DIR');
  if (!exportFormat && args.values['--out']) throw new UsageError('--out goes with --export artillery');
  const plan = {
    users: numberOption(args.values, '--users', 1, { integer: true, min: 1 }),
    ramp: numberOption(args.values, '--ramp', 0, { min: 0 }),
    duration: numberOption(args.values, '--duration', 0, { min: 0 }),
    speed: numberOption(args.values, '--speed', 1, { min: 0.001 }),
  };
  const maxErrorRate = numberOption(args.values, '--max-error-rate', 1, { min: 0, max: 100 }) / 100;
  let target = args.values['--target'];
  if (target !== undefined && !/^https?:\/\/[^/]+\/?$/.test(target)) throw new UsageError('--target must be a URL such as http://127.0.0.1:8000');
  target = target?.replace(/\/$/, '');
  const root = rootOf(args.values);

  const hars = files.map((f) => readHar(path.resolve(f)));
  const sessions = sessionsOf(hars);
  if (!sessions.length) throw new InputError(`${files.join(', ')}: nothing to replay (no requests recorded)`);
  const config = readPyProject(root).heavy;
  const credentials = config.record?.credentials;
  // Built once up front: a placeholder with no value is one line now, not a 401 per request later.
  const check = buildReplay(sessions, { ...plan, target: target ?? 'http://127.0.0.1', credentials });
  if (check.missing.length) throw new InputError(missingMessage(check.missing));
  if (check.unsetCookies.length) {
    const names = [...new Set(check.unsetCookies.map((c) => c.name))];
    process.stderr.write(`heavy: warning: the recording sends cookie${names.length > 1 ? 's' : ''} ${names.map((n) => `"${n}"`).join(', ')} (first ${check.unsetCookies[0].where}) that no recorded response set, so replay cannot send ${names.length > 1 ? 'them' : 'it'}; if the app needs ${names.length > 1 ? 'them' : 'it'}, add a login in [tool.heavy.record.credentials.login]\n`);
  }

  if (exportFormat) {
    const port = config.serve?.port ?? 8000;
    const { script, env } = buildReplay(sessions, { ...plan, target: target ?? `http://127.0.0.1:${port}`, credentials });
    const dir = path.resolve(args.values['--out']!);
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new InputError(`--out ${args.values['--out']} is a file; --export writes a folder (load.yml and its processor)`);
    writeScript(dir, script);
    process.stdout.write(`Wrote ${path.join(dir, 'load.yml')} and ${PROCESSOR_FILE} beside it. Run it with:\n`
      + `  ${env.length ? `${env.map((n) => `${n}=...`).join(' ')} ` : ''}artillery run ${shellQuote([shownPath(path.join(dir, 'load.yml'))])}\n`
      + (env.length ? `The script reads ${env.join(', ')} from the environment (${CONFIG_TABLE}); their values are not in it.\n` : ''));
    return 0;
  }
  // Where the report goes is checked before any load: a run's results are never lost to a typo.
  if (args.values['--html']) {
    const html = path.resolve(args.values['--html']);
    const parent = path.dirname(html);
    if (!fs.existsSync(parent) || !fs.statSync(parent).isDirectory()) throw new InputError(`--html ${args.values['--html']}: the folder ${parent} does not exist`);
    if (fs.existsSync(html) && fs.statSync(html).isDirectory()) throw new InputError(`--html ${args.values['--html']} is a folder; name the file to write`);
    try {
      fs.accessSync(parent, fs.constants.W_OK);
    } catch {
      throw new InputError(`--html ${args.values['--html']}: the folder ${parent} is not writable`);
    }
  }
  const unset = missingEnv(check.env, process.env);
  if (unset.length) {
    throw new InputError(`${unset.map((n) => `\${${n}}`).join(', ')} ${unset.length > 1 ? 'are' : 'is'} not set: ${CONFIG_TABLE} in pyproject.toml reads ${unset.length > 1 ? 'them' : 'it'} from the environment; set ${unset.length > 1 ? 'them' : 'it'} before heavy replay`);
  }

  const found = findArtillery(root);
  if (!found) throw new InputError(INSTALL_HINT);
  const artillery = artilleryCommand(found);
  if (!artillery) throw new InputError(`${found} is there, but not the artillery package it starts; reinstall it ("npm install -g artillery@2")`);
  let app: AppServer | undefined;
  if (target) {
    const url = new URL(target);
    if (!(await answers(url.hostname, Number(url.port || (url.protocol === 'https:' ? 443 : 80))))) {
      throw new InputError(`${target} does not answer; start the app or leave out --target to let heavy replay start it`);
    }
  }

  // Ctrl+C, SIGTERM or a closed terminal stop the load, the app heavy replay started and the
  // temporary script folder, and nothing is left running: Artillery leads a process group of
  // its own (it may outlive a SIGTERM to its first process), which is stopped as a whole.
  let stopped: NodeJS.Signals | undefined;
  let engine: ChildProcess | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stopped ??= signal;
    if (engine) stopGroup(engine);
    // While the app starts: stopping it ends the wait for it (ready() rejects).
    else void app?.stop();
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, () => onSignal(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  let work: string | undefined;
  let code = 1;
  let output = '';
  let report: string | undefined;
  const json = args.flags.has('--json');
  try {
    if (!target) {
      app = await startAppServer(root, { purpose: 'replay', stdio: 'pipe' });
      await app.ready();
      target = `http://${app.host}:${app.port}`;
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-replay-'));
    const scriptFile = path.join(work, 'load.yml');
    const reportFile = path.join(work, 'report.json');
    const fullPlan: ReplayPlan = { ...plan, target, credentials };
    writeScript(work, buildReplay(sessions, fullPlan).script);
    if (!stopped) {
      process.stderr.write(`heavy: replaying ${sessions.length} session(s) from ${files.length} file(s) with ${plan.users} user(s) against ${target} on Artillery\n`);
      let child: ChildProcess | undefined;
      code = await new Promise<number>((resolve) => {
        child = spawn(artillery.file, [...artillery.args, 'run', '--output', reportFile, scriptFile], {
          cwd: work,
          env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true', HEAVY_REPLAY_PARENT: String(process.pid) },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: process.platform !== 'win32',
        });
        engine = child;
        // Artillery's own metric blocks are kept for a failure; the user sees a line a period.
        const progress = new ArtilleryProgress();
        const take = (d: Buffer) => { output = (output + d).slice(-20000); };
        child.stdout!.on('data', (d: Buffer) => {
          take(d);
          if (!stopped) for (const line of progress.feed(d.toString())) process.stderr.write(`heavy: ${line}\n`);
        });
        child.stderr!.on('data', take);
        child.once('error', (err) => { output += err.message; resolve(127); });
        child.once('exit', (c) => resolve(c ?? 1));
      });
      engine = undefined;
      // Whatever of its group outlived it (a worker) goes with it.
      try {
        const pid = (child as ChildProcess | undefined)?.pid;
        if (process.platform !== 'win32' && pid) process.kill(-pid, 'SIGKILL');
      } catch { /* the group is empty */ }
    }
    // The script may hold what a browser export recorded (tokens): it does not outlive the run.
    report = fs.existsSync(reportFile) ? fs.readFileSync(reportFile, 'utf8') : undefined;
  } catch (err) {
    // A Ctrl+C while the app starts reaches the app too: that is the stop, not its failure.
    if (!stopped) throw err;
  } finally {
    await app?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
  if (stopped) {
    process.stderr.write(`heavy: replay stopped (${stopped}) before it finished; no report\n`);
    return 128 + (os.constants.signals[stopped] ?? 2);
  }
  if (code !== 0 || report === undefined) {
    process.stderr.write(`heavy: Artillery failed (exit ${code}):\n${output.trim().split('\n').slice(-15).join('\n')}\n`);
    return 1;
  }
  const summary = summarize(JSON.parse(report) as ArtilleryReport);
  if (args.values['--html']) fs.writeFileSync(path.resolve(args.values['--html']), replayHtml(summary, `Replay of ${files.map((f) => path.basename(f)).join(', ')}`));
  if (json) process.stdout.write(JSON.stringify({ target, users: plan.users, sessions: sessions.length, ...summary }, null, 2) + '\n');
  else {
    process.stdout.write(formatSummary(summary) + '\n');
    process.stdout.write(`\nAt scale, the same script runs on Artillery's cloud runners:\n  heavy replay ${shellQuote(files)} --target https://staging.example --export artillery --out load\n  artillery run-fargate load/load.yml   (or run-lambda, run-aci)\n`);
  }
  const failure = gateFailure(summary, maxErrorRate);
  if (failure) {
    process.stderr.write(`heavy: ${failure}\n`);
    return 1;
  }
  return 0;
}

function numberOption(values: Record<string, string>, name: string, fallback: number, rule: { integer?: boolean; min: number; max?: number }): number {
  const text = values[name];
  if (text === undefined) return fallback;
  // Plain decimals only: Number() would also take "0x11", "1e3" and "".
  const n = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < rule.min || (rule.max !== undefined && n > rule.max) || (rule.integer && !Number.isInteger(n))) {
    const range = rule.max !== undefined ? `from ${rule.min} to ${rule.max}` : `of at least ${rule.min}`;
    throw new UsageError(`${name} must be ${rule.integer ? 'a whole number' : 'a number'} ${range}, not "${text}"`);
  }
  return n;
}

/** SIGTERM to the engine's process group, then SIGKILL to whatever of it is left 2 s later. */
function stopGroup(child: ChildProcess): void {
  const send = (signal: NodeJS.Signals) => {
    try {
      if (process.platform !== 'win32' && child.pid) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch { /* gone already */ }
  };
  send('SIGTERM');
  setTimeout(() => send('SIGKILL'), 2000).unref();
}

/** load.yml (JSON, which is YAML: `artillery run` reads it as it is) and the processor it names. */
function writeScript(dir: string, script: Record<string, unknown>): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'load.yml'), JSON.stringify(script, null, 2) + '\n');
  fs.copyFileSync(path.join(packageRoot(), 'daemon', 'record', 'replayProcessor.cjs'), path.join(dir, PROCESSOR_FILE));
}

/** Relative to the current folder when the file is below it, else absolute. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
