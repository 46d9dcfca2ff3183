import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { NotificationType } from 'vscode-jsonrpc';
import { createConnection, type Connection } from 'vscode-languageserver';
import { createProtocolConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-languageserver/node';
import { envToApply } from '../profiles/env';
import { detectProject, type ProjectInfo } from '../project/detect';
import { Methods, type DaemonStatus, type RunFinished, type RunParams, type RunResult, type TestItem } from '../protocol';
import { affectedTests, buildImportGraph, listPythonFiles, updateImportGraph, type ImportGraph } from '../tests/importGraph';
import { RunImports } from '../tests/runImports';
import { resolveUser } from '../time/store';
import { LiveTimeStatus } from '../time/liveStatus';
import { timeStatus, Tracker } from '../time/tracker';
import { connectSocket } from '../util/socket';
import { interpreterProblem } from '../project/interpreter';
import { ContentStamps } from './contentStamps';
import { acquireLock, type HeldLock } from './lock';
import { daemonPaths } from './paths';
import type { Reporter } from './startReport';
import { needsRebuild, watchProject, type ProjectWatcher } from './watch';
import { Worker, type RunSink } from './worker';

declare const HEAVY_VERSION: string;
const VERSION = typeof HEAVY_VERSION === 'string' ? HEAVY_VERSION : 'dev';

/** Changes are batched this long before a rebuild or a `changed` notification. */
const SETTLE_MS = 150;

interface Client {
  connection: Connection;
  runs: Set<string>;
  /** It asked to be told about other clients' runs (followRuns). */
  follows?: boolean;
  /** The editor's name from `initialize` (clientInfo); the CLI sends none. */
  name?: string;
}

/** Tells a client something; one that has gone away (its connection disposed) is just not told. */
function notify<P>(client: Client, type: NotificationType<P>, params: P): void {
  try {
    void client.connection.sendNotification(type.method, params).catch(() => {});
  } catch { /* the client left mid-run: its run is being cancelled */ }
}

/**
 * One daemon per project root: owns the warm Python worker, the file watcher and the
 * socket that editors and terminals connect to.
 */
export class Daemon {
  private readonly paths;
  private server?: net.Server;
  private worker?: Worker;
  private watcher?: ProjectWatcher;
  private project?: ProjectInfo;
  private configError?: string;
  private clients = new Set<Client>();
  private active = 0;
  private queue: Array<() => void> = [];
  private totalRuns = 0;
  private primedRuns = 0;
  private started = Date.now();
  /** Files the watcher reported since the last settle → whether one was added or removed. */
  private pendingChanges = new Map<string, boolean>();
  /** What each file held when last accounted for: a rewrite with the same bytes is no change. */
  private contents = new ContentStamps();
  /** Built on the first change a client hears of; then only changed files are re-read. */
  private graph?: ImportGraph;
  /** What runs actually imported, per test file: unioned with the graph for `affected`. */
  private runImports: RunImports;
  private filesAddedOrRemoved = false;
  private settleTimer?: NodeJS.Timeout;
  private sitePackagesStamp?: number;
  private logStream?: fs.WriteStream;
  private lock?: HeldLock;
  /** Why start() returned false. */
  notStarted?: { reason: string; input?: boolean };
  private tracker?: Tracker;
  /** Pushes the tracker's state to every client when a block opens, grows or closes. */
  private liveTime?: LiveTimeStatus;
  /** Runs cancelled while they waited in the queue. */
  private cancelled = new Set<string>();

  constructor(readonly root: string) {
    this.paths = daemonPaths(root);
    this.runImports = new RunImports(root);
  }

  log(message: string): void {
    const line = `${new Date().toISOString()} ${message}\n`;
    if (this.logStream) this.logStream.write(line);
    else process.stderr.write(line);
    for (const client of this.clients) notify(client, Methods.log, { message });
  }

  /**
   * Returns false, with `notStarted` saying why, when it will not serve: the project cannot be
   * served (a configuration error, an interpreter that is not Python), or another daemon holds
   * the lock. `report` hears first that it holds the lock, or why it will not start.
   */
  async start(report: Reporter = () => {}): Promise<boolean> {
    this.loadProject();
    // Checked before the lock, so a project that cannot be served leaves nothing behind.
    const problem = this.configError ?? interpreterProblem(this.project!.python, this.project!.pyproject);
    if (problem) return this.notStarting({ reason: problem, input: true }, report);
    const lock = await acquireLock(this.paths, this.root);
    if (!lock.ok) {
      const h = lock.holder;
      const reason = h
        ? `another test daemon (pid ${h.pid}, started ${h.started}) holds the lock for this project`
        : `another process holds the lock for this project (${this.paths.lockSocket?.replace('\0', '@') ?? this.paths.lock}) and has not said who it is`;
      report({ held: h ?? null });
      return this.notStarting({ reason });
    }
    this.lock = lock.lock;
    // A daemon of an older heavy, which locked differently, may still serve the socket.
    if (await isListening(this.paths.socket)) {
      this.lock.release();
      return this.notStarting({ reason: `a test daemon already answers on ${this.paths.socket}` }, report);
    }
    report({ locked: true, pid: process.pid });
    const env = this.workerEnv();
    this.worker = new Worker({
      root: this.root,
      python: this.project?.python.path ?? 'python3',
      socketPath: this.paths.workerSocket,
      env,
      projectEnv: this.project?.env ?? {},
      pytestArgs: this.project?.config.tests?.args ?? [],
      timeoutSeconds: this.project?.config.tests?.timeout,
      maxContexts: this.project?.config.tests?.warm_contexts,
      memoryCapBytes: warmMemory(this.project?.config.tests),
      log: (m) => this.log(m),
    });
    await this.worker.listen();
    this.rebuild('daemon started');
    // A socket left by a daemon that was killed: the lock says nobody owns it any more.
    if (process.platform !== 'win32') fs.rmSync(this.paths.socket, { force: true });
    this.startTracker();
    this.watcher = watchProject(this.root, (rel, event) => this.onFileChange(rel, event));
    // Clients that connect must not save files the watcher has not started to see.
    await Promise.race([this.watcher.ready, new Promise((r) => setTimeout(r, 10000))]);
    this.server = net.createServer((sock) => this.accept(sock));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.paths.socket, () => resolve());
    });
    if (process.platform !== 'win32') fs.chmodSync(this.paths.socket, 0o600);
    this.log(`daemon ${process.pid} serving ${this.root}`);
    return true;
  }

  private notStarting(failure: { reason: string; input?: boolean }, report?: Reporter): false {
    this.notStarted = failure;
    report?.({ error: failure.reason, input: failure.input });
    return false;
  }

  /** Time tracking rides on the same watcher when [tool.heavy.time] enabled = true. */
  private startTracker(): void {
    const config = this.project?.config.time;
    if (this.tracker || !config?.enabled) return;
    try {
      const tracker = new Tracker(this.root, resolveUser(this.root, undefined, config.user), config);
      tracker.start();
      this.tracker = tracker;
      this.liveTime = new LiveTimeStatus(this.root, tracker.user, config, (snapshot) => {
        for (const client of this.clients) notify(client, Methods.timeChanged, snapshot);
      });
      this.liveTime.start();
      this.log(`tracking time for ${tracker.user}`);
    } catch (err) {
      this.log(`not tracking time: ${(err as Error).message}`);
    }
  }

  private loadProject(): void {
    try {
      this.project = detectProject(this.root);
      this.configError = undefined;
    } catch (err) {
      this.configError = (err as Error).message;
    }
  }

  private workerEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ...envToApply(this.project?.env ?? {}, process.env) };
    delete env.ELECTRON_RUN_AS_NODE;
    // The daemon's own terminal state must not leak into pytest's idea of the terminal.
    delete env.FORCE_COLOR;
    return env;
  }

  private rebuild(reason: string): void {
    // The interpreter may have been changed in pyproject.toml since the daemon started.
    const problem = this.configError ?? (reason === 'daemon started' ? undefined : interpreterProblem(this.project!.python, this.project!.pyproject));
    if (problem) {
      this.worker!.state = 'failed';
      this.worker!.error = problem;
      this.log(`not warming: ${problem}`);
      return;
    }
    this.log(`warming the test process (${reason})`);
    this.sitePackagesStamp = undefined;
    this.worker!.update({
      python: this.project!.python.path,
      env: this.workerEnv(),
      projectEnv: this.project!.env,
      pytestArgs: this.project!.config.tests?.args ?? [],
      timeoutSeconds: this.project!.config.tests?.timeout,
      maxContexts: this.project!.config.tests?.warm_contexts,
      memoryCapBytes: warmMemory(this.project!.config.tests),
    });
    this.worker!.start(reason).then(
      () => {
        this.sitePackagesStamp = this.sitePackagesMtime();
        this.log(`warm in ${this.worker!.lastRebuild?.seconds.toFixed(2)}s`);
      },
      (err) => this.log(`could not warm the test process: ${(err as Error).message}`),
    );
  }

  /** Installing or removing a package touches site-packages; that makes the warm imports suspect. */
  private sitePackagesMtime(): number | undefined {
    let newest: number | undefined;
    for (const dir of this.worker?.info.site ?? []) {
      try {
        newest = Math.max(newest ?? 0, fs.statSync(dir).mtimeMs);
      } catch { /* gone */ }
    }
    return newest;
  }

  private onFileChange(relative: string, event: string): void {
    // Everything waits for settle(): only then is the file read, whole, and compared.
    const file = path.join(this.root, relative);
    this.pendingChanges.set(file, this.pendingChanges.get(file) || event !== 'change');
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.settle(), SETTLE_MS);
  }

  private trackSafely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log(`time tracking: ${(err as Error).message}`);
    }
  }

  private settle(): void {
    const pending = this.pendingChanges;
    this.pendingChanges = new Map();
    // A rewrite with the same bytes (a code generator, a test writing a fixture) is no change:
    // it must not re-run tests (which would write it again, forever), drop the warm levels or count as work.
    const files: string[] = [];
    const texts = new Map<string, string>();
    for (const [file, addedOrRemoved] of pending) {
      const { changed, text } = this.contents.check(file);
      if (!changed) continue;
      files.push(file);
      if (text !== undefined) texts.set(file, text);
      if (addedOrRemoved && file.endsWith('.py')) this.filesAddedOrRemoved = true;
    }
    this.takeBaseline();
    if (!files.length) return;
    const relative = files.map((f) => path.relative(this.root, f));
    for (const rel of relative) this.trackSafely(() => this.tracker?.fileChanged(rel));
    const python = files.filter((f) => f.endsWith('.py'));
    if (python.length) this.worker?.filesChanged(python);
    const config = relative.filter(needsRebuild);
    if (config.length) {
      this.loadProject();
      this.startTracker();
      this.rebuild(`${config.join(', ')} changed`);
    }
    if (!this.clients.size) {
      // Nobody to tell: keep an existing graph current (the texts are read already), build none.
      if (this.graph && !this.filesAddedOrRemoved) this.importGraph(python, texts);
      return;
    }
    let affected: string[] | 'all';
    try {
      affected = config.length ? 'all' : affectedTests(this.importGraph(python, texts), files, this.runImports.edges);
    } catch {
      affected = 'all';
    }
    for (const client of this.clients) notify(client, Methods.changed, { files, affected });
  }

  private importGraph(changed: string[], texts = new Map<string, string>()): ImportGraph {
    const read = (file: string) => texts.get(file) ?? fs.readFileSync(file, 'utf8');
    if (!this.graph || this.filesAddedOrRemoved) this.graph = buildImportGraph(this.root, undefined, read);
    else updateImportGraph(this.graph, this.root, changed, read);
    this.filesAddedOrRemoved = false;
    return this.graph;
  }

  /**
   * Hashes the project's Python files in the background, once, before the first run can
   * rewrite one: then even the first identical rewrite of a generated module is no change.
   * (Other files are known from their first change on: that first rewrite counts.)
   */
  private takeBaseline(): void {
    void this.contents.takeBaseline(() => listPythonFiles(this.root), (file) => this.pendingChanges.has(file));
  }

  private accept(sock: net.Socket): void {
    const client: Client = { connection: undefined as unknown as Connection, runs: new Set() };
    const watchDog = {
      shutdownReceived: false,
      initialize: () => {},
      // A client's "exit" ends its connection, never the daemon that others share.
      exit: () => sock.destroy(),
    };
    // The connection's own complaints (such as answering a client that already left) go to
    // the daemon's log: sent to that client they would fail again, and take the daemon down.
    const logger = { error: (m: string) => this.log(m), warn: (m: string) => this.log(m), info: () => {}, log: () => {} };
    const connection = createConnection(
      () => createProtocolConnection(new StreamMessageReader(sock), new StreamMessageWriter(sock), logger),
      watchDog,
    );
    client.connection = connection;
    this.clients.add(client);
    sock.on('error', () => {});
    sock.on('close', () => {
      this.clients.delete(client);
      // A client that goes away takes its runs with it.
      for (const runId of client.runs) this.cancel(runId, true);
      connection.dispose();
    });
    connection.onInitialize((params) => {
      client.name = params.clientInfo?.name;
      return { capabilities: {}, serverInfo: { name: 'heavy-daemon', version: VERSION } };
    });
    connection.onNotification(Methods.followRuns, ({ follow }) => { client.follows = follow; });
    connection.onRequest(Methods.status, () => this.status());
    connection.onNotification(Methods.heartbeat, ({ file }) => {
      const rel = path.relative(this.root, file);
      if (!rel.startsWith('..') && !path.isAbsolute(rel)) this.trackSafely(() => this.tracker?.heartbeat(rel));
    });
    connection.onRequest(Methods.timeStatus, () => {
      const t = this.tracker;
      return t ? timeStatus(this.root, t.user, this.project?.config.time) : null;
    });
    connection.onRequest(Methods.timeSnapshot, () => this.liveTime?.snapshot() ?? null);
    connection.onRequest(Methods.shutdown, () => {
      setTimeout(() => void this.stop().then(() => process.exit(0)), 10);
    });
    connection.onNotification(Methods.cancelRun, ({ runId, force }) => this.cancel(runId, !!force));
    connection.onRequest(Methods.runTests, async (params, token) => {
      client.runs.add(params.runId);
      token.onCancellationRequested(() => this.cancel(params.runId, false));
      // Clients that follow runs (the Testing view) see this one too: its start, output, results and end.
      // Those following when it starts: a client that follows later never sees half a run.
      const following = [...this.clients].filter((c) => c !== client && c.follows);
      const followers = () => following.filter((c) => this.clients.has(c));
      const { runId } = params;
      for (const c of following) {
        notify(c, Methods.runStarted, { runId, args: params.args, cwd: params.cwd, origin: client.name ? 'editor' : 'terminal', ...(client.name ? { client: client.name } : {}) });
      }
      let finished: RunFinished = { runId, exitCode: 1, durationMs: 0 };
      try {
        const result = await this.run(params, {
          output: (data) => {
            notify(client, Methods.runOutput, { runId, data });
            for (const c of followers()) notify(c, Methods.runOutput, { runId, data });
          },
          result: (result) => {
            notify(client, Methods.testResult, { runId, result });
            for (const c of followers()) notify(c, Methods.testResult, { runId, result });
          },
        });
        finished = { runId, exitCode: result.exitCode, durationMs: result.durationMs, ...(result.crashed ? { crashed: result.crashed } : {}) };
        return result;
      } finally {
        client.runs.delete(params.runId);
        for (const c of followers()) notify(c, Methods.runFinished, finished);
      }
    });
    connection.onRequest(Methods.discover, async (params) => {
      let output = '';
      const runId = `discover-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const result = await this.run({ runId, args: ['--collect-only', '-q', ...(params.args ?? [])], repeatable: params.repeatable }, {
        output: (data) => { output += data; },
        result: () => {},
      });
      return { items: (result as RunResult & { items?: TestItem[] }).items ?? [], exitCode: result.exitCode, output };
    });
    connection.listen();
  }

  private async run(params: RunParams, sink: RunSink): Promise<RunResult> {
    const worker = this.worker!;
    if (this.configError) return this.failedRun(params, sink, this.configError);
    this.takeBaseline();
    await this.slot();
    try {
      if (this.cancelled.delete(params.runId)) {
        sink.output('heavy: cancelled before it started\n');
        return { runId: params.runId, exitCode: 2, results: [], durationMs: 0 };
      }
      if (worker.state === 'warm' && this.sitePackagesStamp !== undefined && this.sitePackagesMtime() !== this.sitePackagesStamp) {
        this.rebuild('installed packages changed');
      }
      this.totalRuns++;
      try {
        // [tool.heavy.tests] args come first, as if they were in pytest's own addopts.
        const result = await worker.run({ ...params, args: [...(this.project?.config.tests?.args ?? []), ...params.args] }, sink);
        if (result.primed) this.primedRuns++;
        this.runImports.record(result.imports);
        return result;
      } finally {
        this.cancelled.delete(params.runId);
      }
    } catch (err) {
      return this.failedRun(params, sink, (err as Error).message);
    } finally {
      this.release();
    }
  }

  private cancel(runId: string, force: boolean): void {
    if (this.worker?.has(runId)) this.worker.cancel(runId, force);
    else this.cancelled.add(runId);
  }

  private failedRun(params: RunParams, sink: RunSink, message: string): RunResult {
    sink.output(`heavy: ${message}\n`);
    return { runId: params.runId, exitCode: 3, results: [], crashed: { reason: message }, durationMs: 0 };
  }

  private slot(): Promise<void> {
    const limit = Math.max(1, this.project?.config.tests?.workers ?? 2);
    if (this.active < limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(() => { this.active++; resolve(); }));
  }

  private release(): void {
    this.active--;
    this.queue.shift()?.();
  }

  status(): DaemonStatus {
    const w = this.worker;
    return {
      pid: process.pid,
      root: this.root,
      socket: this.paths.socket,
      version: VERSION,
      uptimeSeconds: (Date.now() - this.started) / 1000,
      python: w?.info.python ?? this.project?.python.path,
      pythonVersion: w?.info.version,
      pytestVersion: w?.info.pytest,
      warm: w?.state ?? 'starting',
      projectWarm: w?.level2State ?? 'none',
      primes: w?.readyPrimes ?? 0,
      debugged: w?.debugged ?? false,
      warmError: w?.error,
      workerPid: w?.info.pid,
      lastRebuild: w?.lastRebuild,
      memory: { nodeRssBytes: process.memoryUsage.rss(), workerRssBytes: w?.workerRss(), warmPrivateBytes: w?.warmPrivateBytes() },
      contexts: w?.contexts() ?? [],
      runs: { active: this.active, queued: this.queue.length, total: this.totalRuns, primed: this.primedRuns },
    };
  }

  async stop(): Promise<void> {
    this.log('daemon stopping');
    await this.watcher?.close();
    this.liveTime?.stop();
    this.tracker?.stop();
    await this.worker?.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    for (const client of this.clients) client.connection.dispose();
    if (process.platform !== 'win32' && this.server) fs.rmSync(this.paths.socket, { force: true });
    this.lock?.release();
    this.lock = undefined;
  }

  /** Sends the daemon's log to its file (the daemon runs detached from any terminal). */
  logToFile(): void {
    this.logStream = fs.createWriteStream(this.paths.log, { flags: 'a', mode: 0o600 });
  }

  /** Waits until the log's last line is on disk: the process is about to exit. */
  closeLog(): Promise<void> {
    const stream = this.logStream;
    this.logStream = undefined;
    return new Promise((resolve) => (stream ? stream.end(resolve) : resolve()));
  }
}

/** [tool.heavy.tests] warm_memory_mb, in bytes. */
function warmMemory(tests?: { warm_memory_mb?: number }): number | undefined {
  return tests?.warm_memory_mb ? tests.warm_memory_mb * 1024 * 1024 : undefined;
}

async function isListening(socket: string): Promise<boolean> {
  const sock = await connectSocket(socket);
  sock?.destroy();
  return !!sock;
}

/**
 * Entry point of `heavy daemon __serve`: runs until stopped. Every way of not starting leaves
 * its reason in the log and, through `report`, with the process that started it. Exits 2
 * when the project cannot be served, 1 on any other failure, 0 when another daemon serves.
 */
export async function serveForever(root: string, report: Reporter = () => {}): Promise<number> {
  const daemon = new Daemon(root);
  daemon.logToFile();
  daemon.log(`daemon ${process.pid} starting for ${root}`);
  let started: boolean;
  try {
    started = await daemon.start(report);
  } catch (err) {
    daemon.log(`could not start: ${err instanceof Error ? err.stack : String(err)}`);
    report({ error: `could not start: ${err instanceof Error ? err.message : String(err)}` });
    await daemon.stop().catch(() => {});
    await daemon.closeLog();
    return 1;
  }
  if (!started) {
    daemon.log(`not starting: ${daemon.notStarted!.reason}`);
    await daemon.closeLog();
    return daemon.notStarted!.input ? 2 : 0;
  }
  const stop = () => void daemon.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {});
  // One client's bad moment must not end the daemon every other client shares.
  process.on('unhandledRejection', (err) => daemon.log(`internal error (the daemon carries on): ${err instanceof Error ? err.stack : String(err)}`));
  stopWhenRootReplaced(daemon);
  return new Promise<number>(() => {});
}

/**
 * A project folder deleted (and perhaps re-created at the same path) leaves this daemon
 * watching and running tests in a folder that is gone: it stops, so the next client starts
 * a daemon for the folder that is there now.
 */
function stopWhenRootReplaced(daemon: Daemon): void {
  const identity = (): string | undefined => {
    const st = fs.statSync(daemon.root, { throwIfNoEntry: false });
    return st ? `${st.dev}:${st.ino}` : undefined;
  };
  const original = identity();
  const timer = setInterval(() => {
    if (identity() === original) return;
    clearInterval(timer);
    daemon.log(`${daemon.root} was deleted or replaced; stopping`);
    void daemon.stop().then(() => process.exit(0));
  }, 2000);
  timer.unref();
}
