import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { daemonPaths } from '../../daemon/server/paths';

export const HEAVY = path.resolve(__dirname, '../../dist/heavy.js');
export const EXAMPLE = path.resolve(__dirname, '../fixtures/example');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function heavySync(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [HEAVY, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI without waiting; `done` resolves when it exits. */
export function heavyAsync(args: string[], cwd: string) {
  const child = spawn(process.execPath, [HEAVY, ...args], { cwd, env: process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done, output: () => stdout + stderr };
}

const SKIP = new Set(['.venv', '__pycache__', '.pytest_cache', '.heavy']);

/** A private copy of the example project (sharing its virtualenv), to edit freely. */
export function copyExample(extra: Record<string, string> = {}): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-example-'));
  const copy = (from: string, to: string) => {
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      if (SKIP.has(entry.name) || entry.name.endsWith('.db')) continue;
      const src = path.join(from, entry.name);
      const dst = path.join(to, entry.name);
      if (entry.isDirectory()) {
        fs.mkdirSync(dst);
        copy(src, dst);
      } else {
        fs.copyFileSync(src, dst);
      }
    }
  };
  copy(EXAMPLE, root);
  fs.symlinkSync(path.join(EXAMPLE, '.venv'), path.join(root, '.venv'));
  writeFiles(root, extra);
  return root;
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
}

export const python = (root: string) => path.join(root, '.venv', 'bin', 'python');

export function stopDaemon(root: string): void {
  heavySync(['daemon', 'stop', '--root', root], root);
  fs.rmSync(daemonPaths(root).log, { force: true });
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 20000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** testcase id → outcome, from a JUnit XML report. */
export function junitOutcomes(file: string): Map<string, string> {
  const xml = fs.readFileSync(file, 'utf8');
  const out = new Map<string, string>();
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml))) {
    const attrs = m[1];
    const cls = /classname="([^"]*)"/.exec(attrs)?.[1];
    const name = /\sname="([^"]*)"/.exec(attrs)?.[1];
    const body = m[3] ?? '';
    const outcome = /<failure\b/.test(body) ? 'failed' : /<error\b/.test(body) ? 'error' : /<skipped\b[^>]*type="pytest.xfail"/.test(body) ? 'xfailed' : /<skipped\b/.test(body) ? 'skipped' : 'passed';
    out.set(`${cls}::${name}`, outcome);
  }
  return out;
}

/** A new temporary folder holding `files` (relative path → text). */
export function newTree(files: Record<string, string>, prefix = 'heavy-test-'): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  writeFiles(root, files);
  return root;
}
