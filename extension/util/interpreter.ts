import { execFile } from 'node:child_process';
import * as vscode from 'vscode';

interface PythonExtensionApi {
  environments?: { getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined };
}

/** The interpreter the Python extension has selected for `folder`, if it is installed. */
export async function pythonExtensionInterpreter(folder: vscode.Uri): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const selected = api?.environments?.getActiveEnvironmentPath(folder)?.path;
    // The Python extension answers "python" when nothing is selected; that is no choice at all.
    return selected && selected !== 'python' ? selected : undefined;
  } catch {
    return undefined;
  }
}

export type DebugpyCheck = { ok: true } | { ok: false; reason: 'no-python' | 'no-debugpy'; detail: string };

/** Whether `python` can import debugpy; runs the interpreter with an argument list, no shell. */
export function checkDebugpy(python: string, cwd: string): Promise<DebugpyCheck> {
  return new Promise((resolve) => {
    execFile(python, ['-c', 'import debugpy, sys; print(debugpy.__version__)'], { cwd, timeout: 20000 }, (err, _out, stderr) => {
      if (!err) return resolve({ ok: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return resolve({ ok: false, reason: 'no-python', detail: `${python} was not found` });
      }
      resolve({ ok: false, reason: 'no-debugpy', detail: stderr.trim().split('\n').pop() ?? String(err) });
    });
  });
}
