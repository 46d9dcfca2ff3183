import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { PythonInfo } from './detect';

// Prints the version the same way on Python 2 and 3, so an old interpreter is named as such.
const PROBE = 'import sys; sys.stdout.write("heavy-python %d.%d\\n" % tuple(sys.version_info[:2]))';
const PROBE_TIMEOUT_MS = 15000;

/**
 * Why `python` cannot be the project's interpreter, in one line; undefined when it is a
 * Python 3. Run where the interpreter is about to be used (a profile, the DB helper, the
 * daemon's start), never on the hot path of `heavy test`: it costs one interpreter start.
 */
export function interpreterProblem(python: PythonInfo, pyprojectFile?: string): string | undefined {
  const name = describe(python, pyprojectFile);
  const isPath = python.path.includes('/') || python.path.includes('\\');
  if (isPath) {
    const head = readHead(python.path);
    if (head === 'missing') return `${name} does not exist`;
    if (head === 'folder') return `${name} is a folder, not a program`;
    // Never started: a file without a program's header would be handed to /bin/sh by the
    // system and its lines run as shell commands.
    if (head && !looksLikeProgram(head)) return `${name} is not Python: it is not a program (a text file?)`;
  }
  const r = spawnSync(python.path, ['-c', PROBE], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: PROBE_TIMEOUT_MS,
    maxBuffer: 64 * 1024,
    windowsHide: true,
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return isPath ? `${name} does not exist` : `${name} is not on PATH`;
    if (code === 'EACCES') return `${name} is not executable`;
    if (code === 'ETIMEDOUT') return `${name} did not answer "${python.path} -c" within ${PROBE_TIMEOUT_MS / 1000}s`;
    if (code !== 'ENOBUFS') return `${name} could not be started: ${r.error.message}`;
  }
  const version = /heavy-python (\d+)\.(\d+)/.exec(r.stdout ?? '');
  if (!version) {
    // Quoted without the probe itself, which programs that are not Python tend to echo.
    const said = (firstLine(r.stderr) || firstLine(r.stdout)).replace(PROBE, '...');
    return `${name} is not Python${said ? ` (asked for its version, it said: ${said.length > 120 ? `${said.slice(0, 117)}...` : said})` : ''}`;
  }
  if (Number(version[1]) < 3) return `${name} is Python ${version[1]}.${version[2]}; Heavy needs Python 3`;
  return undefined;
}

function describe(python: PythonInfo, pyprojectFile?: string): string {
  if (python.source === 'config') return `the interpreter ${python.path} (set by "tool.heavy.python" in ${pyprojectFile ?? 'pyproject.toml'})`;
  if (python.source === 'python-extension') return `the interpreter ${python.path} (selected in the Python extension)`;
  return `the project's interpreter ${python.path}`;
}

/** The first four bytes, or why there are none. undefined: unreadable, let the system decide. */
function readHead(file: string): Buffer | 'missing' | 'folder' | undefined {
  let fd: number;
  try {
    if (fs.statSync(file).isDirectory()) return 'folder';
    fd = fs.openSync(file, 'r');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : undefined;
  }
  try {
    const head = Buffer.alloc(4);
    return head.subarray(0, fs.readSync(fd, head, 0, 4, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/** A script with #!, or an ELF, Mach-O or PE binary. */
function looksLikeProgram(head: Buffer): boolean {
  const hex = head.toString('hex');
  return head.subarray(0, 2).toString('latin1') === '#!'
    || head.subarray(0, 2).toString('latin1') === 'MZ'
    || hex === '7f454c46'
    || ['feedface', 'feedfacf', 'cefaedfe', 'cffaedfe', 'cafebabe'].includes(hex);
}

function firstLine(text: string | null | undefined): string {
  return (text ?? '').split('\n').map((l) => l.trim()).find(Boolean) ?? '';
}
