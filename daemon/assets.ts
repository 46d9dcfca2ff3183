import * as fs from 'node:fs';
import * as path from 'node:path';

// The bundles live in dist/, the sources in daemon/ and extension/; both are one level
// below the package root, where launch-templates/ and daemon/python/ are shipped.
let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && fs.existsSync(path.join(dir, 'launch-templates'))) return (cached = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`Heavy Dev is installed incompletely: no launch-templates/ above ${__dirname}`);
    dir = parent;
  }
}

export const templatesDir = (): string => path.join(packageRoot(), 'launch-templates');
export const helpersDir = (): string => path.join(packageRoot(), 'daemon', 'python');
