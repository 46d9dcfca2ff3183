import * as path from 'node:path';
import { findProjectRoot, rootProblem } from '../project/root';

/** A mistake on the command line; the CLI prints it with a hint and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Input the command cannot work with (a missing project folder, an interpreter that is not
 * Python): the CLI prints the message as its one line and exits 2.
 */
export class InputError extends Error {
  override name = 'InputError';
}

export interface OptionSpec {
  /** Options that take a value, e.g. "--root". */
  values?: string[];
  /** Flags, e.g. "--json". */
  flags?: string[];
  /** Stop at the first argument that is not heavy's own and keep the rest verbatim (pytest args). */
  passThrough?: boolean;
}

export interface ParsedArgs {
  values: Record<string, string>;
  flags: Set<string>;
  positional: string[];
}

export function parseArgs(argv: string[], spec: OptionSpec): ParsedArgs {
  const values: Record<string, string> = {};
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith('--') ? splitOnce(arg, '=') : [arg, undefined];
    if (spec.values?.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      values[name] = value;
    } else if (spec.flags?.includes(name)) {
      if (inline !== undefined) throw new UsageError(`${name} takes no value`);
      flags.add(name);
    } else if (spec.passThrough) {
      positional.push(...argv.slice(i));
      break;
    } else if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  return { values, flags, positional };
}

function splitOnce(text: string, sep: string): [string, string | undefined] {
  const i = text.indexOf(sep);
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}

/**
 * `--root DIR`, else the nearest project root above the working directory. Every command
 * gets its root here, so this is where a root that cannot be used is refused (InputError),
 * before anything is spawned or written. `check: false` only for `heavy daemon stop`, which
 * may stop the daemon of a folder that has since been deleted.
 */
export function rootOf(values: Record<string, string>, options: { check?: boolean } = {}): string {
  let root: string;
  try {
    root = values['--root'] ? path.resolve(values['--root']) : findProjectRoot(process.cwd());
  } catch (err) {
    // process.cwd() fails when the folder this shell is in has been deleted.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError('the current folder no longer exists; cd to the project or pass --root');
    throw err;
  }
  if (options.check !== false) checkRoot(root);
  return root;
}

export function checkRoot(root: string): void {
  const problem = rootProblem(root);
  if (problem) throw new InputError(problem);
}
