import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { blockOptions } from '../../daemon/time/blocks';
import { formatDuration, type ReportData } from '../../daemon/time/report';
import { cement } from '../../daemon/time/store';
import { pause, resume } from '../../daemon/time/tracker';
import { verifyLedgers, type VerifyReport } from '../../daemon/time/verify';
import { trustedCommand } from '../trust';
import { pickProjectFolder } from '../util/projectFolder';
import { applyEdit, enableTimeTrackingEdit } from './enableTracking';
import { timeProject } from './project';
import type { TimeReportPanel } from './reportPanel';
import type { TimeStatusBar } from './statusBar';
import { timeMenuChoices } from './statusView';

export interface CementOutcome { blocks: number; seconds: number; file: string; message: string }

/** The palette's time commands; each acts through the same functions as `heavy time ...`. */
export function registerTimeCommands(statusBar: TimeStatusBar, report: TimeReportPanel): vscode.Disposable[] {
  const diagnostics = vscode.languages.createDiagnosticCollection('heavy-time');

  async function project(arg: unknown) {
    const folder = await pickProjectFolder(arg ?? statusBar.trackedFolder?.uri, 'Which project\'s time?');
    return folder ? await timeProject(folder) : undefined;
  }

  function fail(err: unknown): undefined {
    void vscode.window.showErrorMessage(`Heavy Dev: ${(err as Error).message}`);
    return undefined;
  }

  async function cementTime(arg?: unknown): Promise<CementOutcome | undefined> {
    const p = await project(arg);
    if (!p) return undefined;
    let r;
    try {
      r = cement(p.root, p.user, blockOptions(p.config));
    } catch (err) {
      return fail(err);
    }
    const file = path.relative(p.root, p.paths.ledger).split(path.sep).join('/');
    const n = r.added.length;
    const message = n
      ? `Cemented ${n} block${n === 1 ? '' : 's'}, ${formatDuration(r.seconds)}, into ${file}. Commit it.`
      : `Nothing new to cement: ${file} already holds every finished block.`;
    const open = 'Open';
    const verify = 'Verify';
    void vscode.window.showInformationMessage(message, ...(n || fs.existsSync(p.paths.ledger) ? [open, verify] : [])).then((choice) => {
      if (choice === open) void vscode.window.showTextDocument(vscode.Uri.file(p.paths.ledger));
      if (choice === verify) void vscode.commands.executeCommand('heavy.verifyTimeLogs', vscode.Uri.file(p.root));
    });
    return { blocks: n, seconds: r.seconds, file, message };
  }

  async function verifyTimeLogs(arg?: unknown): Promise<VerifyReport | undefined> {
    const folder = await pickProjectFolder(arg ?? statusBar.trackedFolder?.uri, 'Verify which project\'s time logs?');
    if (!folder) return undefined;
    const root = folder.uri.fsPath;
    const result = verifyLedgers(path.join(root, '.heavy', 'time'));
    // Only this project's entries: another folder's stay as they were.
    diagnostics.forEach((uri) => { if (uri.fsPath.startsWith(root + path.sep)) diagnostics.delete(uri); });
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const problem of result.problems) {
      const file = path.join(root, problem.file);
      const line = Math.max(0, problem.line - 1);
      const d = new vscode.Diagnostic(new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER), problem.reason, vscode.DiagnosticSeverity.Error);
      d.source = 'heavy time verify';
      byFile.set(file, [...(byFile.get(file) ?? []), d]);
    }
    for (const [file, list] of byFile) diagnostics.set(vscode.Uri.file(file), list);
    const users = Object.entries(result.users);
    const total = users.reduce((n, [, t]) => n + t.seconds, 0);
    if (result.ok) {
      void vscode.window.showInformationMessage(users.length
        ? `Time logs verified: ${users.length} user${users.length === 1 ? '' : 's'}, ${formatDuration(total)}.`
        : 'No cemented time logs in .heavy/time yet: nothing to verify.');
    } else {
      const problems = 'Show Problems';
      void vscode.window.showErrorMessage(`Time logs FAILED verification: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} (listed in the Problems panel).`, problems).then((choice) => {
        if (choice === problems) void vscode.commands.executeCommand('workbench.actions.view.problems');
      });
    }
    return result;
  }

  async function setPaused(arg: unknown, paused: boolean): Promise<boolean | undefined> {
    const p = await project(arg);
    if (!p) return undefined;
    try {
      (paused ? pause : resume)(p.paths);
    } catch (err) {
      return fail(err);
    }
    void vscode.commands.executeCommand('setContext', 'heavy.time.paused', paused);
    void vscode.window.showInformationMessage(paused ? `Time tracking paused for ${p.user}. Resume it from the status bar or the palette.` : `Time tracking resumed for ${p.user}.`);
    return paused;
  }

  async function enableTracking(arg?: unknown): Promise<boolean | undefined> {
    const folder = await pickProjectFolder(arg, 'Track time in which project?');
    if (!folder) return undefined;
    const uri = vscode.Uri.file(path.join(folder.uri.fsPath, 'pyproject.toml'));
    // Through the document, so an open editor's unsaved text is respected and the change can be undone.
    const doc = fs.existsSync(uri.fsPath) ? await vscode.workspace.openTextDocument(uri) : undefined;
    const text = doc?.getText() ?? '';
    const edit = enableTimeTrackingEdit(text);
    if (!edit) {
      void vscode.window.showInformationMessage('Time tracking is already on for this project ([tool.heavy.time] enabled = true).');
      return false;
    }
    if (!doc) {
      fs.writeFileSync(uri.fsPath, applyEdit(text, edit));
    } else {
      const we = new vscode.WorkspaceEdit();
      we.replace(uri, new vscode.Range(doc.positionAt(edit.offset), doc.positionAt(edit.offset + edit.length)), edit.text);
      if (!(await vscode.workspace.applyEdit(we)) || !(await doc.save())) return fail(new Error('could not edit pyproject.toml'));
    }
    void vscode.window.showInformationMessage('Time tracking is on: [tool.heavy.time] enabled = true in pyproject.toml. The status bar shows today\'s time.');
    void statusBar.refresh();
    return true;
  }

  async function showReport(arg?: unknown): Promise<ReportData | undefined> {
    const p = await project(arg);
    if (!p) return undefined;
    try {
      return report.show(p);
    } catch (err) {
      return fail(err);
    }
  }

  async function menu(): Promise<string | undefined> {
    const picked = await vscode.window.showQuickPick(timeMenuChoices(statusBar.current?.status), { placeHolder: 'Heavy Dev: time tracking' });
    if (picked) await vscode.commands.executeCommand(picked.command, statusBar.trackedFolder?.uri);
    return picked?.command;
  }

  return [
    diagnostics,
    trustedCommand('heavy.cementTime', cementTime),
    trustedCommand('heavy.verifyTimeLogs', verifyTimeLogs),
    trustedCommand('heavy.pauseTimeTracking', (arg?: unknown) => setPaused(arg, true)),
    trustedCommand('heavy.resumeTimeTracking', (arg?: unknown) => setPaused(arg, false)),
    trustedCommand('heavy.enableTimeTracking', enableTracking),
    trustedCommand('heavy.showTimeReport', showReport),
    trustedCommand('heavy.timeMenu', menu),
  ];
}
