import * as vscode from 'vscode';
import * as configHelp from './configHelp/diagnostics';
import * as daemon from './daemon/commands';
import { DaemonClients } from './daemon/clients';
import * as db from './db/register';
import * as profiles from './profiles/register';
import * as record from './record/register';
import * as testing from './testing/register';
import * as time from './time/register';

/** What the extension offers other extensions (and its own integration tests). */
export interface HeavyApi {
  profiles: profiles.ProfilesApi;
  testing: testing.TestingApi;
  time: time.TimeApi;
  /** How long activate() took, in milliseconds (the bundle's loading is measured by the tests). */
  activationMs: number;
  /** activate()'s time per feature folder. */
  activationTimings: Record<string, number>;
}

export function activate(context: vscode.ExtensionContext): HeavyApi {
  const started = performance.now();
  const timings: Record<string, number> = {};
  // Each feature's share of activation, for the integration test's printout.
  const timed = <T>(name: string, fn: () => T): T => {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      timings[name] = performance.now() - t0;
    }
  };
  const log = vscode.window.createOutputChannel('Heavy Dev', { log: true });
  const clients = new DaemonClients(log);
  context.subscriptions.push(log, clients);
  // Each feature registers its own commands and disposes its own resources; none starts a
  // process or scans files here.
  const api = {
    profiles: timed('profiles', () => profiles.register(context, log, clients)),
    testing: timed('testing', () => testing.register(context, clients, log)),
    time: timed('time', () => time.register(context, clients, started)),
  };
  timed('db', () => db.register(context));
  timed('configHelp', () => configHelp.register(context));
  timed('daemon', () => daemon.register(context, clients));
  timed('record', () => record.register(context));
  return { ...api, activationMs: performance.now() - started, activationTimings: timings };
}

export function deactivate(): void {}
