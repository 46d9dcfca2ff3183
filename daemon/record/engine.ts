import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../assets';

// Artillery is the load engine. It is large (hundreds of packages, cloud SDKs), so it is not
// bundled into Heavy Dev: it comes from the project, from PATH, or, in a source checkout of
// Heavy Dev, from its devDependencies (which the tests use).

export const INSTALL_HINT = 'Artillery is not installed: run "npm install -g artillery@2" (or add it to the project: "npm install --save-dev artillery@2"), then run heavy replay again';

export function findArtillery(root: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const bin = process.platform === 'win32' ? 'artillery.cmd' : 'artillery';
  const candidates = [path.join(root, 'node_modules', '.bin', bin)];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, bin));
  try {
    candidates.push(path.join(packageRoot(), 'node_modules', '.bin', bin));
  } catch { /* an incomplete install: only the project and PATH count */ }
  return candidates.find((c) => {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return fs.statSync(c).isFile();
    } catch {
      return false;
    }
  });
}

/**
 * How to start the Artillery `findArtillery` found. On Windows that is npm's `artillery.cmd`
 * shim, which Node refuses to spawn without a shell since the fix for CVE-2024-27980, and no
 * shell line is ever built here: the shim's JavaScript entry runs on this Node instead.
 */
export function artilleryCommand(found: string, platform: NodeJS.Platform = process.platform,
                                 exists: (file: string) => boolean = fs.existsSync): { file: string; args: string[] } | undefined {
  if (platform !== 'win32' || !/\.cmd$/i.test(found)) return { file: found, args: [] };
  const dir = path.win32.dirname(found);
  // node_modules\.bin\artillery.cmd (a project) or %APPDATA%\npm\artillery.cmd (npm install -g).
  const entry = [path.win32.join(dir, '..', 'artillery', 'bin', 'run'), path.win32.join(dir, 'node_modules', 'artillery', 'bin', 'run')].find(exists);
  return entry ? { file: process.execPath, args: [entry] } : undefined;
}
