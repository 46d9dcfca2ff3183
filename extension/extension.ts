import * as vscode from 'vscode';
import * as profiles from './profiles/register';

/** What the extension offers other extensions (and its own integration tests). */
export interface HeavyApi {
  profiles: profiles.ProfilesApi;
}

export function activate(context: vscode.ExtensionContext): HeavyApi {
  const log = vscode.window.createOutputChannel('Heavy Dev');
  context.subscriptions.push(log);
  return { profiles: profiles.register(context, log) };
}

export function deactivate(): void {}
