import * as vscode from 'vscode';
import { DEBUG_TYPE } from './debugProvider';

/**
 * debugpy announces each Python child process (uvicorn's reloader, a seed script, a forked
 * test run) with a "debugpyAttach" event; a client must attach to it or its breakpoints
 * are never set. The Python extension does this for its own sessions; we do it for ours.
 */
export function followChildProcesses(): vscode.Disposable {
  return vscode.debug.onDidReceiveDebugSessionCustomEvent(async (e) => {
    if (e.session.type !== DEBUG_TYPE || e.event !== 'debugpyAttach') return;
    const config: vscode.DebugConfiguration = { ...(e.body as object), type: DEBUG_TYPE, request: 'attach' } as vscode.DebugConfiguration;
    config.name = config.name ?? `${e.session.name} (child process)`;
    const folder = e.session.workspaceFolder ?? vscode.workspace.workspaceFolders?.[0];
    await vscode.debug.startDebugging(folder, config, { parentSession: e.session, lifecycleManagedByParent: true });
  });
}
