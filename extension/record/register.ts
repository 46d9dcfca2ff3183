import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { heavyScript } from '../../daemon/client';
import type { ReplaySummary } from '../../daemon/record/report';
import { trustedCommand } from '../trust';
import { pickProjectFolder } from '../util/projectFolder';
import { ReplayReportPanel } from './reportPanel';

export interface ReplayOutcome {
  ok: boolean;
  message: string;
  summary?: ReplaySummary;
  /** The HTML report (a temp file, for a browser). */
  html?: string;
  /** The report shown in the editor's webview. */
  webviewHtml?: string;
}

/** Options a caller (a test, another extension) may pass; the palette passes none and asks. */
interface ReplayArgs { folder?: vscode.Uri; file?: string; users?: number; duration?: number; target?: string }

const argsOf = (a: unknown): ReplayArgs => (a instanceof vscode.Uri ? (a.fsPath.endsWith('.har') ? { file: a.fsPath, folder: a } : { folder: a }) : (a as ReplayArgs | undefined) ?? {});

/** The recordings of a project, newest first. */
async function recordings(root: string): Promise<Array<{ file: string; mtime: number }>> {
  const [{ readPyProject }, { recordingsDir }] = await Promise.all([import('../../daemon/project/config'), import('../../daemon/record/outputPath')]);
  let dir: string;
  try {
    dir = recordingsDir(root, readPyProject(root).heavy.record?.dir);
  } catch {
    dir = recordingsDir(root);
  }
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.har'));
  } catch { /* no recordings yet */ }
  return names.map((n) => path.join(dir, n)).map((file) => ({ file, mtime: fs.statSync(file).mtimeMs })).sort((a, b) => b.mtime - a.mtime);
}

async function pickRecording(root: string): Promise<string | undefined> {
  const found = await recordings(root);
  const browse = { label: '$(folder-opened) Browse...', description: 'a .har file elsewhere (a browser export works too)', file: '' };
  const items = found.map((r) => ({ label: path.basename(r.file), description: new Date(r.mtime).toLocaleString(), detail: path.relative(root, r.file), file: r.file }));
  const picked = await vscode.window.showQuickPick([...items, browse], {
    placeHolder: found.length ? 'Replay which recording? (newest first)' : 'No recordings in .heavy/recordings yet (make one with heavy record or the Record Traffic profile)',
  });
  if (!picked) return undefined;
  if (picked.file) return picked.file;
  const uris = await vscode.window.showOpenDialog({ canSelectMany: false, defaultUri: vscode.Uri.file(root), filters: { 'HAR recordings': ['har'] }, openLabel: 'Replay' });
  return uris?.[0]?.fsPath;
}

/** A validated number from an input box; undefined when cancelled. */
export function numberProblem(text: string, rule: { integer?: boolean; min: number; max: number }): string | undefined {
  const n = Number(text.trim());
  if (!text.trim() || !Number.isFinite(n)) return 'a number, please';
  if (rule.integer && !Number.isInteger(n)) return 'a whole number, please';
  if (n < rule.min || n > rule.max) return `between ${rule.min} and ${rule.max}`;
  return undefined;
}

async function askNumber(prompt: string, value: string, rule: { integer?: boolean; min: number; max: number }): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({ prompt, value, validateInput: (t) => numberProblem(t, rule) });
  return text === undefined ? undefined : Number(text.trim());
}

interface CliRun { code: number; stdout: string; stderr: string; cancelled: boolean }

/** `heavy replay ... --json` in a process group of its own, so cancelling also stops Artillery and the app it started. */
function runReplay(root: string, argv: string[], log: vscode.OutputChannel, token: vscode.CancellationToken, onLine: (line: string) => void): Promise<CliRun> {
  const script = heavyScript();
  log.appendLine(`$ heavy ${argv.join(' ')}`);
  const child = spawn(process.execPath, [script, ...argv], {
    cwd: root,
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: process.platform !== 'win32',
  });
  let stdout = '';
  let stderr = '';
  let cancelled = false;
  const signal = (s: NodeJS.Signals) => {
    try {
      if (process.platform !== 'win32' && child.pid) process.kill(-child.pid, s);
      else child.kill(s);
    } catch { /* already gone */ }
  };
  const cancel = token.onCancellationRequested(() => {
    cancelled = true;
    signal('SIGTERM');
    setTimeout(() => signal('SIGKILL'), 5000).unref();
  });
  let partial = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => {
    const text = d.toString();
    stderr += text;
    log.append(text);
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine(line);
  });
  return new Promise((resolve) => {
    child.once('error', (err) => { cancel.dispose(); resolve({ code: 127, stdout, stderr: stderr + err.message, cancelled }); });
    child.once('exit', (code) => { cancel.dispose(); resolve({ code: code ?? 1, stdout, stderr, cancelled }); });
  });
}

