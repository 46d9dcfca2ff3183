import * as vscode from 'vscode';
import * as configHelp from './configHelp/diagnostics';
import * as daemon from './daemon/commands';
import { DaemonClients } from './daemon/clients';
import * as db from './db/register';
import * as profiles from './profiles/register';
import * as testing from './testing/register';
import * as time from './time/register';

/** What the extension offers other extensions (and its own integration tests). */
export interface HeavyApi {
  profiles: profiles.ProfilesApi;
  testing: testing.TestingApi;
  time: time.TimeApi;
  /** How long activate() took, in milliseconds (the bundle's loading is measured by the tests). */
  activationMs: number;
}

export function activate(context: vscode.ExtensionContext): HeavyApi {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Heavy Dev', { log: true });
  const clients = new DaemonClients(log);
  context.subscriptions.push(log, clients);
  // Each feature registers its own commands and disposes its own resources; none starts a
  // process or scans files here.
  const api = {
    profiles: profiles.register(context, log, clients),
    testing: testing.register(context, clients, log),
    time: time.register(context, clients, started),
  };
  db.register(context);
  configHelp.register(context);
  daemon.register(context, clients);
  return { ...api, activationMs: performance.now() - started };
}

export function deactivate(): void {}
