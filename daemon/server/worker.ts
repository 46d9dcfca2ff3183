import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { helpersDir } from '../assets';
import type { DaemonStatus, RunParams, RunResult, TestItem, TestResult } from '../protocol';
import { readLines } from './lines';
import { Primes, type Prime, type RunBody } from './primes';

interface Level2 {
  sock: net.Socket;
  pid?: number;
  stamp: number;
  ready: boolean;
  /** [file, mtime_ns as a string, size] of every project module it imported. */
  files: Array<[string, string, number]>;
  fileSet: Set<string>;
}

/** Where a run's output and results go while it runs. */
export interface RunSink {
  output(data: string): void;
  result(result: TestResult): void;
}

interface ActiveRun {
  params: RunParams;
  sink: RunSink;
  pid?: number;
  results: TestResult[];
  items?: TestItem[];
  running?: string;
  runningSince?: number;
  imports?: Record<string, string[]>;
  exited?: { code?: number; signal?: string };
  streams: Set<net.Socket>;
  started: number;
  timedOut?: string;
  retried: boolean;
  /** Which warm parent forked it; a replaced parent finishes its own runs before it exits. */
  generation: number;
  /** The control connection of the process that forked it (level 1 or level 2). */
  via?: net.Socket;
  body: RunBody;
  prime?: Prime<ActiveRun>;
  done: (r: RunResult & { items?: TestItem[] }) => void;
  timer?: NodeJS.Timeout;
}

export interface WorkerOptions {
  root: string;
  python: string;
  socketPath: string;
  env: NodeJS.ProcessEnv;
  /** The project's .env, applied under a client's own environment. */
  projectEnv: Record<string, string>;
  pytestArgs: string[];
  timeoutSeconds?: number;
  log(message: string): void;
}

/**
 * The warm Python parent and the runs forked from it. Owns the private worker socket
 * that the parent and each run's child connect back to.
 */
export class Worker {
  private server?: net.Server;
  private proc?: ChildProcess;
  private control?: net.Socket;
  private controlBuffer = '';
  private runs = new Map<string, ActiveRun>();
  private ready?: Promise<void>;
  private readyResolve?: () => void;
  private readyReject?: (err: Error) => void;
  state: DaemonStatus['warm'] = 'starting';
  error?: string;
  info: { pid?: number; python?: string; version?: string; pytest?: string; site?: string[] } = {};
  lastRebuild?: { at: string; seconds: number; reason: string };
  private generation = 0;
  private stopping = false;
  /** When and why the warm parent now starting was asked for. */
  private readyPromiseMeta?: { began: number; reason: string; generation: number };
  /** Level 2: a fork of the warm parent that also imported the project's own modules. */
  private level2?: Level2;
  private level2Stamp = 0;
  private level2Timer?: NodeJS.Timeout;
  private changeSeq = 0;
  /** A level 2 has been asked for (or is about to be) and is not ready yet. */
  private level2Building = false;
  private level2Waiters: Array<() => void> = [];
  /** How long the last level 2 took to import the project, in ms. */
  private level2WarmMs?: number;
  private lastChange = new Map<string, number>();
  private primes = new Primes<ActiveRun>({
    level2: () => (this.level2?.ready && !this.debugged ? this.level2.sock : undefined),
    busy: () => this.runs.size > 0,
    event: (run, event) => this.onEvent(run, event),
    streamClosed: (run) => this.maybeFinish(run),
  });

  constructor(private options: WorkerOptions) {}

  update(changes: Partial<Pick<WorkerOptions, 'python' | 'env' | 'projectEnv' | 'timeoutSeconds' | 'pytestArgs'>>): void {
    this.options = { ...this.options, ...changes };
  }

