import * as vscode from 'vscode';
import type { DaemonClients } from '../daemon/clients';
import { addProfilesToLaunchJson } from './addToLaunchJson';
import { followChildProcesses } from './childProcesses';
import { DEBUG_TYPE, DebugpyAdapterFactory, HeavyDebugConfigurationProvider } from './debugProvider';
import { debugpyInstaller } from './installDebugpy';

export interface ProfilesApi {
  /** The configurations the Run and Debug view lists for `folder` with no launch.json. */
  dynamicConfigurations(folder: vscode.WorkspaceFolder): Promise<vscode.DebugConfiguration[]>;
  /** What a configuration launches (undefined when it is refused, e.g. in Restricted Mode). */
  resolve(folder: vscode.WorkspaceFolder, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined>;
}

export function register(context: vscode.ExtensionContext, log: vscode.OutputChannel, clients: DaemonClients): ProfilesApi {
  const provider = new HeavyDebugConfigurationProvider(debugpyInstaller(log), clients);
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider, vscode.DebugConfigurationProviderTriggerKind.Initial),
    // VS Code resolves a launch through every provider registered for the type, so the
    // Dynamic registration only lists; resolving twice would append the arguments twice.
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, {
      provideDebugConfigurations: (folder) => provider.provideDebugConfigurations(folder),
    }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new DebugpyAdapterFactory()),
    vscode.commands.registerCommand('heavy.addProfilesToLaunchJson', addProfilesToLaunchJson),
    followChildProcesses(),
  );
  return {
    dynamicConfigurations: (folder) => provider.provideDebugConfigurations(folder),
    resolve: (folder, config) => provider.resolveDebugConfiguration(folder, config),
  };
}
