import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ConfigError } from '../../daemon/project/configError';
import { isPythonProject } from '../util/projectFolder';
import { keyPosition } from './keyPosition';

/**
 * `[tool.heavy]` problems as diagnostics on pyproject.toml, at the offending key, with the
 * message the CLI prints. Checked once after activation and again on every save.
 */
export function register(context: vscode.ExtensionContext): { check(folder: vscode.WorkspaceFolder): Promise<vscode.Diagnostic[]> } {
  const diagnostics = vscode.languages.createDiagnosticCollection('heavy-config');

  async function check(folder: vscode.WorkspaceFolder): Promise<vscode.Diagnostic[]> {
    const file = path.join(folder.uri.fsPath, 'pyproject.toml');
    const uri = vscode.Uri.file(file);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      diagnostics.delete(uri);
      return [];
    }
    // Loaded when first needed, after activation: compiling the validator is not cheap.
    const { parsePyProject } = await import('../../daemon/project/config');
    try {
      parsePyProject(text, file);
      diagnostics.delete(uri);
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const at = keyPosition(text, err.key, err.message);
      const line = text.split(/\r?\n/)[at.line] ?? '';
      const d = new vscode.Diagnostic(new vscode.Range(at.line, at.column, at.line, Math.max(at.column + 1, line.length)), err.message, vscode.DiagnosticSeverity.Error);
      d.source = 'Heavy Dev';
      diagnostics.set(uri, [d]);
      return [d];
    }
  }

  context.subscriptions.push(
    diagnostics,
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (path.basename(doc.uri.fsPath) !== 'pyproject.toml') return;
      const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
      if (folder) void check(folder);
    }),
  );
  // After activation: one file read per project folder, nothing more.
  setImmediate(() => { for (const f of (vscode.workspace.workspaceFolders ?? []).filter(isPythonProject)) void check(f); });
  return { check };
}
