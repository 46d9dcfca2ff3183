import * as vscode from 'vscode';

export const RESTRICTED_MESSAGE =
  'Heavy Dev runs nothing in Restricted Mode: its profiles start your project\'s Python interpreter. Trust this workspace to use them.';

/** True when the workspace is trusted; otherwise tells the user why nothing runs. */
export async function requireTrust(): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const manage = 'Manage Workspace Trust';
  const choice = await vscode.window.showWarningMessage(RESTRICTED_MESSAGE, manage);
  if (choice === manage) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}
