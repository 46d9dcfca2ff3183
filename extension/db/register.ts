import * as path from 'node:path';
import * as vscode from 'vscode';
import { trustedCommand } from '../trust';
import { pickProjectFolder } from '../util/projectFolder';
import { failureReason, helperProfile, runHelper } from './helper';

export interface DbOutcome {
  ok: boolean;
  message: string;
  /** Pave: the question the modal asked. Migrate: the new revision file. */
  question?: string;
  file?: string;
}

/** Options a caller (a test, another extension) may pass; the palette passes none. */
interface DbArgs { folder?: vscode.Uri; yes?: boolean; message?: string }

const args = (a: unknown): DbArgs => (a instanceof vscode.Uri ? { folder: a } : (a as DbArgs | undefined) ?? {});

/**
 * Pave DB, Create and Test Migrations and Check Migrations from the palette. They run the
 * same helper (heavy_db.py) as `heavy db ...` and the debug profiles, with progress in a
 * notification and the helper's output in the "Heavy Dev: Database" output channel.
 */
export function register(context: vscode.ExtensionContext): void {
  let channel: vscode.OutputChannel | undefined;
  const log = () => (channel ??= vscode.window.createOutputChannel('Heavy Dev: Database'));
  context.subscriptions.push({ dispose: () => channel?.dispose() });

  const showLog = 'Show Log';
  function failed(message: string): DbOutcome {
    void vscode.window.showErrorMessage(`Heavy Dev: ${message}`, showLog).then((c) => { if (c === showLog) log().show(true); });
    return { ok: false, message };
  }

  async function pave(arg?: unknown): Promise<DbOutcome | undefined> {
    const a = args(arg);
    const folder = await pickProjectFolder(a.folder, 'Pave the database of which project?');
    if (!folder) return undefined;
    const profile = await helperProfile(folder, 'pave-db');
    if (!profile) return undefined;
    // The helper names what it would pave (password masked) and refuses non-local URLs before anything is asked.
    const dry = await runHelper(profile, 'pave', ['--dry-run'], log());
    if (dry.code !== 0) return failed(`Pave DB refused: ${failureReason(dry)}`);
    const target = dry.stdout.trim().split('\n').join(', ');
    const { readPyProject } = await import('../../daemon/project/config');
    const seed = readPyProject(folder.uri.fsPath).heavy.db?.seed;
    const question = `Pave DB drops every table of ${target} and creates them again${seed ? `, then runs ${seed.join(' ')}` : ''}. Continue?`;
    if (!a.yes) {
      const go = 'Pave';
      if ((await vscode.window.showWarningMessage(question, { modal: true }, go)) !== go) return { ok: false, message: 'cancelled', question };
    }
    const run = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Pave DB', cancellable: true }, (progress, token) => {
      progress.report({ message: `paving ${target}` });
      return runHelper(profile, 'pave', ['--yes'], log(), token, (line) => {
        const m = /^heavy: (.*)/.exec(line);
        if (m) progress.report({ message: m[1] });
      });
    });
    if (run.cancelled) return failed('Pave DB was cancelled');
    if (run.code !== 0) return failed(`Pave DB failed: ${failureReason(run)}`);
    const message = `Paved ${target}${/seed finished/.test(run.stdout) ? ' and seeded it' : ''}.`;
    void vscode.window.showInformationMessage(message, showLog).then((c) => { if (c === showLog) log().show(true); });
    return { ok: true, message, question };
  }

  async function migrate(arg?: unknown): Promise<DbOutcome | undefined> {
    const a = args(arg);
    const folder = await pickProjectFolder(a.folder, 'Create a migration in which project?');
    if (!folder) return undefined;
    const profile = await helperProfile(folder, 'create-and-test-migrations');
    if (!profile) return undefined;
    let step = 'starting';
    const run = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Create and Test Migrations', cancellable: true }, (progress, token) =>
      runHelper(profile, 'migrate', a.message ? ['--message', a.message] : [], log(), token, (line) => {
        const m = /^heavy: (step \d+.*)/.exec(line);
        if (m) {
          step = m[1];
          progress.report({ message: step, increment: 18 });
        }
      }));
    if (run.cancelled) return failed('Create and Test Migrations was cancelled');
    if (run.code !== 0) return failed(`Create and Test Migrations failed at ${step}: ${failureReason(run)}`);
    if (/No model changes/.test(run.stdout)) {
      const message = 'No model changes: no migration created.';
      void vscode.window.showInformationMessage(message);
      return { ok: true, message };
    }
    const created = /^Created (.+?): (.*)$/m.exec(run.stdout);
    const file = created ? path.resolve(folder.uri.fsPath, created[1]) : undefined;
    const message = created ? `Created and tested ${created[1]}: ${created[2]}` : 'Created and tested a migration.';
    if (file) await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: false });
    void vscode.window.showInformationMessage(message);
    return { ok: true, message, file };
  }

  async function check(arg?: unknown): Promise<DbOutcome | undefined> {
    const a = args(arg);
    const folder = await pickProjectFolder(a.folder, 'Check the migrations of which project?');
    if (!folder) return undefined;
    const profile = await helperProfile(folder, 'create-and-test-migrations');
    if (!profile) return undefined;
    const run = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Checking migrations', cancellable: true }, (_p, token) =>
      runHelper(profile, 'check', [], log(), token));
    if (run.cancelled) return failed('Check Migrations was cancelled');
    if (run.code === 0) {
      const message = 'The models match the migrations: no migration is needed.';
      void vscode.window.showInformationMessage(message);
      return { ok: true, message };
    }
    const differences = run.stdout.split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim());
    if (differences.length) {
      const message = `A migration is needed: ${differences.join('; ')}. Run Heavy: Create and Test Migrations.`;
      const create = 'Create and Test Migrations';
      void vscode.window.showWarningMessage(message, create, showLog).then((c) => {
        if (c === create) void vscode.commands.executeCommand('heavy.createAndTestMigrations', folder.uri);
        if (c === showLog) log().show(true);
      });
      return { ok: false, message };
    }
    return failed(`Check Migrations failed: ${failureReason(run)}`);
  }

  context.subscriptions.push(
    trustedCommand('heavy.paveDb', pave),
    trustedCommand('heavy.createAndTestMigrations', migrate),
    trustedCommand('heavy.checkMigrations', check),
  );
}
