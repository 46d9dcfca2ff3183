// Pure helpers for mapping pytest node ids onto the Testing view's tree (no vscode import).
import * as path from 'node:path';

export interface NodeIdParts {
  /** The test file, relative to pytest's rootdir, with forward slashes. */
  file: string;
  /** Class and function names under the file, e.g. ["TestApi", "test_get[1]"]. */
  names: string[];
}

export function splitNodeId(nodeid: string): NodeIdParts {
  // Parameter ids may contain "::" inside their brackets; split only outside them.
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = 0; i < nodeid.length; i++) {
    const ch = nodeid[i];
    if (ch === '[') depth++;
    if (ch === ']') depth = Math.max(0, depth - 1);
    if (depth === 0 && nodeid.startsWith('::', i)) {
      parts.push(current);
      current = '';
      i++;
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return { file: parts[0], names: parts.slice(1) };
}

/** What pytest is given to run a set of selected items: node ids, and --deselect for exclusions. */
export function pytestArgsFor(include: string[], exclude: string[]): string[] {
  const args = [...include];
  for (const id of exclude) args.push(`--deselect=${id}`);
  return args;
}

/**
 * A pytest argument as a node id relative to the project root, when it names a test file or
 * a test in one (`tests/test_a.py::test_x`, given from `cwd`); undefined for options (`-k`,
 * `-q`, `--deselect=...`) and for anything outside `root`.
 */
export function rootNodeId(arg: string, cwd: string, root: string): string | undefined {
  if (!arg || arg.startsWith('-')) return undefined;
  const { file, names } = splitNodeId(arg);
  const rel = path.relative(root, path.resolve(cwd, file));
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return [rel.split(path.sep).join('/').replace(/\/$/, ''), ...names].join('::');
}
