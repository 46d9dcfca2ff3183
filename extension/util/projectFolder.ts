import * as fs from 'node:fs';
import * as vscode from 'vscode';

const MARKERS = [/^pyproject\.toml$/, /^requirements.*\.txt$/, /^alembic\.ini$/, /^manage\.py$/];

/** A folder Heavy Dev works on: the same markers that activate the extension, at its root only (no scan). */
export function isPythonProject(folder: vscode.WorkspaceFolder): boolean {
  if (folder.uri.scheme !== 'file') return false;
  try {
    return fs.readdirSync(folder.uri.fsPath).some((name) => MARKERS.some((m) => m.test(name)));
  } catch {
    return false;
  }
}

/**
 * The project a command acts on: the folder it was given (a Uri argument), the only Python
 * project open, or the one the user picks when there are several. Undefined when cancelled.
 */
export async function pickProjectFolder(arg?: unknown, purpose = 'Which project?'): Promise<vscode.WorkspaceFolder | undefined> {
  if (arg instanceof vscode.Uri) {
    const given = vscode.workspace.getWorkspaceFolder(arg);
    if (given) return given;
  }
  const all = vscode.workspace.workspaceFolders ?? [];
  const projects = all.filter(isPythonProject);
  if (projects.length === 1) return projects[0];
  if (!projects.length) {
    if (all.length === 1 && all[0].uri.scheme === 'file') return all[0];
    void vscode.window.showErrorMessage('Heavy Dev: open a Python project folder (one with pyproject.toml, requirements*.txt, alembic.ini or manage.py) first.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(projects.map((f) => ({ label: f.name, description: f.uri.fsPath, folder: f })), { placeHolder: purpose });
  return picked?.folder;
}
