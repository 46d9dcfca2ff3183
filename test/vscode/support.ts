// What the suites that run inside a real VS Code share: finding the extension, the example
// workspace and test items, and waiting with a deadline that names what it waited for.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { HeavyApi } from '../../extension/extension';

export { freePort, listening } from '../helpers/net';

export const EXTENSION_ID = 'heavy-dev.heavy-dev';

export function folder(): vscode.WorkspaceFolder {
  const f = vscode.workspace.workspaceFolders?.[0];
  assert.ok(f, 'the example project is open');
  return f;
}

export async function api(): Promise<HeavyApi> {
  const ext = vscode.extensions.getExtension<HeavyApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is installed`);
  return ext.isActive ? ext.exports : ext.activate();
}

/** The first test item with this label, at any depth. */
export function find(items: vscode.TestItemCollection, label: string): vscode.TestItem | undefined {
  let found: vscode.TestItem | undefined;
  items.forEach((item) => {
    if (!found) found = item.label === label ? item : find(item.children, label);
  });
  return found;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Fails with `what` rather than hanging the suite. */
export function within<T>(what: string, ms: number, promise: Thenable<T>): Promise<T> {
  return Promise.race([Promise.resolve(promise), new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms / 1000} s`)), ms))]);
}

/** Polls `probe` until it gives something truthy; on timeout the error names `what`, plus `detail()` when given. */
export async function until<T>(what: string, ms: number, probe: () => T | undefined | Promise<T | undefined>, detail?: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail ? `\n${detail()}` : ''}`);
    await sleep(100);
  }
}
