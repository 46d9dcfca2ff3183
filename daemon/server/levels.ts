import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import { mismatch, modulesIn, shadowed, type LevelReads, type RunContext, type StartupRule } from './contexts';

/**
 * A warm Python process: level 0 (pytest and plugins, the process the daemon starts),
 * level 1 (third-party modules, per context) or level 2 (the project's modules too).
 */
export interface Level {
  tier: 0 | 1 | 2;
  sock: net.Socket;
  pid?: number;
  ready: boolean;
  reads: LevelReads;
  /** Top-level modules it imported (levels 0 and 1): a run's folder must not shadow them. */
  tops: string[];
  /** The folder it was built in (sys.path[0]). */
  cwd: string;
  parent?: Level;
  /** The context it was built with. */
  built: RunContext;
  lastUsed: number;
  runs: number;
  /** Level 2: the change sequence when it was asked for, and [file, mtime_ns, size] of what it imported. */
  stamp?: number;
  files?: Array<[string, string, number]>;
  fileSet?: Set<string>;
  warmMs?: number;
  retired?: boolean;
}

/** Level 0's rule for interpreter start-up variables, and whether it can serve runs at all. */
export interface Level0Info {
  startup?: StartupRule;
  argv0: string;
  unusable?: string;
}

/** Module names a folder provides (for shadowing), cached briefly: a run's folder rarely changes between runs. */
const providedCache = new Map<string, { at: number; names: Set<string> }>();

export function providedModules(dir: string): Set<string> {
  const hit = providedCache.get(dir);
  if (hit && Date.now() - hit.at < 1000) return hit.names;
  const entries: string[] = [];
  try {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (fs.existsSync(path.join(dir, entry.name, '__init__.py'))) entries.push(`${entry.name}/`);
      } else {
        entries.push(entry.name);
      }
    }
  } catch { /* unreadable: python would find nothing there either */ }
  const names = modulesIn(entries);
  providedCache.set(dir, { at: Date.now(), names });
  return names;
}

/** Why `level` (with the levels below it) cannot serve `ctx`; undefined when it can. */
export function whyNot(level: Level, ctx: RunContext, info: Level0Info): string | undefined {
  for (let l: Level | undefined = level; l; l = l.parent) {
    if (l.tier === 0 && info.unusable) return info.unusable;
    const why = mismatch(l.reads, ctx, l.tier === 0 ? info.startup : undefined);
    if (why) return `level ${l.tier}: ${why}`;
    if (ctx.cwd !== l.cwd) {
      // Level 2 imported the project from its own folder: a run elsewhere resolves it differently.
      if (l.tier === 2) return 'level 2: the working folder differs';
      const name = shadowed(l.tops, providedModules(ctx.cwd));
      if (name) return `level ${l.tier}: ${path.join(ctx.cwd, name)} shadows the module ${name}`;
    }
  }
  return undefined;
}

/** Linux private memory of a process (what it does not share with its warm parent). */
export function privateBytes(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    let kb = 0;
    for (const m of text.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+) kB/gm)) kb += Number(m[1]);
    return kb * 1024;
  } catch {
    return undefined;
  }
}
