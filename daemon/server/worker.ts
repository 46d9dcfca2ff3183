import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { helpersDir } from '../assets';
import type { DaemonStatus, RunParams, RunResult, TestItem, TestResult } from '../protocol';

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
  exited?: { code?: number; signal?: string };
  streams: Set<net.Socket>;
  started: number;
  timedOut?: string;
  retried: boolean;
  done: (r: RunResult & { items?: TestItem[] }) => void;
  timer?: NodeJS.Timeout;
}

export interface WorkerOptions {
  root: string;
  python: string;
  socketPath: string;
  env: NodeJS.ProcessEnv;
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
  info: { pid?: number; python?: string; version?: string; pytest?: string } = {};
  lastRebuild?: { at: string; seconds: number; reason: string };
  private generation = 0;
  private stopping = false;

  constructor(private readonly options: WorkerOptions) {}

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
    this.kill();
    this.state = this.lastRebuild ? 'rebuilding' : 'starting';
    this.error = undefined;
    const began = Date.now();
    this.ready = new Promise<void>((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.ready.catch(() => {});
    const args = [path.join(helpersDir(), 'heavy_worker.py'), '--root', this.options.root, '--connect', this.options.socketPath, ...this.options.pytestArgs];
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
      if (generation !== this.generation || this.stopping) return;
      const last = stderr.trim().split('\n').filter((l) => l.startsWith('heavy:')).pop();
      if (this.state !== 'warm') {
        this.fail(last?.replace(/^heavy: /, '') ?? `the warm test process exited (${signal ?? `code ${code}`}) while starting:\n${stderr.trim().slice(-2000)}`);
        return;
      }
      this.options.log(`the warm test process died (${signal ?? `code ${code}`}); rebuilding it`);
      void this.recoverRuns();
    });
    this.readyPromiseMeta = { began, reason, generation };
    return this.ready;
  }

  private readyPromiseMeta?: { began: number; reason: string; generation: number };

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
      let hello: { hello: string; id?: string; pid?: number };
      try {
        hello = JSON.parse(buffer.slice(0, nl));
      } catch {
        sock.destroy();
        return;
      }
      const rest = buffer.slice(nl + 1);
      if (hello.hello === 'worker') this.attachControl(sock, rest);
      else if (hello.hello === 'out') this.attachOutput(sock, String(hello.id), rest);
      else if (hello.hello === 'events') this.attachEvents(sock, String(hello.id), rest);
      else sock.destroy();
    };
    sock.on('data', onData);
    sock.on('error', () => {});
  }

  private attachControl(sock: net.Socket, rest: string): void {
    this.control?.destroy();
    this.control = sock;
    this.controlBuffer = rest;
    sock.on('data', (d) => {
      this.controlBuffer += d.toString('utf8');
      let nl: number;
      while ((nl = this.controlBuffer.indexOf('\n')) >= 0) {
        const line = this.controlBuffer.slice(0, nl);
        this.controlBuffer = this.controlBuffer.slice(nl + 1);
        if (line.trim()) this.onControl(JSON.parse(line));
      }
    });
  }

  private onControl(message: any): void {
    switch (message.t) {
      case 'ready': {
        this.state = 'warm';
        this.info = { pid: message.pid, python: message.python, version: message.version, pytest: message.pytest };
        const meta = this.readyPromiseMeta!;
        this.lastRebuild = { at: new Date().toISOString(), seconds: (Date.now() - meta.began) / 1000, reason: meta.reason };
        this.readyResolve?.();
        break;
      }
      case 'started': {
        const run = this.runs.get(message.id);
        if (run) run.pid = message.pid;
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
    let buffer = rest;
    const consume = () => {
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim()) this.onEvent(run, JSON.parse(line));
      }
    };
    consume();
    sock.on('data', (d) => { buffer += d.toString('utf8'); consume(); });
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
    run.done({ runId: run.params.runId, exitCode, results: run.results, crashed, durationMs: Date.now() - run.started, retried: run.retried, items: run.items });
  }

  /** Runs pytest once in a fresh fork of the warm parent. */
  async run(params: RunParams, sink: RunSink, retried = false): Promise<RunResult & { items?: TestItem[] }> {
    await this.ready;
    if (this.state !== 'warm' || !this.control) throw new Error(this.error ?? 'the warm test process is not ready');
    return new Promise((resolve) => {
      const run: ActiveRun = { params, sink, results: [], streams: new Set(), started: Date.now(), retried, done: resolve };
      this.runs.set(params.runId, run);
      const timeout = params.timeout ?? this.options.timeoutSeconds;
      if (timeout) {
        run.timer = setInterval(() => {
          if (run.running && run.runningSince && Date.now() - run.runningSince > timeout * 1000 && !run.timedOut) {
            run.timedOut = `timed out after ${timeout}s`;
            this.send({ t: 'cancel', id: params.runId, force: true });
          }
        }, 100);
      }
      this.send({ t: 'run', id: params.runId, args: params.args, color: !!params.color });
    });
  }

  cancel(runId: string, force = false): void {
    if (this.runs.has(runId)) this.send({ t: 'cancel', id: runId, force });
  }

  get activeRuns(): number {
    return this.runs.size;
  }

  private send(message: object): void {
    this.control?.write(JSON.stringify(message) + '\n');
  }

  /** The warm parent died mid-run: kill its orphans, rebuild, and retry each run once. */
  private async recoverRuns(): Promise<void> {
    const orphans = [...this.runs.values()];
    this.runs.clear();
    for (const run of orphans) {
      clearInterval(run.timer);
      if (run.pid) {
        try { process.kill(run.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      for (const s of run.streams) s.destroy();
    }
    try {
      await this.start('the warm test process died');
    } catch (err) {
      for (const run of orphans) {
        run.done({ runId: run.params.runId, exitCode: 3, results: run.results, crashed: { reason: (err as Error).message }, durationMs: Date.now() - run.started, retried: true });
      }
      return;
    }
    for (const run of orphans) {
      if (run.retried) {
        run.done({ runId: run.params.runId, exitCode: 3, results: run.results, crashed: { reason: 'the warm test process died twice' }, durationMs: Date.now() - run.started, retried: true });
        continue;
      }
      run.sink.output('\nheavy: the warm test process died during this run; it was rebuilt and the run is retried\n');
      void this.run(run.params, run.sink, true).then(run.done, (err) =>
        run.done({ runId: run.params.runId, exitCode: 3, results: [], crashed: { reason: (err as Error).message }, durationMs: Date.now() - run.started, retried: true }));
    }
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

  private kill(): void {
    if (this.proc && this.proc.exitCode === null) {
      this.stopping = true;
      this.proc.kill('SIGKILL');
      this.stopping = false;
    }
    this.control?.destroy();
    this.control = undefined;
  }

  async close(): Promise<void> {
    this.generation++;
    this.stopping = true;
    for (const run of this.runs.values()) if (run.pid) { try { process.kill(run.pid, 'SIGKILL'); } catch { /* gone */ } }
    this.kill();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    if (process.platform !== 'win32') fs.rmSync(this.options.socketPath, { force: true });
  }
}
