import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { Methods, type FileCoverageData, type FilesChanged, type RunFinished, type RunParams, type RunResult, type RunStarted, type TestItem as DaemonItem, type TestResult } from '../../daemon/protocol';
import type { DaemonClients } from '../daemon/clients';
import { requireTrust } from '../trust';
import { checkCoverage, installCommand, type CoverageCheck } from './coverageCheck';
import { lineDetails, lineDetailsForTest, summarize, type LineDetail } from './coverageData';
import { pytestArgsFor, rootNodeId, splitNodeId } from './nodeIds';

export interface TestingApi {
  controller: vscode.TestController;
  /** Discovers every folder's tests now (the view does this when first shown); returns the problems met. */
  refresh(): Promise<string[]>;
  /** The last result per node id, as the Testing view shows it. */
  lastResults: Map<string, TestResult>;
  runProfile: vscode.TestRunProfile;
  debugProfile: vscode.TestRunProfile;
  /** Run with Coverage: coverage.py inside the forked run, per test. */
  coverageProfile: vscode.TestRunProfile;
  /** The last coverage reported per file (absolute path), as the Testing view shows it. */
  lastCoverage: Map<string, vscode.FileCoverage>;
  /** Whether coverage.py is importable by the folder's interpreter (checked once, then cached). */
  coverageAvailable(folder: vscode.WorkspaceFolder): Promise<CoverageCheck>;
  /** Runs someone else started on the same daemon (`heavy test` in a terminal), shown as test runs. */
  followedRuns: FollowedRun[];
  /** A followed run ended. */
  onDidFollowRun: vscode.Event<FollowedRun>;
  /** A change was rediscovered and handed to continuous runs, with the test files it affects. */
  onDidRerun: vscode.Event<{ folder: vscode.WorkspaceFolder; affected: FilesChanged['affected'] }>;
}

export interface FollowedRun {
  runId: string;
  /** The TestRun's name, e.g. "heavy test (terminal)". */
  name: string;
  started: RunStarted;
  results: TestResult[];
  output: string;
  finished?: RunFinished;
}

/** What a run asks of each folder's daemon run beyond pytest's arguments. */
type Mode = 'run' | 'debug' | 'coverage';

