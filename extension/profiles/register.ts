import * as vscode from 'vscode';
import { addProfilesToLaunchJson } from './addToLaunchJson';
import { DEBUG_TYPE, DebugpyAdapterFactory, HeavyDebugConfigurationProvider } from './debugProvider';
import { debugpyInstaller } from './installDebugpy';

export function register(context: vscode.ExtensionContext, log: vscode.OutputChannel): void {
  const provider = new HeavyDebugConfigurationProvider(debugpyInstaller(log));
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider, vscode.DebugConfigurationProviderTriggerKind.Initial),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new DebugpyAdapterFactory()),
    vscode.commands.registerCommand('heavy.addProfilesToLaunchJson', addProfilesToLaunchJson),
  );
}
