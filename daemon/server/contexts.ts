// Which warm level may serve a run: pure logic, unit-tested without processes.
//
// A warm level imported modules once, in the context of the run it was built for. Its
// Python side records what those imports read of that context (daemon/python/heavydev/
// context.py): environment variables by name, the whole environment when they listed
// it, the working folder, sys.argv. A run may fork from the level only when its own
// context gives the same answers; otherwise a cold run could differ from the warm one.

/** What a warm level's imports read, as its Python side reports it. */
export interface LevelReads {
  /** Variables read by name, with the value seen (null: it was not set). */
  env: Record<string, string | null>;
  /** Set when the imports listed the environment: all of it then counts. */
  allEnv?: Record<string, string>;
  /** Set when the imports read the working folder. */
  cwd?: string;
  /** Set when the imports looked at sys.argv. */
  argv?: string[];
}

/** Variables the interpreter reads at start-up, before any import can be watched (level 0 reports the rule). */
export interface StartupRule {
  prefixes: string[];
  names: string[];
  except: string[];
}

/** What a run brings: its full environment (the client's plus the project's .env), folder and sys.argv. */
export interface RunContext {
  env: Record<string, string>;
  cwd: string;
  argv: string[];
}

export function isStartupVariable(rule: StartupRule, name: string): boolean {
  if (rule.except.includes(name)) return false;
  return rule.names.includes(name) || rule.prefixes.some((p) => name.startsWith(p));
}

/** Why `ctx` cannot use a level that read `reads` (undefined: it can). */
export function mismatch(reads: LevelReads, ctx: RunContext, startup?: StartupRule): string | undefined {
  for (const [name, value] of Object.entries(reads.env)) {
    if ((ctx.env[name] ?? null) !== value) return `${name} differs`;
  }
  if (startup) {
    for (const name of Object.keys(ctx.env)) {
      if (!(name in reads.env) && isStartupVariable(startup, name)) return `${name} differs`;
    }
  }
  if (reads.allEnv && !sameRecord(reads.allEnv, ctx.env)) return 'the environment differs (its imports listed all of it)';
  if (reads.cwd !== undefined && reads.cwd !== ctx.cwd) return 'the working folder differs';
  if (reads.argv && !sameList(reads.argv, ctx.argv)) return 'sys.argv differs';
  return undefined;
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] === a[k]);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Top-level module names a folder provides: `python -m pytest` puts the working folder
 * first on sys.path, so a run from there imports these instead of what a level imported.
 * `entries` are the folder's names, with a trailing '/' for packages (folders holding __init__.py).
 */
export function modulesIn(entries: string[]): Set<string> {
  const names = new Set<string>();
  for (const entry of entries) {
    if (entry.endsWith('/')) names.add(entry.slice(0, -1));
    else if (/\.(py|pyc|so|pyd)$/.test(entry)) names.add(entry.split('.')[0]);
  }
  return names;
}

/** A shadowing module in the run's folder, if any, for a level that imported `tops` from elsewhere. */
export function shadowed(tops: Iterable<string>, provided: Set<string>): string | undefined {
  for (const name of tops) if (provided.has(name)) return name;
  return undefined;
}

/** A stable key for "the same context": runs with equal keys are interchangeable for every level. */
export function contextKey(ctx: RunContext): string {
  const env = Object.keys(ctx.env).sort().map((k) => [k, ctx.env[k]]);
  return JSON.stringify([ctx.cwd, ctx.argv, env]);
}

/** The names a level's key depends on, for status ('*' when it listed the environment). */
export function readNames(reads: LevelReads): string[] {
  const names = Object.keys(reads.env).sort();
  if (reads.allEnv) names.unshift('*');
  if (reads.cwd !== undefined) names.push('(working folder)');
  if (reads.argv) names.push('(sys.argv)');
  return names;
}
