import { execFile } from 'node:child_process';

export type CoverageCheck = { ok: true; version: string } | { ok: false; python: string; detail: string };

/** Whether `python` can import coverage.py; runs the interpreter with an argument list, no shell. */
export function checkCoverage(python: string, cwd: string): Promise<CoverageCheck> {
  return new Promise((resolve) => {
    execFile(python, ['-c', 'import coverage; print(coverage.__version__)'], { cwd, timeout: 20000 }, (err, out, stderr) => {
      if (!err) return resolve({ ok: true, version: out.trim() });
      const detail = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${python} was not found` : stderr.trim().split('\n').pop() || String(err);
      resolve({ ok: false, python, detail });
    });
  });
}

/** The one command that installs coverage.py into the project's interpreter. */
export function installCommand(python: string): string {
  const quoted = /^[\w@%+=:,./-]+$/.test(python) ? python : `'${python.replace(/'/g, `'\\''`)}'`;
  return `${quoted} -m pip install coverage`;
}