/**
 * Heavy: Replay Recording. Picks a recording, asks how many users and for how long, and runs
 * the same `heavy replay --json --html` the terminal runs (it starts the project's server,
 * replays on Artillery and stops the server), with cancellable progress; then the summary.
 */
export function register(context: vscode.ExtensionContext): void {
  let channel: vscode.OutputChannel | undefined;
  const log = () => (channel ??= vscode.window.createOutputChannel('Heavy Dev: Replay'));
  context.subscriptions.push({ dispose: () => channel?.dispose() });
  const panel = new ReplayReportPanel();
  context.subscriptions.push(panel);
  const showLog = 'Show Log';
  function failed(message: string): ReplayOutcome {
    void vscode.window.showErrorMessage(`Heavy Dev: ${message}`, showLog).then((c) => { if (c === showLog) log().show(true); });
    return { ok: false, message };
  }

  async function replay(arg?: unknown): Promise<ReplayOutcome | undefined> {
    const a = argsOf(arg);
    const folder = await pickProjectFolder(a.folder, 'Replay a recording of which project?');
    if (!folder) return undefined;
    const root = folder.uri.fsPath;
    const file = a.file ? path.resolve(root, a.file) : await pickRecording(root);
    if (!file) return undefined;
    const users = a.users ?? await askNumber('Virtual users (each replays the recorded sessions with its own cookies)', '1', { integer: true, min: 1, max: 10000 });
    if (users === undefined) return undefined;
    const duration = a.duration ?? await askNumber('Duration in seconds (0: play the recording once per user)', '0', { min: 0, max: 86400 });
    if (duration === undefined) return undefined;
    const html = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-replay-report-')), `${path.basename(file, '.har')}.html`);
    const argv = ['replay', file, '--root', root, '--users', String(users), '--duration', String(duration), '--json', '--html', html];
    if (a.target) argv.push('--target', a.target);
    const run = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Replaying ${path.basename(file)}`, cancellable: true }, (progress, token) => {
      progress.report({ message: `${users} user(s), starting the server` });
      return runReplay(root, argv, log(), token, (line) => {
        const m = /^heavy: (.*)/.exec(line);
        if (m) progress.report({ message: m[1] });
      });
    });
    if (run.cancelled) return failed('the replay was cancelled');
    let summary: ReplaySummary | undefined;
    try {
      summary = JSON.parse(run.stdout) as ReplaySummary;
    } catch { /* no report: the failure below says why */ }
    if (!summary) {
      const reason = run.stderr.trim().split('\n').filter((l) => l.trim()).slice(-3).join(' ').replace(/^heavy: /, '') || `exit code ${run.code}`;
      return failed(`the replay failed: ${reason}`);
    }
    // A failed gate (too many errors, users that stopped early) is the CLI's last line.
    const gate = run.code !== 0 ? run.stderr.trim().split('\n').reverse().find((l) => l.startsWith('heavy: '))?.slice('heavy: '.length) : undefined;
    const message = `Replayed ${path.basename(file)} with ${users} user(s): ${summary.requests} requests (${summary.throughput.toFixed(1)}/s), `
      + `${summary.errors} errors (${(summary.errorRate * 100).toFixed(2)}%), p95 ${Math.round(summary.latency.p95 * 10) / 10} ms.`
      + (gate ? ` Failed: ${gate}.` : '');
    // The report opens beside the summary: charts and per-route table in a webview.
    panel.show(summary, `Replay: ${path.basename(file)}`);
    const open = 'Open in Browser';
    const show = summary.errors || gate ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(message, open, showLog).then((c) => {
      if (c === open) void vscode.env.openExternal(vscode.Uri.file(html));
      if (c === showLog) log().show(true);
    });
    return { ok: run.code === 0, message, summary, html, webviewHtml: panel.html };
  }

  context.subscriptions.push(trustedCommand('heavy.replayRecording', replay));
}
