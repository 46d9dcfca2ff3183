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
