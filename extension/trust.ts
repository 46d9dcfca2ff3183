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

/**
 * Registers a command that Restricted Mode refuses with the reason (and a way to trust),
 * rather than hiding it: a user looking for it in the palette learns why it does nothing.
 */
export function trustedCommand<A extends unknown[], R>(id: string, fn: (...args: A) => R | Promise<R>): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: A): Promise<R | undefined> => {
    if (!vscode.workspace.isTrusted) {
      const manage = 'Manage Workspace Trust';
      void vscode.window.showWarningMessage(`Heavy Dev: this command is disabled in Restricted Mode: ${RESTRICTED_REASON}`, manage).then((choice) => {
        if (choice === manage) void vscode.commands.executeCommand('workbench.trust.manage');
      });
      return undefined;
    }
    return fn(...args);
  });
}

export const RESTRICTED_REASON = 'it runs your project\'s Python interpreter or writes its files. Trust this workspace to use it.';
