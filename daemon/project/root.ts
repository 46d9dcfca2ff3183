import * as fs from 'node:fs';
import * as path from 'node:path';

const MARKERS = ['pyproject.toml', 'setup.cfg', 'pytest.ini', '.git'];

/** The nearest folder at or above `start` that looks like a project root; else `start`. */
export function findProjectRoot(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    if (MARKERS.some((m) => fs.existsSync(path.join(dir, m)))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(start);
    dir = parent;
  }
}

/**
 * Why `root` cannot be used as a project folder, in one line; undefined when it can. Only
 * cheap checks (a few stat and access calls): every command runs it, `heavy test` too.
 */
export function rootProblem(root: string): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') return `cannot open the project folder ${root}: permission denied`;
    return `the project folder ${root} does not exist`;
  }
  if (!stat.isDirectory()) return `the project folder ${root} is a file, not a folder`;
  if (!canAccess(root, fs.constants.R_OK | fs.constants.X_OK)) return `cannot open the project folder ${root}: permission denied`;
  // Every command reads it (the daemon only later, where a failure would surface as a failed run).
  const pyproject = path.join(root, 'pyproject.toml');
  const file = fs.statSync(pyproject, { throwIfNoEntry: false });
  if (file && !file.isFile()) return `${pyproject} is not a file`;
  if (file && !canAccess(pyproject, fs.constants.R_OK)) return `cannot read ${pyproject}: permission denied`;
  return undefined;
}

function canAccess(file: string, mode: number): boolean {
  try {
    fs.accessSync(file, mode);
    return true;
  } catch {
    return false;
  }
}
