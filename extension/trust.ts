import * as vscode from 'vscode';

export const RESTRICTED_MESSAGE =
  'Heavy Dev runs nothing in Restricted Mode: its profiles start your project\'s Python interpreter. Trust this workspace to use them.';

/** True when the workspace is trusted; otherwise tells the user why nothing runs. */
export function requireTrust(): boolean {
  if (vscode.workspace.isTrusted) return true;
  // Not awaited: the launch is refused now, whatever the user does with the message.
  const manage = 'Manage Workspace Trust';
  void vscode.window.showWarningMessage(RESTRICTED_MESSAGE, manage).then((choice) => {
    if (choice === manage) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}
