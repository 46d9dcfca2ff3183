import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { Methods, type FilesChanged, type TestItem as DaemonItem, type TestResult } from '../../daemon/protocol';
import type { DaemonClients } from '../daemon/clients';
import { requireTrust } from '../trust';
import { pytestArgsFor, splitNodeId } from './nodeIds';

export interface TestingApi {
  controller: vscode.TestController;
  /** Discovers every folder's tests now (the view does this when first shown); returns the problems met. */
  refresh(): Promise<string[]>;
  /** The last result per node id, as the Testing view shows it. */
  lastResults: Map<string, TestResult>;
  runProfile: vscode.TestRunProfile;
  debugProfile: vscode.TestRunProfile;
  /** A change was rediscovered and handed to continuous runs, with the test files it affects. */
  onDidRerun: vscode.Event<{ folder: vscode.WorkspaceFolder; affected: FilesChanged['affected'] }>;
}

const PYTEST_CACHE = /[\\/](\.pytest_cache|pytest-cache-files-[^\\/]*)([\\/]|$)/;

// Uri.toString() percent-encodes '#', so the first one separates the folder from the node id.
const ID_SEP = '#';

export function register(context: vscode.ExtensionContext, clients: DaemonClients, log: vscode.OutputChannel): TestingApi {
  const controller = vscode.tests.createTestController('heavy', 'Heavy Dev (pytest)');
  context.subscriptions.push(controller);
  const lastResults = new Map<string, TestResult>();
  const byNodeId = new Map<string, vscode.TestItem>();
  /** Folders whose tests were discovered: their changes are followed on every connection, a restarted daemon's too. */
  const watchedFolders = new Set<string>();
  const watching = new WeakSet<LanguageClient>();
  context.subscriptions.push(clients.onDidConnect(({ folder, client }) => {
    if (watchedFolders.has(folder.uri.toString())) watchChanges(folder, client);
  }));
  /** After a change's rediscovery: continuous runs re-run what it affects, on the fresh items. */
  const changed = new vscode.EventEmitter<{ folder: vscode.WorkspaceFolder; affected: FilesChanged['affected'] }>();
  context.subscriptions.push(changed);

  const folders = () => (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  const itemId = (folder: vscode.WorkspaceFolder, nodeid: string) => `${folder.uri.toString()}${ID_SEP}${nodeid}`;

  /** `afterSave`: the save drops what the daemon could prepare ahead, so it need not try. */
  async function discover(folder: vscode.WorkspaceFolder, afterSave = false): Promise<void> {
    if (!vscode.workspace.isTrusted) return;
    const client = await clients.get(folder);
    watchChanges(folder, client);
    const found = await client.sendRequest(Methods.discover, afterSave ? { repeatable: false } : {});
    if (found.exitCode !== 0 && found.exitCode !== 5 && !found.items.length) {
      throw new Error(`pytest exit ${found.exitCode}:\n${found.output}`);
    }
    replaceTree(folder, found.items);
  }

  function replaceTree(folder: vscode.WorkspaceFolder, items: DaemonItem[]): void {
    const multiRoot = folders().length > 1;
    const root = multiRoot ? controller.createTestItem(folder.uri.toString(), folder.name, folder.uri) : undefined;
    const top: vscode.TestItem[] = [];
    const containers = new Map<string, vscode.TestItem>();
    for (const [id, item] of byNodeId) if (id.startsWith(folder.uri.toString() + ID_SEP)) byNodeId.delete(id);
    for (const item of items) {
      const { file, names } = splitNodeId(item.nodeid);
      const fileUri = vscode.Uri.file(item.file);
      let parent = containers.get(file);
      if (!parent) {
        parent = controller.createTestItem(itemId(folder, file), path.basename(file), fileUri);
        parent.description = path.dirname(file) === '.' ? undefined : path.dirname(file);
        containers.set(file, parent);
        (root ? root.children.add(parent) : top.push(parent));
        byNodeId.set(itemId(folder, file), parent);
      }
      let prefix = file;
      for (const className of names.slice(0, -1)) {
        prefix = `${prefix}::${className}`;
        let cls = containers.get(prefix);
        if (!cls) {
          cls = controller.createTestItem(itemId(folder, prefix), className, fileUri);
          containers.set(prefix, cls);
          parent.children.add(cls);
          byNodeId.set(itemId(folder, prefix), cls);
        }
        parent = cls;
      }
      const leaf = controller.createTestItem(itemId(folder, item.nodeid), names[names.length - 1] ?? item.name, fileUri);
      leaf.range = new vscode.Range(item.line - 1, 0, item.line - 1, 0);
      parent.children.add(leaf);
      byNodeId.set(itemId(folder, item.nodeid), leaf);
    }
    if (multiRoot) {
      controller.items.add(root!);
    } else {
      controller.items.replace(top);
    }
  }

  function watchChanges(folder: vscode.WorkspaceFolder, client: LanguageClient): void {
    watchedFolders.add(folder.uri.toString());
    if (watching.has(client)) return;
    watching.add(client);
    let timer: NodeJS.Timeout | undefined;
    // Saves that come in a burst are one change: their affected test files add up.
    let affected: Set<string> | 'all' | undefined;
    let rediscover = false;
    context.subscriptions.push(client.onNotification(Methods.changed, (change) => {
      // pytest writing its own cache (after our runs) is not a change to the project.
      if (change.files.every((f) => PYTEST_CACHE.test(f))) return;
      affected = affected === 'all' || change.affected === 'all' ? 'all' : new Set([...(affected ?? []), ...change.affected]);
      rediscover ||= change.files.some((f) => f.endsWith('.py') || /pyproject\.toml|pytest\.ini|setup\.cfg|tox\.ini$/.test(f));
      clearTimeout(timer);
      timer = setTimeout(() => {
        const batch = affected === 'all' ? 'all' : [...(affected ?? [])];
        const again = rediscover;
        affected = undefined;
        rediscover = false;
        void (again ? discover(folder, true) : Promise.resolve())
          .catch((err) => log.appendLine(`test discovery failed: ${err}`))
          .then(() => { if (batch === 'all' || batch.length) changed.fire({ folder, affected: batch }); });
      }, 400);
    }));
  }

  async function refresh(): Promise<string[]> {
    const problems: string[] = [];
    await Promise.all(folders().map((f) => discover(f).catch((err) => {
      const problem = `test discovery in ${f.name} failed: ${err instanceof Error ? err.stack ?? err.message : err}`;
      problems.push(problem);
      log.appendLine(problem);
    })));
    return problems;
  }

  controller.resolveHandler = async (item) => {
    if (!item) await refresh();
  };
  controller.refreshHandler = async () => { await refresh(); };

  function folderOf(item: vscode.TestItem): { folder: vscode.WorkspaceFolder; nodeid: string } | undefined {
    const at = item.id.indexOf(ID_SEP);
    const [uri, nodeid] = at < 0 ? [item.id, undefined] : [item.id.slice(0, at), item.id.slice(at + 1)];
    const folder = folders().find((f) => f.uri.toString() === uri);
    return folder && nodeid !== undefined ? { folder, nodeid } : undefined;
  }

  function leaves(item: vscode.TestItem, out: vscode.TestItem[] = []): vscode.TestItem[] {
    if (item.children.size === 0) out.push(item);
    item.children.forEach((child) => leaves(child, out));
    return out;
  }

  /**
   * Continuous run: until the user turns it off, each save re-runs the tests it affects (the
   * daemon's import graph, conftest.py included: what `heavy watch` runs), inside the
   * request's selection.
   */
  async function runContinuously(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
    for (const f of folders()) await clients.get(f).then((c) => watchChanges(f, c), () => {});
    let queue = Promise.resolve();
    const subscription = changed.event(({ folder, affected }) => {
      const items = affectedItems(folder, affected, request.include);
      if (!items.length || token.isCancellationRequested) return;
      // One after another: a second save while a run goes on waits for it.
      queue = queue.then(() => runTests(new vscode.TestRunRequest(items, request.exclude, request.profile), token, false));
    });
    await new Promise<void>((resolve) => token.onCancellationRequested(() => resolve()));
    subscription.dispose();
  }

  /** The items to re-run: affected test files, narrowed to the selection (a whole file, or the tests chosen in it). */
  function affectedItems(folder: vscode.WorkspaceFolder, affected: FilesChanged['affected'], include: readonly vscode.TestItem[] | undefined): vscode.TestItem[] {
    const files: vscode.TestItem[] = [];
    if (affected === 'all') {
      if (include) return [...include];
      for (const [id, item] of byNodeId) if (id.startsWith(folder.uri.toString() + ID_SEP) && !item.parent) files.push(item);
      controller.items.forEach((i) => { if (i.id === folder.uri.toString()) files.push(i); });
      return files;
    }
    for (const file of affected) {
      const rel = path.relative(folder.uri.fsPath, file).split(path.sep).join('/');
      const item = byNodeId.get(itemId(folder, rel));
      if (item) files.push(item);
    }
    if (!include) return files;
    const within = (item: vscode.TestItem, ancestor: vscode.TestItem) => {
      for (let p: vscode.TestItem | undefined = item; p; p = p.parent) if (p.id === ancestor.id) return true;
      return false;
    };
    const out: vscode.TestItem[] = [];
    for (const file of files) {
      if (include.some((i) => within(file, i))) out.push(file);
      else out.push(...include.filter((i) => within(i, file)));
    }
    return out;
  }

  async function runTests(request: vscode.TestRunRequest, token: vscode.CancellationToken, debug: boolean): Promise<void> {
    if (!requireTrust()) return;
    if (request.continuous && !debug) return runContinuously(request, token);
    const run = controller.createTestRun(request);
    try {
      const selected: vscode.TestItem[] = [];
      if (request.include) selected.push(...request.include);
      else controller.items.forEach((i) => selected.push(i));
      const perFolder = new Map<vscode.WorkspaceFolder, { include: string[]; exclude: string[] }>();
      const want = (item: vscode.TestItem) => {
        const where = folderOf(item);
        const folder = where?.folder ?? folders().find((f) => f.uri.toString() === item.id);
        if (!folder) return;
        if (!perFolder.has(folder)) perFolder.set(folder, { include: [], exclude: [] });
        if (where?.nodeid) perFolder.get(folder)!.include.push(where.nodeid);
        for (const leaf of leaves(item)) run.enqueued(leaf);
      };
      selected.forEach(want);
      for (const item of request.exclude ?? []) {
        const where = folderOf(item);
        if (where) perFolder.get(where.folder)?.exclude.push(where.nodeid);
      }
      for (const [folder, { include, exclude }] of perFolder) {
        if (token.isCancellationRequested) break;
        if (debug) await attachDebugger(folder, token);
        await runInFolder(folder, pytestArgsFor(include, exclude), run, token);
      }
    } catch (err) {
      run.appendOutput(`\r\nHeavy Dev: ${err instanceof Error ? err.message : String(err)}\r\n`);
      void vscode.window.showErrorMessage(`Heavy Dev: the test run failed: ${err instanceof Error ? err.message : err}`);
    } finally {
      run.end();
    }
  }

  /** Debug runs go through the Test Daemon profile: its debugged worker forks the runs. */
  async function attachDebugger(folder: vscode.WorkspaceFolder, token: vscode.CancellationToken): Promise<void> {
    const client = await clients.get(folder);
    if ((await client.sendRequest(Methods.status)).debugged) return;
    const started = await vscode.debug.startDebugging(folder, { type: 'heavy', request: 'launch', name: 'Test Daemon', profile: 'test-daemon' });
    if (!started) throw new Error('the Test Daemon debug session did not start');
    const deadline = Date.now() + 60000;
    while (!token.isCancellationRequested && Date.now() < deadline) {
      if ((await client.sendRequest(Methods.status)).debugged) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the debugged test worker did not get ready within 60s');
  }

  async function runInFolder(folder: vscode.WorkspaceFolder, args: string[], run: vscode.TestRun, token: vscode.CancellationToken): Promise<void> {
    const client = await clients.get(folder);
    const runId = randomUUID();
    const subscriptions = [
      client.onNotification(Methods.runOutput, (p) => {
        if (p.runId === runId) run.appendOutput(p.data.replace(/\r?\n/g, '\r\n'));
      }),
      client.onNotification(Methods.testResult, (p) => {
        if (p.runId === runId) report(folder, run, p.result);
      }),
    ];
    const cancel = token.onCancellationRequested(() => void client.sendNotification(Methods.cancelRun, { runId }));
    try {
      for (const id of args) {
        const item = byNodeId.get(itemId(folder, id));
        if (item) for (const leaf of leaves(item)) run.started(leaf);
      }
      await client.sendRequest(Methods.runTests, { runId, args, cwd: folder.uri.fsPath, color: true });
    } finally {
      cancel.dispose();
      for (const s of subscriptions) s.dispose();
    }
  }

  function report(folder: vscode.WorkspaceFolder, run: vscode.TestRun, result: TestResult): void {
    lastResults.set(result.nodeid, result);
    const item = byNodeId.get(itemId(folder, result.nodeid));
    if (!item) return;
    const ms = result.duration * 1000;
    switch (result.outcome) {
      case 'passed':
      case 'xfailed':
        run.passed(item, ms);
        break;
      case 'skipped':
        run.skipped(item);
        break;
      case 'failed':
      case 'xpassed':
      case 'error': {
        const text = result.message ?? result.failure?.message ?? result.outcome;
        const message = result.compare
          ? vscode.TestMessage.diff(result.failure?.message ?? text, result.compare.expected, result.compare.actual)
          : new vscode.TestMessage(text);
        const file = result.failure?.file || result.file;
        const line = result.failure?.line ?? result.line;
        if (file && line) message.location = new vscode.Location(vscode.Uri.file(path.resolve(folder.uri.fsPath, file)), new vscode.Position(Math.max(0, line - 1), 0));
        if (result.outcome === 'error') run.errored(item, message, ms);
        else run.failed(item, message, ms);
        break;
      }
    }
  }

  const runProfile = controller.createRunProfile('Run', vscode.TestRunProfileKind.Run, (req, token) => runTests(req, token, false), true, undefined, true);
  const debugProfile = controller.createRunProfile('Debug', vscode.TestRunProfileKind.Debug, (req, token) => runTests(req, token, true), true);
  return { controller, refresh, lastResults, runProfile, debugProfile, onDidRerun: changed.event };
}
