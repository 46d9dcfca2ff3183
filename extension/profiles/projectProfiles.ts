import * as vscode from 'vscode';
import type { ProjectProfiles } from '../../daemon/profiles';
import type { ProfileOverrides } from '../../daemon/profiles/resolve';
import { ConfigError } from '../../daemon/project/configError';
import { pythonExtensionInterpreter } from '../util/interpreter';

/** Detects the folder's project and its profiles; config problems are shown, not thrown. */
export async function projectProfiles(folder: vscode.WorkspaceFolder, overrides: ProfileOverrides = {}): Promise<ProjectProfiles | undefined> {
  try {
    const extensionPython = await pythonExtensionInterpreter(folder.uri);
    // Loaded on first use: the configuration validator is compiled when its module loads, a
    // good part of what activation would otherwise cost.
    const { profilesFor } = await import('../../daemon/profiles');
    return profilesFor(folder.uri.fsPath, { extensionPython }, overrides);
  } catch (err) {
    if (err instanceof ConfigError) {
      const open = 'Open pyproject.toml';
      void vscode.window.showErrorMessage(`Heavy Dev: ${err.message}`, open).then((choice) => {
        if (choice === open) void vscode.window.showTextDocument(vscode.Uri.file(err.file));
      });
      return undefined;
    }
    throw err;
  }
}

export async function pickFolder(): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) return folders[0];
  return vscode.window.showWorkspaceFolderPick({ placeHolder: 'Which project?' });
}
