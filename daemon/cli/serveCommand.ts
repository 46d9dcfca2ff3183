import { spawn } from 'node:child_process';
import { envToApply } from '../profiles/env';
import { profilesFor } from '../profiles';
import { InputError, parseArgs, rootOf, UsageError } from './args';
import { checkInterpreter } from './profilesCommand';

/**
 * `heavy serve [--root DIR] [--host H] [--port N] [-- EXTRA SERVER ARGS]`: the Hot Reload
 * Server profile's command, run in this terminal. The engine is daemon/python/heavy_serve.py
 * (a warm parent forking one server process per version of the code); this only resolves
 * the project and keeps the terminal's signals reaching it.
 */
export async function serveCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['--root', '--host', '--port'] });
  const port = args.values['--port'] === undefined ? undefined : Number(args.values['--port']);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new UsageError(`--port must be a port number, not "${args.values['--port']}"`);
  }
  const root = rootOf(args.values);
  const { project, profiles, unavailable } = profilesFor(root, {}, { host: args.values['--host'], port, args: args.positional });
  const profile = profiles.find((p) => p.profile === 'hot-reload-server');
  if (!profile) {
    const why = unavailable.find((u) => u.profile === 'hot-reload-server')?.reason ?? 'no app found';
    throw new InputError(`nothing to serve in ${root}: ${why}`);
  }
  checkInterpreter(project);
  const [file, ...rest] = profile.command;
  const child = spawn(file, rest, {
    cwd: profile.cwd,
    env: {
      ...process.env,
      ...envToApply(profile.env, process.env),
      // Which of the project's variables are the user's own (they win over .env): the engine
      // re-reads .env for each new version and needs to know what it may replace.
      HEAVY_SERVE_USER_ENV: JSON.stringify(Object.keys(profile.env).filter((key) => process.env[key] !== undefined)),
    },
    stdio: 'inherit',
  });
  // Ctrl+C reaches the engine from the terminal itself (same process group); SIGTERM and
  // SIGHUP sent to this process alone are passed on. The engine stops its server processes,
  // and dies with us anyway (PR_SET_PDEATHSIG) should we be killed outright.
  const forward = (signal: NodeJS.Signals) => () => { if (child.exitCode === null) child.kill(signal); };
  const handlers: [NodeJS.Signals, () => void][] = [['SIGINT', () => {}], ['SIGTERM', forward('SIGTERM')], ['SIGHUP', forward('SIGHUP')]];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return new Promise((resolve) => {
    child.on('error', (err) => {
      process.stderr.write(`heavy: could not start ${file}: ${err.message}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => {
      for (const [name, handler] of handlers) process.off(name, handler);
      resolve(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' || signal === 'SIGHUP' ? 0 : 1));
    });
  });
}
