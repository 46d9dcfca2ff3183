import * as vscode from 'vscode';
import { LaunchJsonError, mergeLaunchJson } from './launchJson';
import { launchEntry } from './debugProvider';
import { pickFolder, projectProfiles } from './projectProfiles';

/** Heavy: Add Profiles to launch.json */
export async function addProfilesToLaunchJson(): Promise<{ added: string[]; alreadyPresent: string[] } | undefined> {
  const folder = await pickFolder();
  if (!folder) {
    void vscode.window.showErrorMessage('Heavy Dev: open a project folder first.');
    return undefined;
  }
  const found = await projectProfiles(folder);
  if (!found) return undefined;
  if (found.profiles.length === 0) {
    void vscode.window.showWarningMessage(`Heavy Dev found no profiles for ${folder.name}: ${found.unavailable.map((u) => `${u.name}: ${u.reason}`).join('; ')}`);
    return undefined;
  }
  const uri = vscode.Uri.joinPath(folder.uri, '.vscode', 'launch.json');
  let text: string | undefined;
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) text = open.getText();
  else {
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch {
      text = undefined;
    }
  }
  let result;
  try {
    result = mergeLaunchJson(text, found.profiles.map((p) => launchEntry(p) as never));
  } catch (err) {
    if (err instanceof LaunchJsonError) {
      void vscode.window.showErrorMessage(`Heavy Dev: ${err.message}`);
      return undefined;
    }
    throw err;
  }
  if (result.added.length > 0) {
    if (open) {
      const edit = new vscode.WorkspaceEdit();
      edit.replace(uri, new vscode.Range(open.positionAt(0), open.positionAt(open.getText().length)), result.text);
      await vscode.workspace.applyEdit(edit);
      await open.save();
    } else {
      await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(folder.uri, '.vscode'));
      await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(result.text));
    }
  }
  const message = result.added.length
    ? `Heavy Dev added ${result.added.join(', ')} to launch.json${result.alreadyPresent.length ? ` (${result.alreadyPresent.length} already there)` : ''}.`
    : 'Heavy Dev: launch.json already has every profile.';
  void vscode.window.showInformationMessage(message);
  return { added: result.added, alreadyPresent: result.alreadyPresent };
}
