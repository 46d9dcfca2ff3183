import { execFile } from 'node:child_process';
import * as vscode from 'vscode';

export function debugpyInstaller(log: vscode.OutputChannel) {
  return async (python: string, cwd: string): Promise<void> =>
    await
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Installing debugpy into ${python}` }, () =>
      new Promise<void>((resolve) => {
        const args = ['-m', 'pip', 'install', 'debugpy'];
        log.appendLine(`$ ${python} ${args.join(' ')}`);
        execFile(python, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          log.append(stdout);
          log.append(stderr);
          if (err) {
            log.show(true);
            void vscode.window.showErrorMessage(`Heavy Dev: installing debugpy failed; see the Heavy Dev output. You can run: ${python} -m pip install debugpy`);
          } else {
            void vscode.window.showInformationMessage('Heavy Dev: debugpy is installed. Start the profile again.');
          }
          resolve();
        });
      }));
}
