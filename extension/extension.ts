import * as vscode from 'vscode';
import * as profiles from './profiles/register';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Heavy Dev');
  context.subscriptions.push(log);
  profiles.register(context, log);
}

export function deactivate(): void {}
