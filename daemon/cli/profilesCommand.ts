import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { envToApply } from '../profiles/env';
import { profilesFor, type LaunchProfile } from '../profiles';
import { shellQuote } from '../profiles/resolve';
import type { ProjectInfo } from '../project/detect';
import { interpreterProblem } from '../project/interpreter';
import { InputError, parseArgs, rootOf, UsageError } from './args';
import { confirm } from './prompt';

export async function profilesCommand(argv: string[]): Promise<number> {
  const verb = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'list';
  const rest = verb === argv[0] ? argv.slice(1) : argv;
  if (verb === 'list') return listProfiles(rest);
  if (verb === 'run') return runProfile(rest);
  throw new UsageError(`unknown verb "heavy profiles ${verb}" (expected list or run)`);
}

function listProfiles(argv: string[]): number {
  const args = parseArgs(argv, { values: ['--root'], flags: ['--json'] });
  if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const root = rootOf(args.values);
  const { project, profiles, unavailable } = profilesFor(root);
  if (args.flags.has('--json')) {
    process.stdout.write(JSON.stringify(profiles, null, 2) + '\n');
    return 0;
  }
  const out: string[] = [`Project ${project.root}`];
  out.push(`  python: ${project.python.path} (${pythonSource(project.python.source)})`);
  if (project.app) out.push(`  app: ${project.app.ref} (${project.app.framework ?? 'ASGI'}${project.app.source === 'config' ? ', from [tool.heavy] app' : ', found by scan'})`);
  if (project.envFile) out.push(`  env: ${project.envFile} (${Object.keys(project.env).length} variables: ${Object.keys(project.env).join(', ')})`);
  out.push('');
  for (const p of profiles) {
    out.push(`${p.name}  [${p.profile}]`);
    out.push(`  ${p.description}`);
    out.push(`  $ cd ${shellQuote([p.cwd])} && ${shellQuote(p.command)}`);
    out.push('');
  }
  for (const u of unavailable) out.push(`${u.name}  [${u.profile}]: not offered, ${u.reason}`);
  process.stdout.write(out.join('\n').trimEnd() + '\n');
  return 0;
}

function pythonSource(source: string): string {
  return { config: 'from [tool.heavy] python', venv: 'project virtualenv', 'python-extension': 'Python extension', default: 'default; create .venv or set [tool.heavy] python' }[source] ?? source;
}

async function runProfile(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['--root'], flags: ['--yes'] });
  const [wanted, ...extra] = args.positional;
  if (!wanted) throw new UsageError('name the profile to run, e.g. heavy profiles run run-server');
  const root = rootOf(args.values);
  const { project, profiles, unavailable } = profilesFor(root, {}, { args: extra });
  const profile = findProfile(profiles, wanted);
  if (!profile) {
    const missing = unavailable.find((u) => u.profile === wanted || u.name.toLowerCase() === wanted.toLowerCase());
    if (missing) throw new UsageError(`${missing.name} is not available here: ${missing.reason}`);
    throw new UsageError(`no profile "${wanted}" (available: ${profiles.map((p) => p.profile).join(', ')})`);
  }
  checkInterpreter(project);
  if (profile.confirm && !args.flags.has('--yes')) {
    if (!(await confirm(profile.confirm))) {
      process.stderr.write('heavy: cancelled, nothing was changed\n');
      return 1;
    }
  }
  return runCommand(profile);
}

function findProfile(profiles: LaunchProfile[], wanted: string): LaunchProfile | undefined {
  const lower = wanted.toLowerCase();
  return profiles.find((p) => p.profile === lower || p.name.toLowerCase() === lower);
}

/** Refuses to go on (InputError) when the project's interpreter is not a Python 3. */
export function checkInterpreter(project: ProjectInfo): void {
  const problem = interpreterProblem(project.python, project.pyproject);
  if (problem) throw new InputError(problem);
}

export function runCommand(profile: LaunchProfile, announce = true): Promise<number> {
  if (announce) process.stderr.write(`heavy: ${profile.name}: ${shellQuote(profile.command)}\n`);
  const [file, ...argv] = profile.command;
  const child = spawn(file, argv, {
    cwd: profile.cwd,
    env: { ...process.env, ...envToApply(profile.env, process.env) },
    stdio: 'inherit',
  });
  // The terminal's Ctrl+C reaches the child directly (same process group); don't die before it does.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  return new Promise((resolve) => {
    child.on('error', (err) => {
      process.stderr.write(`heavy: could not start ${file}: ${err.message}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return (require('node:os').constants.signals as Record<string, number>)[signal];
}
