import * as vscode from 'vscode';

/** Every `heavy.*` setting, read in one place with its default. */
export interface HeavySettings {
  /** Overrides each profile's justMyCode; undefined keeps the profile's own choice. */
  justMyCode: boolean | undefined;
  /** Where profiles run when debugged. */
  console: 'integratedTerminal' | 'internalConsole' | undefined;
}

export function readSettings(scope?: vscode.ConfigurationScope): HeavySettings {
  const c = vscode.workspace.getConfiguration('heavy', scope);
  const justMyCode = c.get<'profile' | 'on' | 'off'>('debug.justMyCode', 'profile');
  const console = c.get<'profile' | 'integratedTerminal' | 'internalConsole'>('debug.console', 'profile');
  return {
    justMyCode: justMyCode === 'profile' ? undefined : justMyCode === 'on',
    console: console === 'profile' ? undefined : console,
  };
}
