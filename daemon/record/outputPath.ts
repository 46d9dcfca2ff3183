import * as fs from 'node:fs';
import * as path from 'node:path';

// Where a recording lands by default: .heavy/recordings/<date>-<branch>.har, so recordings
// sort by time and say which code they were made against.

export function recordingsDir(root: string, configured?: string): string {
  return path.resolve(root, configured ?? path.join('.heavy', 'recordings'));
}

export function defaultRecordingName(root: string, now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const date = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `${date}-${branchOf(root)}.har`;
}

/** The checked-out branch, read from .git/HEAD (no git process); "detached" or "nogit" otherwise. */
export function branchOf(root: string): string {
  let dir = path.resolve(root);
  for (;;) {
    const head = path.join(dir, '.git', 'HEAD');
    if (fs.existsSync(head)) {
      const text = fs.readFileSync(head, 'utf8').trim();
      const ref = /^ref: refs\/heads\/(.+)$/.exec(text);
      return ref ? ref[1].replace(/[^\w.-]+/g, '-') : 'detached';
    }
    const parent = path.dirname(dir);
    if (parent === dir) return 'nogit';
    dir = parent;
  }
}