  async listen(): Promise<void> {
    if (process.platform !== 'win32') fs.rmSync(this.options.socketPath, { force: true });
    this.server = net.createServer((sock) => this.accept(sock));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.socketPath, () => resolve());
    });
    if (process.platform !== 'win32') fs.chmodSync(this.options.socketPath, 0o600);
  }

  /** Starts (or replaces) the warm parent. */
  start(reason: string): Promise<void> {
    const generation = ++this.generation;
    this.retire();
    this.state = this.lastRebuild ? 'rebuilding' : 'starting';
    this.error = undefined;
    const began = Date.now();
    this.ready = new Promise<void>((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.ready.catch(() => {});
    const args = [path.join(helpersDir(), 'heavy_worker.py'), '--root', this.options.root, '--connect', this.options.socketPath, '--', ...this.options.pytestArgs];
    let stderr = '';
    const proc = spawn(this.options.python, args, {
      cwd: this.options.root,
      env: this.options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stdout!.on('data', (d) => { stderr += d; });
    proc.stderr!.on('data', (d) => { stderr += d; });
    proc.on('error', (err) => {
      if (generation !== this.generation) return;
      const message = (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `the project's Python interpreter ${this.options.python} was not found; create .venv or set python under [tool.heavy] in pyproject.toml`
        : `could not start ${this.options.python}: ${err.message}`;
      this.fail(message);
    });
    proc.on('exit', (code, signal) => {
      this.orphaned(generation, signal ?? `code ${code}`);
      if (generation !== this.generation || this.stopping) return;
      const last = stderr.trim().split('\n').filter((l) => l.startsWith('heavy:')).pop();
      if (this.state !== 'warm') {
        this.fail(last?.replace(/^heavy: /, '') ?? `the warm test process exited (${signal ?? `code ${code}`}) while starting:\n${stderr.trim().slice(-2000)}`);
        return;
      }
      this.options.log(`the warm test process died (${signal ?? `code ${code}`}); rebuilding it`);
      const level2 = this.level2;
      this.level2 = undefined;
      if (level2?.pid) { try { process.kill(level2.pid, 'SIGKILL'); } catch { /* gone */ } }
      void this.recoverRuns();
    });
    this.readyPromiseMeta = { began, reason, generation };
    return this.ready;
  }


  private fail(message: string): void {
    this.state = 'failed';
    this.error = message;
    this.readyReject?.(new Error(message));
  }

  private accept(sock: net.Socket): void {
    let buffer = '';
    const onData = (data: Buffer) => {
      buffer += data.toString('utf8');
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      sock.off('data', onData);
      let hello: { hello: string; id?: string; pid?: number; prime?: string };
      try {
        hello = JSON.parse(buffer.slice(0, nl));
      } catch {
        sock.destroy();
        return;
      }
      const rest = buffer.slice(nl + 1);
      if (hello.hello === 'worker' && (hello as { level?: number }).level === 2) this.attachLevel2(sock, rest, (hello as { stamp?: number }).stamp ?? -1);
      else if (hello.hello === 'worker' && (hello as { attached?: boolean }).attached) this.attachDebugged(sock, rest);
      else if (hello.hello === 'worker') this.attachControl(sock, rest);
      else if ((hello.hello === 'out' || hello.hello === 'events') && hello.prime) this.primes.attach(sock, hello.hello, hello.prime, rest);
      else if (hello.hello === 'out') this.attachOutput(sock, String(hello.id), rest);
      else if (hello.hello === 'events') this.attachEvents(sock, String(hello.id), rest);
      else sock.destroy();
    };
    sock.on('data', onData);
    sock.on('error', () => {});
  }

  private attachControl(sock: net.Socket, rest: string): void {
    // A retired parent keeps its own connection until its last run has reported.
    this.control = sock;
    readLines(sock, rest, (m) => this.onControl(m));
  }

  /**
   * The Test Daemon profile: a warm parent started under the debugger takes over new runs
   * (so breakpoints hit in their forked children) until its debug session ends.
   */
  debugged = false;

  private attachDebugged(sock: net.Socket, rest: string): void {
    const spawned = this.control;
    this.debugged = false;
    this.dropLevel2('a debugged worker attached');
    this.control = sock;
    this.options.log('a worker under the debugger attached; runs go to it');
    readLines(sock, rest, (m) => {
      if (m.t === 'ready') {
        this.debugged = this.control === sock;
        this.scheduleLevel2(0);
      } else {
        this.onControl(m);
      }
    });
    sock.on('close', () => {
      if (this.control !== sock) return;
      this.options.log('the debugged worker left; runs go to the warm process again');
      this.debugged = false;
      this.dropLevel2('the debugged worker left');
      this.control = spawned && !spawned.destroyed ? spawned : undefined;
      this.scheduleLevel2(0);
    });
  }

  private attachLevel2(sock: net.Socket, rest: string, stamp: number): void {
    if (stamp !== this.level2Stamp || this.state !== 'warm') {
      sock.write(JSON.stringify({ t: 'stop' }) + '\n');
      return;
    }
    const level2: Level2 = { sock, stamp, ready: false, files: [], fileSet: new Set() };
    this.level2 = level2;
    readLines(sock, rest, (m) => {
      if (m.t === 'ready') {
        level2.pid = m.pid;
        level2.files = m.files;
        level2.fileSet = new Set(level2.files.map((f) => f[0]));
        // A file that changed while level 2 was importing makes it stale at birth.
        if ([...level2.fileSet].some((f) => (this.lastChange.get(f) ?? -1) > stamp)) {
          this.dropLevel2('changed while warming');
          this.scheduleLevel2();
        } else {
          level2.ready = true;
          this.level2WarmMs = (m.warm_seconds ?? 0) * 1000;
          this.level2Settled();
          this.primes.level2Ready();
        }
      } else {
        this.onControl(m);
      }
    });
    sock.on('close', () => {
      if (this.level2 === level2) {
        this.level2 = undefined;
        if (!level2.ready) this.level2Settled();
      }
      // Runs it forked that never reported: it died under them. Retry them once from level 1.
      for (const run of this.runs.values()) {
        if (run.via === sock && !run.exited) this.retryElsewhere(run);
      }
    });
  }

  /** A level 2 process died mid-run (it was killed, or crashed): retry on level 1, once. */
  private retryElsewhere(run: ActiveRun): void {
    this.abandon(run);
    this.scheduleLevel2();
    this.retryOnce(run, 'the run is retried');
  }

  /** Forgets a run whose process is gone or going: kills what is left of it. */
  private abandon(run: ActiveRun): void {
    if (run.prime) this.primes.forget(run.prime);
    if (run.pid) { try { process.kill(run.pid, 'SIGKILL'); } catch { /* gone */ } }
    this.runs.delete(run.params.runId);
    clearInterval(run.timer);
    for (const s of run.streams) s.destroy();
  }

  private crashed(run: ActiveRun, reason: string): void {
    run.done({ runId: run.params.runId, exitCode: 3, results: run.results, crashed: { reason }, durationMs: Date.now() - run.started, retried: true });
  }

  /** A run whose warm process died is run again once; a second death is reported. */
  private retryOnce(run: ActiveRun, what: string): void {
    if (run.retried) return this.crashed(run, 'the warm test process died twice');
    run.sink.output(`\nheavy: the warm test process died during this run; ${what}\n`);
    void this.run(run.params, run.sink, true).then(run.done, (err) => this.crashed({ ...run, results: [] }, (err as Error).message));
  }

  /** Tells the worker which project files changed, so level 2 is never used with old code. */
  filesChanged(files: string[]): void {
    let stale = false;
    for (const file of files) {
      this.lastChange.set(file, ++this.changeSeq);
      if (this.level2?.fileSet.has(file)) stale = true;
    }
    this.primes.changed();
    if (stale) this.dropLevel2('project files changed');
    if (!this.level2) this.scheduleLevel2();
  }

  private level2Settled(): void {
    this.level2Building = false;
    for (const wake of this.level2Waiters.splice(0)) wake();
  }

  /**
   * Right after an edit, a level 2 is being rebuilt. When that is quick, the run waits for
   * it instead of importing the project itself while the rebuild competes for the CPU.
   */
  private async awaitLevel2(): Promise<void> {
    if (this.level2?.ready || !this.level2Building || this.level2WarmMs === undefined || this.level2WarmMs > 1500) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.level2WarmMs! + 500);
      this.level2Waiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  private dropLevel2(_why: string): void {
    const level2 = this.level2;
    if (!level2) return;
    this.primes.dropAll();
    this.level2 = undefined;
    level2.ready = false;
    level2.sock.write(JSON.stringify({ t: 'drain' }) + '\n');
  }

  /** Asks level 1 for a fresh level 2 once changes settle. */
  private scheduleLevel2(delayMs = 25): void {
    clearTimeout(this.level2Timer);
    this.level2Building = true;
    this.level2Timer = setTimeout(() => {
      if (this.state !== 'warm' || !this.control || this.level2) {
        if (!this.level2) this.level2Settled();
        return;
      }
      this.level2Stamp = this.changeSeq;
      this.send({ t: 'level2', stamp: this.level2Stamp });
    }, delayMs);
  }

  /** Level 2, if it imported exactly what is on disk now. */
  private freshLevel2(): Level2 | undefined {
    const level2 = this.level2;
    if (!level2?.ready) return undefined;
    for (const [file, mtimeNs, size] of level2.files) {
      // The watcher may not have told us yet about a file saved a moment ago.
      const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
      if (!st || st.mtimeNs !== BigInt(mtimeNs) || Number(st.size) !== size) {
        this.dropLevel2('a project file changed');
        this.scheduleLevel2();
        return undefined;
      }
    }
    return level2;
  }

  get readyPrimes(): number {
    return this.primes.ready;
  }

  get level2State(): 'ready' | 'warming' | 'none' {
    return this.level2?.ready ? 'ready' : this.level2 || this.level2Timer ? 'warming' : 'none';
  }

  private onControl(message: any): void {
    switch (message.t) {
      case 'ready': {
        this.state = 'warm';
        this.info = { pid: message.pid, python: message.python, version: message.version, pytest: message.pytest, site: message.site };
        const meta = this.readyPromiseMeta!;
        this.lastRebuild = { at: new Date().toISOString(), seconds: (Date.now() - meta.began) / 1000, reason: meta.reason };
        this.readyResolve?.();
        this.scheduleLevel2(0);
        break;
      }
      case 'started': {
        const run = this.runs.get(message.id);
        if (run) run.pid = message.pid;
        if (run?.prime && !this.primes.confirm(run, run.prime, !!message.primed)) run.prime = undefined;
        break;
      }
      case 'exited': {
        const run = this.runs.get(message.id);
        if (run) {
          run.exited = { code: message.code, signal: message.signal };
          this.maybeFinish(run);
        }
        break;
      }
    }
  }

  private attachOutput(sock: net.Socket, id: string, rest: string): void {
    const run = this.runs.get(id);
    if (!run) return void sock.destroy();
    run.streams.add(sock);
    if (rest) run.sink.output(rest);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => run.sink.output(d));
    sock.on('close', () => { run.streams.delete(sock); this.maybeFinish(run); });
  }

  private attachEvents(sock: net.Socket, id: string, rest: string): void {
    const run = this.runs.get(id);
    if (!run) return void sock.destroy();
    run.streams.add(sock);
    readLines(sock, rest, (event) => this.onEvent(run, event));
    sock.on('close', () => { run.streams.delete(sock); this.maybeFinish(run); });
  }

  private onEvent(run: ActiveRun, event: any): void {
    switch (event.t) {
      case 'collected':
        run.items = event.items;
        break;
      case 'start':
        run.running = event.nodeid;
        run.runningSince = Date.now();
        break;
      case 'finish':
        run.running = undefined;
        break;
      case 'done':
        // pytest returned and the process is on its way out: no need to wait for its reaping.
        run.exited ??= { code: event.code };
        this.maybeFinish(run);
        break;
      case 'imports':
        run.imports = event.imports;
        break;
      case 'result': {
        const { t: _t, ...result } = event;
        run.results.push(result);
        run.sink.result(result);
        break;
      }
    }
  }

  private maybeFinish(run: ActiveRun): void {
    if (!run.exited || run.streams.size > 0 || !this.runs.has(run.params.runId)) return;
    this.runs.delete(run.params.runId);
    clearInterval(run.timer);
    let exitCode = run.exited.code ?? 1;
    let crashed: RunResult['crashed'];
    const nodeid = run.running;
    if (run.timedOut || run.exited.signal || nodeid) {
      const reason = run.timedOut
        ?? (run.exited.signal ? `the test process was killed by ${run.exited.signal}` : `the test process exited with code ${run.exited.code} before the test finished`);
      crashed = { nodeid, reason };
      if (nodeid) {
        const result: TestResult = { nodeid, outcome: 'error', when: 'call', duration: (Date.now() - (run.runningSince ?? Date.now())) / 1000, file: '', line: 0, message: reason };
        run.results.push(result);
        run.sink.result(result);
      }
      run.sink.output(`\nheavy: ${nodeid ?? 'the run'}: ${reason}\n`);
      exitCode = run.exited.code === 0 || run.exited.code === undefined || run.timedOut ? 1 : exitCode;
    }
    run.done({ runId: run.params.runId, exitCode, results: run.results, crashed, durationMs: Date.now() - run.started, retried: run.retried, primed: !!run.prime?.confirmed, items: run.items, imports: run.imports });
    if (!this.debugged && run.params.repeatable !== false) this.primes.remember(run.body);
  }

  /** Runs pytest once in a fresh fork of the warm parent. */
  async run(params: RunParams, sink: RunSink, retried = false): Promise<RunResult & { items?: TestItem[] }> {
    await this.ready;
    if (this.state !== 'warm' || !this.control) throw new Error(this.error ?? 'the warm test process is not ready');
    await this.awaitLevel2();
    const env = params.env ? { ...this.options.projectEnv, ...params.env } : undefined;
    const body: RunBody = { args: params.args, color: !!params.color, cwd: params.cwd, env, imports: true, ...(params.onlyFiles ? { onlyFiles: params.onlyFiles } : {}) };
    await this.primes.settledFor(body);
    return new Promise((resolve) => {
      const run: ActiveRun = { params, sink, body, results: [], streams: new Set(), started: Date.now(), retried, done: resolve, generation: this.generation };
      this.runs.set(params.runId, run);
      const timeout = params.timeout ?? this.options.timeoutSeconds;
      if (timeout) {
        run.timer = setInterval(() => {
          if (run.running && run.runningSince && Date.now() - run.runningSince > timeout * 1000 && !run.timedOut) {
            run.timedOut = `timed out after ${timeout}s`;
            run.via?.write(JSON.stringify({ t: 'cancel', id: params.runId, force: true }) + '\n');
          }
        }, 100);
      }
      const level2 = this.freshLevel2();
      run.via = level2?.sock ?? this.control;
      run.prime = level2 && !this.debugged ? this.primes.claim(body, level2.sock, run) : undefined;
      run.via!.write(JSON.stringify({ t: 'run', id: params.runId, ...body, prime: run.prime?.id }) + '\n');
    });
  }

  cancel(runId: string, force = false): void {
    this.runs.get(runId)?.via?.write(JSON.stringify({ t: 'cancel', id: runId, force }) + '\n');
  }

  has(runId: string): boolean {
    return this.runs.has(runId);
  }

  get activeRuns(): number {
    return this.runs.size;
  }

  private send(message: object): void {
    this.control?.write(JSON.stringify(message) + '\n');
  }

  /** A retired parent that died before its runs reported: those runs end as crashed. */
  private orphaned(generation: number, how: string): void {
    if (generation === this.generation) return;
    for (const run of this.runs.values()) {
      if (run.generation === generation && !run.exited) {
        if (run.pid) { try { process.kill(run.pid, 'SIGKILL'); } catch { /* gone */ } }
        run.exited = { signal: `the warm test process's exit (${how})` };
        for (const s of run.streams) s.destroy();
        run.streams.clear();
        this.maybeFinish(run);
      }
    }
  }

  /** The warm parent died mid-run: kill its orphans, rebuild, and retry each run once. */
  private async recoverRuns(): Promise<void> {
    const orphans = [...this.runs.values()].filter((r) => r.generation === this.generation);
    for (const run of orphans) this.abandon(run);
    try {
      await this.start('the warm test process died');
    } catch (err) {
      for (const run of orphans) this.crashed(run, (err as Error).message);
      return;
    }
    for (const run of orphans) this.retryOnce(run, 'it was rebuilt and the run is retried');
  }


  workerRss(): number | undefined {
    const pid = this.info.pid;
    if (!pid) return undefined;
    try {
      const statm = fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
      return Number(statm[1]) * 4096;
    } catch {
      return undefined;
    }
  }

  /** Replaces the warm parent: a warm one drains (finishes its runs, then exits); anything else is killed. */
  private retire(): void {
    this.dropLevel2('rebuilding');
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const hasRuns = [...this.runs.values()].some((r) => r.generation === this.generation - 1);
    if (this.control && hasRuns) {
      this.send({ t: 'drain' });
      this.control = undefined;
    } else {
      this.kill();
    }
  }

  private kill(): void {
    const level2 = this.level2;
    this.level2 = undefined;
    if (level2?.pid) { try { process.kill(level2.pid, 'SIGKILL'); } catch { /* gone */ } }
    // Its exit handler ignores it: start() and close() moved the generation on first.
    if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGKILL');
    this.control?.destroy();
    this.control = undefined;
  }

  async close(): Promise<void> {
    this.generation++;
    this.stopping = true;
    this.primes.close();
    for (const run of this.runs.values()) if (run.pid) { try { process.kill(run.pid, 'SIGKILL'); } catch { /* gone */ } }
    this.kill();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    if (process.platform !== 'win32') fs.rmSync(this.options.socketPath, { force: true });
  }
}
