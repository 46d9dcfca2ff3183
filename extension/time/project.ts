import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { HeavyConfig } from '../../daemon/project/config';
import { trackingEnabledInText } from './enableTracking';
import { resolveUser, timePaths, type TimePaths } from '../../daemon/time/store';

export interface TimeProject {
  root: string;
  config: HeavyConfig['time'];
  user: string;
  paths: TimePaths;
}

/** The project's time settings and user, read as the CLI reads them; problems are shown, not thrown. */
export async function timeProject(folder: vscode.WorkspaceFolder): Promise<TimeProject | undefined> {
  const root = folder.uri.fsPath;
  try {
    const { readPyProject } = await import('../../daemon/project/config');
    const config = readPyProject(root).heavy.time;
    const user = resolveUser(root, undefined, config?.user);
    return { root, config, user, paths: timePaths(root, user) };
  } catch (err) {
    const file = (err as { file?: string }).file;
    const open = 'Open pyproject.toml';
    void vscode.window.showErrorMessage(`Heavy Dev: ${(err as Error).message}`, ...(file ? [open] : [])).then((choice) => {
      if (choice === open) void vscode.window.showTextDocument(vscode.Uri.file(file!));
    });
    return undefined;
  }
}

/**
 * Whether pyproject.toml turns tracking on, for the status bar's first paint during
 * activation: a line scan of the file, no TOML parser and no validator (the daemon reads the
 * file properly, and says "not tracking" if this guess was wrong).
 */
export function trackingEnabled(folder: vscode.WorkspaceFolder): boolean {
  let text: string;
  try {
    text = fs.readFileSync(path.join(folder.uri.fsPath, 'pyproject.toml'), 'utf8');
  } catch {
    return false;
  }
  return trackingEnabledInText(text);
}
