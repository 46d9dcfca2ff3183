import { spawn } from 'node:child_process';
import * as vscode from 'vscode';
import { envToApply } from '../../daemon/profiles/env';
import type { LaunchProfile } from '../../daemon/profiles/resolve';
import { projectProfiles } from '../profiles/projectProfiles';

export interface HelperRun {
  code: number;
  stdout: string;
  stderr: string;
  cancelled: boolean;
}

/**
 * The profile that runs heavy_db.py, with `verb` and its arguments: exactly what
 * `heavy db ...` and the Pave DB / Create and Test Migrations profiles run.
 */
export async function helperProfile(folder: vscode.WorkspaceFolder, id: 'pave-db' | 'create-and-test-migrations'): Promise<LaunchProfile | undefined> {
  const found = await projectProfiles(folder);
  if (!found) return undefined;
  const profile = found.profiles.find((p) => p.profile === id);
  if (!profile) {
    const why = found.unavailable.find((u) => u.profile === id)?.reason ?? 'not available in this project';
    void vscode.window.showErrorMessage(`Heavy Dev: ${id === 'pave-db' ? 'Pave DB' : 'migrations'}: ${why}.`);
  }
  return profile;
}

/** Runs the helper's `verb` (pave, migrate, check) with the project's interpreter; lines go to `onLine` as they come. */
export function runHelper(profile: LaunchProfile, verb: string, args: string[], log: vscode.OutputChannel, token?: vscode.CancellationToken, onLine?: (line: string) => void): Promise<HelperRun> {
  const argv = [profile.program!, verb, '--root', profile.cwd, ...args];
  log.appendLine(`$ ${profile.python} ${argv.join(' ')}`);
  const child = spawn(profile.python, argv, {
    cwd: profile.cwd,
    env: { ...process.env, ...envToApply(profile.env, process.env), PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let cancelled = false;
  const cancel = token?.onCancellationRequested(() => {
    cancelled = true;
    child.kill('SIGINT');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    const text = d.toString();
    stdout += text;
    log.append(text);
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine?.(line);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    log.append(d.toString());
  });
  return new Promise((resolve) => {
    child.on('error', (err) => {
      cancel?.dispose();
      resolve({ code: 127, stdout, stderr: `${stderr}could not start ${profile.python}: ${err.message}`, cancelled });
    });
    child.on('close', (code) => {
      cancel?.dispose();
      if (partial) onLine?.(partial);
      log.appendLine(`(exit ${code})`);
      resolve({ code: code ?? 1, stdout, stderr, cancelled });
    });
  });
}

/** The helper's own explanation: its last "heavy: ..." line, or the last line of stderr. */
export function failureReason(run: HelperRun): string {
  const lines = `${run.stdout}\n${run.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const said = [...lines].reverse().find((l) => /^heavy: /.test(l) && !/^heavy: step \d/.test(l));
  return (said ?? lines[lines.length - 1] ?? `exit code ${run.code}`).replace(/^heavy: /, '');
}