/** FileCoverage's constructor and profile hook as VS Code 1.93+ have them (per-test coverage); older hosts ignore them. */
type FileCoverageWithTests = new (uri: vscode.Uri, statements: vscode.TestCoverageCount, branches?: vscode.TestCoverageCount, declarations?: vscode.TestCoverageCount, includesTests?: vscode.TestItem[]) => vscode.FileCoverage;
type PerTestProfile = vscode.TestRunProfile & {
  loadDetailedCoverageForTest?: (run: vscode.TestRun, coverage: vscode.FileCoverage, test: vscode.TestItem, token: vscode.CancellationToken) => Thenable<vscode.FileCoverageDetail[]>;
};

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
  const lastCoverage = new Map<string, vscode.FileCoverage>();
  /** What each reported FileCoverage was made from, for its details and per-test views. */
  const coverageOf = new WeakMap<vscode.FileCoverage, { folder: vscode.WorkspaceFolder; data: FileCoverageData }>();
  const followedRuns: FollowedRun[] = [];
  const followed = new vscode.EventEmitter<FollowedRun>();
  context.subscriptions.push(followed);

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
    // The Testing view is in use: find out, once, whether Run with Coverage can work here.
    void coverageAvailable(folder);
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
    followRuns(folder, client);
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
      queue = queue.then(() => runTests(new vscode.TestRunRequest(items, request.exclude, request.profile), token, 'run'));
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

  async function runTests(request: vscode.TestRunRequest, token: vscode.CancellationToken, mode: Mode): Promise<void> {
    if (!requireTrust()) return;
    if (request.continuous && mode === 'run') return runContinuously(request, token);
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
        if (mode === 'debug') await attachDebugger(folder, token);
        if (mode === 'coverage') {
          if (!(await coverageReady(folder, run))) continue;
          const branch = vscode.workspace.getConfiguration('heavy.testing', folder.uri).get<boolean>('coverageBranches', false);
          const result = await runInFolder(folder, pytestArgsFor(include, exclude), run, token, { coverage: { perTest: true, branch } });
          reportCoverage(folder, run, result);
        } else {
          await runInFolder(folder, pytestArgsFor(include, exclude), run, token);
        }
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

  async function runInFolder(folder: vscode.WorkspaceFolder, args: string[], run: vscode.TestRun, token: vscode.CancellationToken, extra: Partial<RunParams> = {}): Promise<RunResult> {
    const client = await clients.get(folder);
    const runId = randomUUID();
    const listeners = listen(client);
    listeners.set(runId, {
      output: (data) => run.appendOutput(data.replace(/\r?\n/g, '\r\n')),
      result: (result) => report(folder, run, result),
    });
    const cancel = token.onCancellationRequested(() => void client.sendNotification(Methods.cancelRun, { runId }));
    try {
      for (const id of args) {
        const item = byNodeId.get(itemId(folder, id));
        if (item) for (const leaf of leaves(item)) run.started(leaf);
      }
      return await client.sendRequest(Methods.runTests, { runId, args, cwd: folder.uri.fsPath, color: true, ...extra });
    } finally {
      cancel.dispose();
      listeners.delete(runId);
    }
  }

  /**
   * One handler per notification and client, dispatching by run id: a language client keeps
   * only the last handler registered for a method, so runs side by side (a continuous run, a
   * click, a terminal's run) each register here instead.
   */
  type RunListener = { output(data: string): void; result(result: TestResult): void; finished?(end: RunFinished): void };
  const listenersOf = new WeakMap<LanguageClient, Map<string, RunListener>>();
  function listen(client: LanguageClient): Map<string, RunListener> {
    let listeners = listenersOf.get(client);
    if (listeners) return listeners;
    const map = new Map<string, RunListener>();
    listeners = map;
    listenersOf.set(client, map);
    context.subscriptions.push(
      client.onNotification(Methods.runOutput, (p) => map.get(p.runId)?.output(p.data)),
      client.onNotification(Methods.testResult, (p) => map.get(p.runId)?.result(p.result)),
      client.onNotification(Methods.runFinished, (p) => map.get(p.runId)?.finished?.(p)),
    );
    return map;
  }

  /** Followed runs still open, per folder: a daemon that goes away mid-run ends them. */
  const openFollowed = new Map<string, Set<() => void>>();
  context.subscriptions.push(clients.onDidConnect(({ folder }) => {
    for (const end of openFollowed.get(folder.uri.toString()) ?? []) end();
  }));
  context.subscriptions.push({ dispose: () => { for (const ends of openFollowed.values()) for (const end of ends) end(); } });

  /** Runs other clients of this folder's daemon start (`heavy test` in a terminal) show as test runs here. */
  function followRuns(folder: vscode.WorkspaceFolder, client: LanguageClient): void {
    const listeners = listen(client);
    context.subscriptions.push(client.onNotification(Methods.runStarted, (started) => {
      // Listing tests runs none: nothing to show.
      if (started.args.some((a) => a === '--collect-only' || a === '--co')) return;
      const name = started.origin === 'terminal' ? 'heavy test (terminal)' : `heavy test (${started.client ?? 'another window'})`;
      const cwd = started.cwd ?? folder.uri.fsPath;
      const include = started.args
        .map((a) => rootNodeId(a, cwd, folder.uri.fsPath))
        .map((id) => (id ? byNodeId.get(itemId(folder, id)) : undefined))
        .filter((i): i is vscode.TestItem => !!i);
      const run = controller.createTestRun(new vscode.TestRunRequest(include.length ? include : undefined), name, true);
      const record: FollowedRun = { runId: started.runId, name, started, results: [], output: '' };
      followedRuns.push(record);
      if (followedRuns.length > 20) followedRuns.shift();
      run.appendOutput(`$ heavy test ${started.args.join(' ')}\r\n`);
      const open = openFollowed.get(folder.uri.toString()) ?? new Set();
      openFollowed.set(folder.uri.toString(), open);
      // Stop in the Testing view cancels the terminal's run too, as Ctrl+C in that terminal would.
      const stop = run.token.onCancellationRequested(() => void client.sendNotification(Methods.cancelRun, { runId: started.runId }));
      const end = (finished?: RunFinished) => {
        if (!open.delete(end)) return;
        stop.dispose();
        listeners.delete(started.runId);
        record.finished = finished ?? { runId: started.runId, exitCode: 1, durationMs: 0, crashed: { reason: 'the test daemon went away' } };
        if (!finished) run.appendOutput('\r\nHeavy Dev: the test daemon went away during this run.\r\n');
        run.end();
        followed.fire(record);
      };
      open.add(end);
      listeners.set(started.runId, {
        output: (data) => {
          record.output += data;
          run.appendOutput(data.replace(/\r?\n/g, '\r\n'));
        },
        result: (result) => {
          record.results.push(result);
          report(folder, run, result);
        },
        finished: (f) => end(f),
      });
    }));
    void client.sendNotification(Methods.followRuns, { follow: true }).catch((err) => log.appendLine(`following terminal runs failed: ${err}`));
  }

  // Coverage: coverage.py inside the forked run (the daemon measures), shown as FileCoverage.
  const coverageChecks = new Map<string, Promise<CoverageCheck>>();
  /** Folders told coverage.py is missing since their last check: one message per Coverage run, never a loop. */
  function coverageAvailable(folder: vscode.WorkspaceFolder): Promise<CoverageCheck> {
    const key = folder.uri.toString();
    let check = coverageChecks.get(key);
    if (!check) {
      check = (async () => {
        const python = (await (await clients.get(folder)).sendRequest(Methods.status)).python ?? 'python3';
        return checkCoverage(python, folder.uri.fsPath);
      })();
      coverageChecks.set(key, check);
      check.then((c) => {
        if (!c.ok) log.appendLine(`coverage.py is not importable by ${c.python} (${c.detail}): Run with Coverage needs it; install it with ${installCommand(c.python)}`);
        updateCoverageLabel();
      }, () => coverageChecks.delete(key));
    }
    return check;
  }

  const COVERAGE_LABEL = 'Run with Coverage';
  function updateCoverageLabel(): void {
    void Promise.all([...coverageChecks.values()].map((c) => c.catch(() => undefined))).then((checks) => {
      const missing = checks.find((c) => c && !c.ok);
      coverageProfile.label = missing ? `${COVERAGE_LABEL} (needs coverage.py: pip install coverage)` : COVERAGE_LABEL;
    });
  }

  /** True when coverage.py is there; otherwise says how to install it, in the run and once as a message. */
  async function coverageReady(folder: vscode.WorkspaceFolder, run: vscode.TestRun): Promise<boolean> {
    const check = await coverageAvailable(folder);
    if (check.ok) return true;
    coverageMissing(folder, run, check.python, check.detail);
    return false;
  }

  function coverageMissing(folder: vscode.WorkspaceFolder, run: vscode.TestRun, python: string, detail: string): void {
    // The next Coverage run checks again: the user may have installed it meanwhile.
    coverageChecks.delete(folder.uri.toString());
    const command = installCommand(python);
    run.appendOutput(`\r\nHeavy Dev: coverage.py is not installed in ${python} (${detail}). Install it: ${command}\r\n`);
    const install = 'Install coverage.py';
    void vscode.window.showWarningMessage(`Heavy Dev: Run with Coverage needs coverage.py, which ${python} cannot import. Install it with \`${command}\`.`, install).then((choice) => {
      if (choice !== install) return;
      const terminal = vscode.window.createTerminal({ name: 'Install coverage.py', cwd: folder.uri });
      terminal.show();
      terminal.sendText(command);
    });
  }

  function reportCoverage(folder: vscode.WorkspaceFolder, run: vscode.TestRun, result: RunResult): void {
    if (result.coverageError) run.appendOutput(`\r\nHeavy Dev: coverage could not be measured: ${result.coverageError}\r\n`);
    if (!result.coverage) {
      if (result.exitCode === 3 && !result.results.length) coverageMissing(folder, run, 'the project\'s interpreter', 'the daemon\'s run could not import it');
      return;
    }
    const Coverage = vscode.FileCoverage as unknown as FileCoverageWithTests;
    for (const data of result.coverage) {
      const summary = summarize(data);
      const tests = summary.tests.map((id) => byNodeId.get(itemId(folder, id))).filter((i): i is vscode.TestItem => !!i);
      const fileCoverage = new Coverage(
        vscode.Uri.file(data.file),
        new vscode.TestCoverageCount(summary.statements.covered, summary.statements.total),
        summary.branches ? new vscode.TestCoverageCount(summary.branches.covered, summary.branches.total) : undefined,
        undefined,
        tests,
      );
      coverageOf.set(fileCoverage, { folder, data });
      lastCoverage.set(data.file, fileCoverage);
      run.addCoverage(fileCoverage);
    }
  }

  function statements(lines: LineDetail[]): vscode.StatementCoverage[] {
    return lines.map((l) => {
      const at = new vscode.Position(l.line - 1, 0);
      const branches: vscode.BranchCoverage[] = [];
      if (l.targets) {
        for (const t of l.targets) branches.push(new vscode.BranchCoverage(t.taken, t.to ? new vscode.Position(t.to - 1, 0) : at, t.label));
      } else if (l.branches) {
        for (let i = 0; i < l.branches.total; i++) branches.push(new vscode.BranchCoverage(i < l.branches.taken, at));
      }
      return new vscode.StatementCoverage(l.executed, at, branches);
    });
  }

  async function loadDetailedCoverage(_run: vscode.TestRun, fileCoverage: vscode.FileCoverage): Promise<vscode.FileCoverageDetail[]> {
    const known = coverageOf.get(fileCoverage);
    return known ? statements(lineDetails(known.data)) : [];
  }

  /** One test's lines in the file (a file or class item: its tests' lines together). */
  async function loadDetailedCoverageForTest(_run: vscode.TestRun, fileCoverage: vscode.FileCoverage, test: vscode.TestItem): Promise<vscode.FileCoverageDetail[]> {
    const known = coverageOf.get(fileCoverage);
    if (!known) return [];
    const lines = new Map<number, LineDetail>();
    for (const leaf of leaves(test)) {
      const nodeid = folderOf(leaf)?.nodeid;
      if (nodeid) for (const l of lineDetailsForTest(known.data, nodeid)) lines.set(l.line, l);
    }
    return statements([...lines.values()].sort((a, b) => a.line - b.line));
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

  const runProfile = controller.createRunProfile('Run', vscode.TestRunProfileKind.Run, (req, token) => runTests(req, token, 'run'), true, undefined, true);
  const debugProfile = controller.createRunProfile('Debug', vscode.TestRunProfileKind.Debug, (req, token) => runTests(req, token, 'debug'), true);
  // Coverage is its own profile, never Debug's: a breakpoint is never silently skipped under a tracer.
  const coverageProfile: PerTestProfile = controller.createRunProfile(COVERAGE_LABEL, vscode.TestRunProfileKind.Coverage, (req, token) => runTests(req, token, 'coverage'), true);
  coverageProfile.loadDetailedCoverage = loadDetailedCoverage;
  coverageProfile.loadDetailedCoverageForTest = loadDetailedCoverageForTest;
  return {
    controller, refresh, lastResults, runProfile, debugProfile, coverageProfile, lastCoverage, coverageAvailable,
    followedRuns, onDidFollowRun: followed.event, onDidRerun: changed.event,
  };
}
