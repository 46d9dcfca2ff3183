import * as fs from 'node:fs';

/**
 * When process `pid` started, as an opaque string that only compares equal for the same
 * process: a pid that has wrapped around and names another process has another start time.
 * undefined when the process does not exist or this system cannot tell.
 */
export function processStartTime(pid: number): string | undefined {
  if (process.platform === 'win32') return undefined;
  if (process.platform === 'linux') {
    try {
      // Field 22, in clock ticks since boot. The name (field 2) may hold spaces and ")".
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    } catch {
      return undefined;
    }
  }
  // macOS and the BSDs: ps is always there. lstart is to the second: a pid would have to
  // wrap around and be reused within the second its last owner started.
  // Required here: `heavy test` loads this module, and node:child_process costs it ms.
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', timeout: 5000 });
  const started = r.status === 0 ? r.stdout.trim() : '';
  return started || undefined;
}
