import * as vscode from 'vscode';
import { envToApply } from '../../daemon/profiles/env';
import type { LaunchProfile } from '../../daemon/profiles/resolve';
import { readSettings } from '../config';
import type { DaemonClients } from '../daemon/clients';
import { requireTrust } from '../trust';
import { checkDebugpy } from '../util/interpreter';
import { projectProfiles } from './projectProfiles';

export const DEBUG_TYPE = 'heavy';

/** What launch.json holds for a profile: the rest is worked out at launch from the project. */
export function launchEntry(p: LaunchProfile): vscode.DebugConfiguration {
  return { name: p.name, type: DEBUG_TYPE, request: 'launch', profile: p.profile };
}

/** Lists profiles (Run and Debug view, launch.json creation) and resolves them into debugpy launches. */
export class HeavyDebugConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(
    private readonly installDebugpy: (python: string, cwd: string) => Promise<void>,
    private readonly clients?: DaemonClients,
  ) {}

  async provideDebugConfigurations(folder: vscode.WorkspaceFolder | undefined): Promise<vscode.DebugConfiguration[]> {
    // Profiles belong to a project folder; VS Code also asks once with no folder (user
    // settings), and answering then would list every profile twice.
    if (!folder) return [];
    const found = await projectProfiles(folder);
    return found ? found.profiles.map(launchEntry) : [];
  }

  async resolveDebugConfiguration(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    if (!requireTrust()) return undefined;
    // Child processes (reloaders, forked test runs, seed scripts) arrive as attach requests
    // to the adapter that is already running; they need nothing from the project.
    if (config.request === 'attach') return config;
    const target = folder ?? vscode.workspace.workspaceFolders?.[0];
    if (!target) {
      void vscode.window.showErrorMessage('Heavy Dev: open a project folder to use its profiles.');
      return undefined;
    }
    // F5 with no launch.json arrives as an empty configuration.
    const wanted: string | undefined = config.profile ?? (!config.type && !config.request ? 'hot-reload-server' : undefined);
    if (!wanted) {
      if (!config.module && !config.program) {
        void vscode.window.showErrorMessage(`Heavy Dev: the configuration "${config.name}" needs "profile" (or "module"/"program").`);
        return undefined;
      }
      return this.finish(target, { ...config, type: DEBUG_TYPE, request: 'launch', cwd: config.cwd ?? target.uri.fsPath });
    }
    const found = await projectProfiles(target, { host: config.host, port: config.port });
    if (!found) return undefined;
    const profile = found.profiles.find((p) => p.profile === wanted);
    if (!profile) {
      const missing = found.unavailable.find((u) => u.profile === wanted);
      void vscode.window.showErrorMessage(missing
        ? `Heavy Dev: ${missing.name} is not available in ${target.name}: ${missing.reason}.`
        : `Heavy Dev: there is no profile "${wanted}". Known profiles: ${found.profiles.map((p) => p.profile).join(', ')}.`);
      return undefined;
    }
    if (profile.confirm && config.skipConfirm !== true) {
      const go = 'Continue';
      if ((await vscode.window.showWarningMessage(profile.confirm, { modal: true }, go)) !== go) return undefined;
    }
    const settings = readSettings(target.uri);
    const { confirm: _c, description: _d, command: _cmd, envFile: _e, ...launch } = profile;
    const merged: vscode.DebugConfiguration = {
      ...launch,
      justMyCode: settings.justMyCode ?? profile.justMyCode,
      console: settings.console ?? profile.console,
      ...withoutUndefined(config),
      args: [...profile.args, ...((config.args as string[] | undefined) ?? [])],
      env: { ...envToApply(profile.env, process.env), ...(config.env ?? {}) },
      type: DEBUG_TYPE,
      request: 'launch',
      name: config.name ?? profile.name,
    };
    if (profile.profile === 'test-daemon' && this.clients) {
      // The debugged worker attaches to the project's daemon, which must be running first.
      try {
        const { workerSocket } = await this.clients.ensureDaemon(target);
        merged.env = { ...merged.env, HEAVY_WORKER_SOCKET: workerSocket };
      } catch (err) {
        void vscode.window.showErrorMessage(`Heavy Dev: could not start the test daemon: ${err instanceof Error ? err.message : err}`);
        return undefined;
      }
    }
    return this.finish(target, merged);
  }

  private async finish(folder: vscode.WorkspaceFolder, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    const python: string = config.python ?? (await projectProfiles(folder))?.project.python.path;
    if (!python) return undefined;
    config.python = python;
    const check = await checkDebugpy(python, folder.uri.fsPath);
    if (check.ok) return config;
    if (check.reason === 'no-python') {
      void vscode.window.showErrorMessage(`Heavy Dev: the Python interpreter ${python} was not found. Create .venv in the project or set python under [tool.heavy] in pyproject.toml.`);
      return undefined;
    }
    const install = `Install debugpy into ${python}`;
    const choice = await vscode.window.showErrorMessage(
      `Heavy Dev debugs with debugpy, which ${python} cannot import (${check.detail}).`, install);
    if (choice === install) await this.installDebugpy(python, folder.uri.fsPath);
    return undefined;
  }
}

function withoutUndefined(config: vscode.DebugConfiguration): Record<string, unknown> {
  const { args: _a, env: _e, host: _h, port: _p, skipConfirm: _s, ...rest } = config;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}

/** debugpy's own adapter, started with the project's interpreter: no Python extension needed. */
export class DebugpyAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  createDebugAdapterDescriptor(session: vscode.DebugSession): vscode.DebugAdapterDescriptor {
    const connect = session.configuration.connect as { host?: string; port: number } | undefined;
    if (session.configuration.request === 'attach' && connect) {
      return new vscode.DebugAdapterServer(connect.port, connect.host ?? '127.0.0.1');
    }
    const python = session.configuration.python as string;
    return new vscode.DebugAdapterExecutable(python, ['-m', 'debugpy.adapter'], { cwd: session.configuration.cwd });
  }
}
