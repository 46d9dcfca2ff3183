import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { envToApply } from '../profiles/env';
import { profilesFor, type LaunchProfile } from '../profiles';
import { parseArgs, rootOf, UsageError } from './args';
import { checkInterpreter, runCommand } from './profilesCommand';
import { confirm } from './prompt';

export async function dbCommand(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'pave': return pave(rest);
    case 'migrate': return migrate(rest);
    case 'check': return check(rest);
    default: throw new UsageError(verb ? `unknown verb "heavy db ${verb}" (expected pave, migrate or check)` : 'heavy db needs a verb: pave, migrate or check');
  }
}

/** The profile that runs the DB helper, so the CLI and VS Code run exactly the same thing. */
function helperProfile(root: string, id: string, verbArgs: string[]): LaunchProfile {
  const { project, profiles, unavailable } = profilesFor(root);
  const profile = profiles.find((p) => p.profile === id);
  if (!profile) {
    const why = unavailable.find((u) => u.profile === id)?.reason ?? 'not available';
    throw new UsageError(`${why}`);
  }
  checkInterpreter(project);
  const args = [...profile.args.slice(0, 3), ...verbArgs];
  return { ...profile, args, command: [profile.python, profile.program!, ...args] };
}

async function pave(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['--root'], flags: ['--yes'] });
  if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const root = rootOf(args.values);
  // The helper runs only once the user has confirmed (here, or with --yes).
  const profile = helperProfile(root, 'pave-db', ['--yes']);
  if (!args.flags.has('--yes')) {
    // Ask the helper what it would pave first: a refused URL is refused before any question.
    const dry = spawnSync(profile.python, [profile.program!, 'pave', '--root', root, '--dry-run'], {
      cwd: root, env: { ...process.env, ...envToApply(profile.env, process.env) }, encoding: 'utf8',
    });
    if (dry.error) throw new UsageError(`could not start ${profile.python}: ${dry.error.message}`);
    if (dry.status !== 0) {
      process.stderr.write(dry.stderr);
      return dry.status ?? 1;
    }
    const target = dry.stdout.trim().split('\n').join(', ');
    if (!(await confirm(`Pave DB drops every table of ${target} and recreates them. Continue?`))) {
      process.stderr.write('heavy: cancelled, nothing was changed\n');
      return 1;
    }
  }
  return runCommand({ ...profile, command: [...profile.command] });
}

async function migrate(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['--root', '--message', '-m'] });
  if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const message = args.values['--message'] ?? args.values['-m'];
  const root = rootOf(args.values);
  const profile = helperProfile(root, 'create-and-test-migrations', message ? ['--message', message] : []);
  return runCommand(profile);
}

async function check(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['--root'] });
  if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const root = rootOf(args.values);
  const base = helperProfile(root, 'create-and-test-migrations', []);
  const checkArgs = ['check', '--root', root];
  return runCommand({ ...base, args: checkArgs, command: [base.python, base.program!, ...checkArgs] }, false);
}
