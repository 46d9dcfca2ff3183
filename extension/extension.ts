import * as vscode from 'vscode';
import { DaemonClients } from './daemon/clients';
import * as profiles from './profiles/register';
import * as testing from './testing/register';
import * as time from './time/register';

/** What the extension offers other extensions (and its own integration tests). */
export interface HeavyApi {
  profiles: profiles.ProfilesApi;
  testing: testing.TestingApi;
  time: time.TimeApi;
}

export function activate(context: vscode.ExtensionContext): HeavyApi {
  const log = vscode.window.createOutputChannel('Heavy Dev', { log: true });
  const clients = new DaemonClients(log);
  context.subscriptions.push(log, clients);
  return {
    profiles: profiles.register(context, log, clients),
    testing: testing.register(context, clients, log),
    time: time.register(context, clients),
  };
}

export function deactivate(): void {}
