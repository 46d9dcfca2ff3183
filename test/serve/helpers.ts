import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { HEAVY, waitFor } from '../helpers/project';
import { freePort } from '../helpers/net';

export { freePort };

/** A server started as a terminal would start it: leading its own process group, so "Ctrl+C" is SIGINT to the group. */
export interface Served {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves when `pattern` has appeared `count` times in the output. */
  waitOutput: (pattern: RegExp, count?: number, timeoutMs?: number) => Promise<void>;
  ctrlC: () => void;
}

/** `heavy ARGS --root ROOT --port N`; with `portInConfig`, the port goes into [tool.heavy.serve] instead (profiles run). */
export async function serve(root: string, args: string[] = [], port?: number, portInConfig = false): Promise<Served> {
  port ??= await freePort();
  if (portInConfig) {
    const file = `${root}/pyproject.toml`;
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^port = \d+$/m, `port = ${port}`));
  }
  const child = spawn(process.execPath, [HEAVY, ...args, '--root', root, ...(portInConfig ? [] : ['--port', String(port)])], { cwd: root, detached: true, env: process.env });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const count = (pattern: RegExp) => (out.match(new RegExp(pattern.source, 'g')) ?? []).length;
  return {
    child,
    port,
    output: () => out,
    exited,
    waitOutput: (pattern, n = 1, timeoutMs = 30000) =>
      waitFor(() => count(pattern) >= n, timeoutMs, `${n} x ${pattern} in:\n${out}`).catch((err) => { throw new Error(`${err.message}\n${out}`); }),
    ctrlC: () => { try { process.kill(-child.pid!, 'SIGINT'); } catch { /* gone */ } },
  };
}

export async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/** A request on a connection of its own (no keep-alive). */
export function getFresh(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', (err) => reject(Object.assign(new Error(err.message), { cause: err })));
  });
}

/** Live processes whose command line mentions `marker` (a private temp root), from /proc. */
export function processesMentioning(marker: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmd.includes(marker) && state !== 'Z') found.push(`${pid} ${cmd}`);
    } catch { /* exited meanwhile */ }
  }
  return found;
}

/** Live processes in a process group, from /proc. */
export function processGroup(pgid: number): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') found.push(pid);
    } catch { /* exited meanwhile */ }
  }
  return found;
}

export async function stop(served: Served): Promise<void> {
  if (served.child.exitCode !== null || served.child.signalCode !== null) return;
  served.ctrlC();
  const timer = setTimeout(() => { try { process.kill(-served.child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 10000);
  await served.exited;
  clearTimeout(timer);
}

/** Rewrites the example's /hello to return `value`, from `original` (main.py's text before any edit). */
export function greetingEditor(mainPy: string, original: () => string): (value: string) => void {
  return (value) => fs.writeFileSync(mainPy, original().replace('return {"message": message}', `return {"message": ${JSON.stringify(value)}}`));
}
