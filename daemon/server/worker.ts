import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { helpersDir } from '../assets';
import type { DaemonStatus, FileCoverageData, RunParams, RunResult, TestItem, TestResult, WarmContextStatus } from '../protocol';
import { contextKey, readNames, type RunContext } from './contexts';
import { privateBytes, whyNot, type Level, type Level0Info } from './levels';
import { writeFileAtomic } from '../util/atomicFile';
import { readLines } from './lines';
import { Primes, type Prime, type RunBody } from './primes';

/** Where a run's output and results go while it runs. */
export interface RunSink {
  output(data: string): void;
  result(result: TestResult): void;
}

type Tier = NonNullable<RunResult['level']>;

interface ActiveRun {
  params: RunParams;
  sink: RunSink;
  pid?: number;
  results: TestResult[];
  items?: TestItem[];
  imports?: Record<string, string[]>;
  coverage?: FileCoverageData[];
  coverageError?: string;
  running?: string;
  runningSince?: number;
  exited?: { code?: number; signal?: string };
  /** pytest returned and said so: whatever it printed is the whole story (no crash to report). */
  pytestReturned?: boolean;
  streams: Set<net.Socket>;
  started: number;
  timedOut?: string;
  retried: boolean;
  /** Which warm parent forked it; a replaced parent finishes its own runs before it exits. */
  generation: number;
  /** The control connection of the level that forked it (none for a cold run). */
  via?: net.Socket;
  /** A cold run's own process. */
  cold?: ChildProcess;
  tier: Tier;
  body: RunBody;
  prime?: Prime<ActiveRun>;
  done: (r: RunResult & { items?: TestItem[] }) => void;
  timer?: NodeJS.Timeout;
}

/** A level asked for and not ready yet. */
interface Build {
  id: string;
  tier: 1 | 2;
  parent: Level;
  ctx: RunContext;
  stamp: number;
  attempts: number;
  level?: Level;
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
  /** Most warm contexts (level 2 processes) kept; the least recently used go first. */
  maxContexts?: number;
  /** Private memory all warm levels above level 0 may hold together, in bytes. */
  memoryCapBytes?: number;
  log(message: string): void;
}

/** A module that warns while imported is found one attempt at a time; this many attempts, then the level is given up. */
const MAX_ATTEMPTS = 4;

/**
 * The warm Python processes and the runs forked from them. Owns the private worker socket
 * that every level and each run's child connect back to.
 *
 * Level 0 is the process started here. Levels 1 and 2 are built per context (environment,
 * folder, argv) as runs need them, and a run forks from the highest level whose imports
 * read nothing its own context answers differently (see contexts.ts). When even level 0
 * does not match, the run is a cold process of its own.
 */
export class Worker {
  private server?: net.Server;
  private proc?: ChildProcess;
  private control?: net.Socket;
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
  private level0?: Level;
  private level0Info: Level0Info = { argv0: 'pytest' };
  /** Levels 1 and 2, ready or being imported. */
  private levels: Level[] = [];
  private builds = new Map<string, Build>();
  private buildSeq = 0;
  /** Modules that warn when imported (with their importers): left for each run to import. */
  private exclude: Record<1 | 2, Set<string>> = { 1: new Set(), 2: new Set() };
  private changeSeq = 0;
  private lastChange = new Map<string, number>();
  private rebuildTimer?: NodeJS.Timeout;
  /** Contexts whose level 2 went stale, newest last: rebuilt after changes settle. */
  private staleContexts: Array<{ parent: Level; ctx: RunContext }> = [];
  private buildWaiters: Array<() => void> = [];
  /** How long the last level 2 took to import the project, in ms. */
  private level2WarmMs?: number;
  private primes = new Primes<ActiveRun>({
    ownerFor: (body) => (this.debugged ? undefined : this.level2For(this.contextOf(body))?.sock),
    busy: () => this.runs.size > 0,
    event: (run, event) => this.onEvent(run, event),
    streamClosed: (run) => this.maybeFinish(run),
  });

  constructor(private options: WorkerOptions) {}

  update(changes: Partial<Pick<WorkerOptions, 'python' | 'env' | 'projectEnv' | 'timeoutSeconds' | 'pytestArgs' | 'maxContexts' | 'memoryCapBytes'>>): void {
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

  private workerScript(): string {
    return path.join(helpersDir(), 'heavy_worker.py');
  }

  /** The environment level 0 starts with: PYTHONWARNINGS is each run's own to apply. */
  private level0Env(): NodeJS.ProcessEnv {
    const env = { ...this.options.env };
    delete env.PYTHONWARNINGS;
    return env;
  }

  /** Starts (or replaces) level 0, and with it every level above. */
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
    const args = [this.workerScript(), '--root', this.options.root, '--connect', this.options.socketPath, '--', ...this.options.pytestArgs];
    let stderr = '';
    const proc = spawn(this.options.python, args, { cwd: this.options.root, env: this.level0Env(), stdio: ['ignore', 'pipe', 'pipe'] });
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
      let hello: { hello: string; id?: string; pid?: number; prime?: string; level?: number; attached?: boolean; ctx?: string };
      try {
        hello = JSON.parse(buffer.slice(0, nl));
      } catch {
        sock.destroy();
        return;
      }
      const rest = buffer.slice(nl + 1);
      if (hello.hello === 'worker' && (hello.level === 1 || hello.level === 2)) this.attachLevel(sock, rest, String(hello.ctx));
      else if (hello.hello === 'worker' && hello.attached) this.attachDebugged(sock, rest);
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
    // A retired level 0 keeps its own connection until its last run has reported.
    this.control = sock;
    readLines(sock, rest, (m) => this.onControl(sock, m));
  }

  /**
   * The Test Daemon profile: a level 0 started under the debugger takes over new runs (so
   * breakpoints hit in their forked children) until its debug session ends. Runs fork from
   * it directly: no higher levels, no primes.
   */
  debugged = false;
  private debuggedLevel?: Level;

  private attachDebugged(sock: net.Socket, rest: string): void {
    this.primes.dropAll();
    const level: Level = { tier: 0, sock, ready: false, reads: { env: {} }, tops: [], cwd: this.options.root, built: this.defaultContext(), lastUsed: 0, runs: 0 };
    this.debuggedLevel = level;
    this.options.log('a worker under the debugger attached; runs go to it');
    readLines(sock, rest, (m) => {
      if (m.t === 'ready') {
        level.ready = true;
        level.pid = m.pid;
        this.debugged = this.debuggedLevel === level;
      } else {
        this.onControl(sock, m);
      }
    });
    sock.on('close', () => {
      if (this.debuggedLevel !== level) return;
      this.options.log('the debugged worker left; runs go to the warm process again');
      this.debugged = false;
      this.debuggedLevel = undefined;
    });
  }

  /** A level 1 or 2 being built connected: it says "ready", or which modules warned while imported. */
  private attachLevel(sock: net.Socket, rest: string, buildId: string): void {
    const build = this.builds.get(buildId);
    if (!build || this.state !== 'warm' || build.parent.retired) {
      sock.write(JSON.stringify({ t: 'stop' }) + '\n');
      return;
    }
    const level: Level = {
      tier: build.tier, sock, ready: false, reads: { env: {} }, tops: [], cwd: build.ctx.cwd, parent: build.parent,
      built: build.ctx, lastUsed: Date.now(), runs: 0, stamp: build.stamp,
    };
    build.level = level;
    this.levels.push(level);
    readLines(sock, rest, (m) => {
      if (m.t === 'ready') this.levelReady(build, level, m);
      else if (m.t === 'tainted') this.levelTainted(build, level, m);
      else this.onControl(sock, m);
    });
    sock.on('close', () => {
      this.levels = this.levels.filter((l) => l !== level);
      if (this.builds.get(build.id) === build) this.buildDone(build);
      // Runs it forked that never reported: it died under them. Retry them once, elsewhere.
      for (const run of this.runs.values()) {
        if (run.via === sock && !run.exited) this.retryElsewhere(run);
      }
      // Its own levels go with it.
      for (const child of this.levels.filter((l) => l.parent === level)) this.retireLevel(child);
    });
  }

  private levelReady(build: Build, level: Level, m: any): void {
    level.pid = m.pid;
    level.reads = m.reads ?? { env: {} };
    level.tops = m.tops ?? [];
    level.cwd = m.cwd ?? level.cwd;
    level.warmMs = (m.warm_seconds ?? 0) * 1000;
    if (level.tier === 2) {
      level.files = m.files;
      level.fileSet = new Set(level.files!.map((f) => f[0]));
      // A file that changed while it was importing makes it stale at birth.
      if ([...level.fileSet].some((f) => (this.lastChange.get(f) ?? -1) > build.stamp)) {
        this.buildDone(build);
        this.retireLevel(level);
        this.requestLevel(2, build.parent, build.ctx);
        return;
      }
      this.level2WarmMs = level.warmMs;
    }
    level.ready = true;
    this.buildDone(build);
    this.options.log(`level ${level.tier} warm in ${((level.warmMs ?? 0) / 1000).toFixed(2)}s for ${this.describe(level)}`);
    if (level.tier === 1) this.requestLevel(2, level, build.ctx);
    else this.primes.level2Ready();
    this.evict();
  }

  /**
   * Which modules warned when imported, remembered across daemon starts while the installed
   * packages are unchanged, so a level is not imported twice every start. Only a hint: a
   * module that no longer warns is merely imported by each run, and a new one is found as usual.
   */
  private hintFile(): string | undefined {
    return process.platform === 'win32' ? undefined : `${this.options.socketPath}.exclude.json`;
  }

  private hintKey(): string {
    const dirs = (this.info.site ?? []).map((d) => `${d}@${fs.statSync(d, { throwIfNoEntry: false })?.mtimeMs ?? 0}`);
    return JSON.stringify([this.options.python, this.options.pytestArgs, dirs]);
  }

  private loadExcludeHint(): void {
    const file = this.hintFile();
    if (!file) return;
    try {
      const hint = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (hint.key !== this.hintKey()) return;
      for (const name of hint[1] ?? []) this.exclude[1].add(name);
    } catch { /* none yet */ }
  }

  private saveExcludeHint(): void {
    const file = this.hintFile();
    if (!file) return;
    try {
      writeFileAtomic(file, JSON.stringify({ key: this.hintKey(), 1: [...this.exclude[1]] }), 0o600);
    } catch { /* only a hint */ }
  }

  private levelTainted(build: Build, level: Level, m: any): void {
    for (const name of m.names ?? []) this.exclude[build.tier].add(name);
    // Third-party modules only: the project's own change with every edit, and import in a moment.
    if (build.tier === 1) this.saveExcludeHint();
    this.buildDone(build);
    this.retireLevel(level);
    const warnings: string[] = m.warnings ?? [];
    this.options.log(`level ${build.tier}: left for each run to import, as they warn when imported: ${(m.names ?? []).join(', ')}${warnings.length ? ` (${warnings[0]})` : ''}`);
    if (build.attempts + 1 >= MAX_ATTEMPTS) {
      this.options.log(`level ${build.tier}: gave up after ${MAX_ATTEMPTS} attempts; runs import those modules themselves`);
      return;
    }
    this.requestLevel(build.tier, build.parent, build.ctx, build.attempts + 1);
  }

  private describe(level: Level): string {
    const names = readNames(level.reads);
    return `${path.relative(this.options.root, level.cwd) || '.'}${names.length ? `, keyed on ${names.slice(0, 8).join(' ')}${names.length > 8 ? ' ...' : ''}` : ''}`;
  }

  /** Asks `parent` to fork a level for `ctx` (one build per parent at a time). */
  private requestLevel(tier: 1 | 2, parent: Level, ctx: RunContext, attempts = 0): void {
    if (parent.retired || parent.sock.destroyed || this.state !== 'warm') return;
    if ([...this.builds.values()].some((b) => b.parent === parent)) return;
    const id = `b${++this.buildSeq}`;
    const build: Build = { id, tier, parent, ctx, stamp: this.changeSeq, attempts };
    this.builds.set(id, build);
    parent.sock.write(JSON.stringify({
      t: tier === 1 ? 'level1' : 'level2', ctx: id, stamp: build.stamp, env: ctx.env, cwd: ctx.cwd, args: ctx.argv.slice(1), exclude: [...this.exclude[tier]],
    }) + '\n');
  }

  private buildDone(build: Build): void {
    this.builds.delete(build.id);
    for (const wake of this.buildWaiters.splice(0)) wake();
  }

  /** Drains a level (it exits after its runs) and forgets it, with the levels forked from it. */
  private retireLevel(level: Level): void {
    if (level.retired) return;
    level.retired = true;
    level.ready = false;
    this.levels = this.levels.filter((l) => l !== level);
    if (level.tier === 2) this.primes.dropOwner(level.sock);
    if (!level.sock.destroyed) level.sock.write(JSON.stringify({ t: 'drain' }) + '\n');
    for (const child of this.levels.filter((l) => l.parent === level)) this.retireLevel(child);
  }

  /** Keeps at most `maxContexts` level 2s (and two level 1s) within the memory cap, dropping the least recently used. */
  private evict(): void {
    const maxL2 = Math.max(1, this.options.maxContexts ?? 3);
    const cap = this.options.memoryCapBytes ?? 1024 * 1024 * 1024;
    const lru = (tier: 1 | 2) => this.levels.filter((l) => l.tier === tier && l.ready).sort((a, b) => a.lastUsed - b.lastUsed);
    while (lru(2).length > maxL2) this.dropLru(lru(2)[0], 'more warm contexts than allowed');
    while (lru(1).length > Math.max(1, Math.ceil(maxL2 / 2))) this.dropLru(lru(1)[0], 'more third-party levels than allowed');
    for (;;) {
      const ready = this.levels.filter((l) => l.ready);
      const total = ready.reduce((sum, l) => sum + (privateBytes(l.pid) ?? 0), 0);
      const candidates = [...lru(2), ...lru(1)];
      if (total <= cap || candidates.length <= 1) break;
      this.dropLru(candidates[0], `warm levels hold ${Math.round(total / 1048576)} MB, over the ${Math.round(cap / 1048576)} MB cap`);
    }
  }

  private dropLru(level: Level, why: string): void {
    this.options.log(`dropped the warm level ${level.tier} for ${this.describe(level)}: ${why}`);
    this.retireLevel(level);
  }

  /** Tells the worker which project files changed, so no level 2 is used with old code. */
  filesChanged(files: string[]): void {
    for (const file of files) this.lastChange.set(file, ++this.changeSeq);
    this.primes.changed();
    for (const level of this.levels.filter((l) => l.tier === 2 && l.ready)) {
      if (files.some((f) => level.fileSet?.has(f))) {
        this.staleContexts = [...this.staleContexts.filter((s) => s.ctx !== level.built), { parent: level.parent!, ctx: level.built }];
        this.retireLevel(level);
      }
    }
    if (!this.staleContexts.length) return;
    clearTimeout(this.rebuildTimer);
    // Once changes settle, the most recently used context is rebuilt; the others wait for their next run.
    this.rebuildTimer = setTimeout(() => {
      const last = this.staleContexts.pop();
      this.staleContexts = [];
      if (last && !this.level2For(last.ctx)) this.requestLevel(2, last.parent, last.ctx);
    }, 25);
  }

  /**
   * Right after an edit, a level 2 for this run's context is being rebuilt. When that is
   * quick, the run waits for it instead of importing the project itself while the rebuild
   * competes for the CPU.
   */
  private async awaitBuild(ctx: RunContext): Promise<void> {
    const key = contextKey(ctx);
    const pending = () => [...this.builds.values()].some((b) => b.tier === 2 && contextKey(b.ctx) === key)
      || (this.rebuildTimer !== undefined && this.staleContexts.some((s) => contextKey(s.ctx) === key));
    if (!pending() || this.level2WarmMs === undefined || this.level2WarmMs > 1500) return;
    const deadline = Date.now() + this.level2WarmMs + 500;
    while (pending() && Date.now() < deadline && !this.level2For(ctx)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.buildWaiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  /** A ready level 2 that may serve `ctx`, most recently used first, checked against the files on disk. */
  private level2For(ctx: RunContext, body?: RunBody): Level | undefined {
    const candidates = this.levels.filter((l) => l.tier === 2 && l.ready).sort((a, b) => b.lastUsed - a.lastUsed);
    const usable = candidates.filter((level) => !whyNot(level, ctx, this.level0Info) && this.fresh(level));
    // Any usable level 2 gives the same results; the one holding this request's prime gives them soonest.
    return (body && usable.find((level) => this.primes.readyOn(body, level.sock))) ?? usable[0];
  }

  /** Level 2 imported exactly what is on disk now (the watcher may not have told us of a save a moment ago). */
  private fresh(level: Level): boolean {
    for (const [file, mtimeNs, size] of level.files ?? []) {
      const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
      if (!st || st.mtimeNs !== BigInt(mtimeNs) || Number(st.size) !== size) {
        this.retireLevel(level);
        this.requestLevel(2, level.parent!, level.built);
        return false;
      }
    }
    return true;
  }

  /** How many recent runs came in each context (a few dozen kept): a context is built for once it comes back. */
  private seen = new Map<string, number>();

  private recurring(ctx: RunContext): boolean {
    const key = contextKey(ctx);
    const count = (this.seen.get(key) ?? 0) + 1;
    this.seen.delete(key);
    this.seen.set(key, count);
    if (this.seen.size > 32) this.seen.delete(this.seen.keys().next().value!);
    return count >= 2 || key === contextKey(this.defaultContext());
  }

  /** The highest level that may serve `ctx`, and what to build so the next such run is warmer. */
  private choose(ctx: RunContext, measured = false, body?: RunBody): { level?: Level; tier: Tier; why?: string } {
    if (this.debugged && this.debuggedLevel) return { level: this.debuggedLevel, tier: 'pytest' };
    // A context seen once may never come back (a one-off variable): building levels for it would only cost CPU.
    const build = this.recurring(ctx);
    const level2 = this.level2For(ctx, body);
    // Coverage must see the project's modules imported: a measured run forks from below level 2.
    if (level2 && !measured) return { level: level2, tier: 'project' };
    const level1 = this.levels.filter((l) => l.tier === 1 && l.ready && !whyNot(l, ctx, this.level0Info)).sort((a, b) => b.lastUsed - a.lastUsed)[0];
    if (level1) {
      if (build && !level2) this.requestLevel(2, level1, ctx);
      return { level: level1, tier: 'third-party' };
    }
    const level0 = this.level0;
    if (!level0?.ready) return { tier: 'cold', why: 'the warm process is not ready' };
    const why = whyNot(level0, ctx, this.level0Info);
    if (why) return { tier: 'cold', why };
    if (build) this.requestLevel(1, level0, ctx);
    return { level: level0, tier: 'pytest' };
  }

  get readyPrimes(): number {
    return this.primes.ready;
  }

  get level2State(): 'ready' | 'warming' | 'none' {
    if (this.levels.some((l) => l.tier === 2 && l.ready)) return 'ready';
    return this.builds.size || this.rebuildTimer ? 'warming' : 'none';
  }

  private onControl(sock: net.Socket, message: any): void {
    switch (message.t) {
      case 'ready': {
        if (sock !== this.control) return;
        this.state = 'warm';
        this.info = { pid: message.pid, python: message.python, version: message.version, pytest: message.pytest, site: message.site };
        this.level0Info = { startup: message.startup, argv0: message.argv0 ?? 'pytest', unusable: message.unusable ?? undefined };
        this.level0 = { tier: 0, sock, pid: message.pid, ready: true, reads: message.reads ?? { env: {} }, tops: message.tops ?? [], cwd: message.cwd ?? this.options.root, built: this.defaultContext(), lastUsed: Date.now(), runs: 0 };
        if (message.unusable) this.options.log(`every run starts cold: ${message.unusable}`);
        const meta = this.readyPromiseMeta!;
        this.lastRebuild = { at: new Date().toISOString(), seconds: (Date.now() - meta.began) / 1000, reason: meta.reason };
        this.readyResolve?.();
        this.loadExcludeHint();
        this.requestLevel(1, this.level0, this.defaultContext());
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
      case 'imports':
        run.imports = event.imports;
        break;
      case 'coverage':
        run.coverage = event.files;
        run.coverageError = event.error;
        break;
      case 'done':
        // pytest returned and the process is on its way out: no need to wait for its reaping.
        run.pytestReturned = true;
        run.exited ??= { code: event.code };
        this.maybeFinish(run);
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
    // When pytest returned, it reported everything itself (an interrupted test included), as a cold run does.
    if (run.timedOut || (!run.pytestReturned && (run.exited.signal || nodeid))) {
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
    run.done({
      runId: run.params.runId, exitCode, results: run.results, crashed, durationMs: Date.now() - run.started, retried: run.retried,
      primed: !!run.prime?.confirmed, items: run.items, imports: run.imports, level: run.tier,
      coverage: run.coverage, coverageError: run.coverageError,
    });
    // A measured run imports the project itself, under coverage: never from a prime of level 2.
    if (!this.debugged && run.params.repeatable !== false && !run.body.coverage) this.primes.remember(run.body);
  }

  private defaultContext(): RunContext {
    return this.contextOf({ args: this.options.pytestArgs, color: false });
  }

  /** The run's whole context: its environment (the client's, else the daemon's, over the project's .env), folder and argv. */
  private contextOf(body: Pick<RunBody, 'args' | 'color' | 'cwd' | 'env'>): RunContext {
    const base = body.env ?? stringsOnly(this.options.env);
    const env: Record<string, string> = { ...this.options.projectEnv, ...base };
    delete env.ELECTRON_RUN_AS_NODE;
    // Output goes through a socket, not a terminal: colour is asked for the way pytest understands.
    if (body.color && env.FORCE_COLOR === undefined) env.FORCE_COLOR = '1';
    return { env, cwd: body.cwd ?? this.options.root, argv: [this.level0Info.argv0, ...body.args] };
  }

  /** Runs pytest once, forked from the highest warm level that may serve it (or cold). */
  async run(params: RunParams, sink: RunSink, retried = false): Promise<RunResult & { items?: TestItem[] }> {
    await this.ready;
    if (this.state !== 'warm' || !this.control) throw new Error(this.error ?? 'the warm test process is not ready');
    const body: RunBody = {
      args: params.args, color: !!params.color, cwd: params.cwd, env: params.env, imports: true,
      ...(params.onlyFiles ? { onlyFiles: params.onlyFiles } : {}), ...(params.coverage ? { coverage: params.coverage } : {}),
    };
    const ctx = this.contextOf(body);
    await this.awaitBuild(ctx);
    this.primes.dropUnready(body);
    return new Promise((resolve) => {
      const choice = this.choose(ctx, !!body.coverage, body);
      const run: ActiveRun = { params, sink, body, results: [], streams: new Set(), started: Date.now(), retried, done: resolve, generation: this.generation, tier: choice.tier };
      this.runs.set(params.runId, run);
      const timeout = params.timeout ?? this.options.timeoutSeconds;
      if (timeout) {
        run.timer = setInterval(() => {
          if (run.running && run.runningSince && Date.now() - run.runningSince > timeout * 1000 && !run.timedOut) {
            run.timedOut = `timed out after ${timeout}s`;
            this.cancel(params.runId, true);
          }
        }, 100);
      }
      const message = { t: 'run', id: params.runId, args: body.args, color: body.color, cwd: ctx.cwd, env: ctx.env, imports: true, onlyFiles: body.onlyFiles, coverage: body.coverage };
      if (!choice.level) {
        this.options.log(`run ${params.runId} starts cold: ${choice.why}`);
        this.startCold(run, ctx, message);
        return;
      }
      const level = choice.level;
      level.lastUsed = Date.now();
      level.runs++;
      run.via = level.sock;
      run.prime = level.tier === 2 && !this.debugged ? this.primes.claim(body, level.sock, run) : undefined;
      level.sock.write(JSON.stringify({ ...message, prime: run.prime?.id }) + '\n');
    });
  }

  /** A run no warm level can serve: a Python process of its own, with the run's environment from the start. */
  private startCold(run: ActiveRun, ctx: RunContext, message: object): void {
    const proc = spawn(this.options.python, [this.workerScript(), '--root', this.options.root, '--connect', this.options.socketPath, '--run', '-'], {
      cwd: ctx.cwd, env: ctx.env, stdio: ['pipe', 'ignore', 'pipe'],
    });
    run.cold = proc;
    run.pid = proc.pid;
    let stderr = '';
    proc.stderr!.on('data', (d) => { stderr += d; });
    proc.stdin!.on('error', () => {});
    proc.stdin!.end(JSON.stringify(message));
    proc.on('error', (err) => {
      run.sink.output(`heavy: could not start ${this.options.python}: ${err.message}\n`);
      run.exited = { code: 3 };
      this.maybeFinish(run);
    });
    proc.on('exit', (code, signal) => {
      if (!run.streams.size && stderr.trim() && !run.pytestReturned) run.sink.output(stderr);
      run.exited ??= { code: code ?? undefined, signal: signal ?? undefined };
      this.maybeFinish(run);
    });
  }

  cancel(runId: string, force = false): void {
    const run = this.runs.get(runId);
    if (!run) return;
    if (run.cold?.pid) {
      const signal = force ? 'SIGKILL' : 'SIGINT';
      try { process.kill(-run.cold.pid, signal); } catch { try { run.cold.kill(signal); } catch { /* gone */ } }
      return;
    }
    run.via?.write(JSON.stringify({ t: 'cancel', id: runId, force }) + '\n');
  }

  has(runId: string): boolean {
    return this.runs.has(runId);
  }

  get activeRuns(): number {
    return this.runs.size;
  }

  /** A level died mid-run (it was killed, or crashed): retry the run once, on whatever level serves it now. */
  private retryElsewhere(run: ActiveRun): void {
    this.abandon(run);
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

  /** A retired level 0 that died before its runs reported: those runs end as crashed. */
  private orphaned(generation: number, how: string): void {
    if (generation === this.generation) return;
    for (const run of this.runs.values()) {
      if (run.generation === generation && !run.exited && !run.cold) {
        if (run.pid) { try { process.kill(run.pid, 'SIGKILL'); } catch { /* gone */ } }
        run.exited = { signal: `the warm test process's exit (${how})` };
        for (const s of run.streams) s.destroy();
        run.streams.clear();
        this.maybeFinish(run);
      }
    }
  }

  /** Level 0 died mid-run: kill its orphans, rebuild, and retry each run once. */
  private async recoverRuns(): Promise<void> {
    const orphans = [...this.runs.values()].filter((r) => r.generation === this.generation && !r.cold);
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

  /** Private memory of every warm process (levels and primes are forks: this is what each costs on its own). */
  warmPrivateBytes(): number | undefined {
    const pids = [this.info.pid, ...this.levels.map((l) => l.pid)];
    const sizes = pids.map(privateBytes).filter((n): n is number => n !== undefined);
    return sizes.length ? sizes.reduce((a, b) => a + b, 0) : undefined;
  }

  contexts(): WarmContextStatus[] {
    const ready = this.levels.filter((l) => l.ready && (l.tier === 2 || !this.levels.some((c) => c.parent === l && c.ready)));
    const building: WarmContextStatus[] = [...this.builds.values()].map((b) => ({
      id: b.id, levels: 'building', reads: [], cwd: b.ctx.cwd, runs: 0, lastUsed: new Date().toISOString(),
    }));
    return [...ready.sort((a, b) => b.lastUsed - a.lastUsed).map((l) => ({
      id: String(l.pid),
      levels: (l.tier === 2 ? 'project' : 'third-party') as WarmContextStatus['levels'],
      reads: [...new Set([...(l.parent ? readNames(l.parent.reads) : []), ...readNames(l.reads)])],
      cwd: l.cwd,
      runs: l.runs,
      lastUsed: new Date(l.lastUsed).toISOString(),
      privateBytes: (privateBytes(l.pid) ?? 0) + (l.parent && l.tier === 2 ? privateBytes(l.parent.pid) ?? 0 : 0),
    })), ...building];
  }

  /** Replaces level 0: a warm one drains (finishes its runs, then exits); anything else is killed. */
  private retire(): void {
    for (const level of [...this.levels]) this.retireLevel(level);
    this.levels = [];
    this.builds.clear();
    this.exclude = { 1: new Set(), 2: new Set() };
    if (this.level0) this.level0.retired = true;
    this.level0 = undefined;
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const hasRuns = [...this.runs.values()].some((r) => r.generation === this.generation - 1 && !r.cold);
    if (this.control && hasRuns) {
      this.send({ t: 'drain' });
      this.control = undefined;
    } else {
      this.kill();
    }
  }

  private send(message: object): void {
    this.control?.write(JSON.stringify(message) + '\n');
  }

  private kill(): void {
    for (const level of this.levels) if (level.pid) { try { process.kill(level.pid, 'SIGKILL'); } catch { /* gone */ } }
    // Its exit handler ignores it: start() and close() moved the generation on first.
    if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGKILL');
    this.control?.destroy();
    this.control = undefined;
  }

  async close(): Promise<void> {
    this.generation++;
    this.stopping = true;
    this.primes.close();
    clearTimeout(this.rebuildTimer);
    for (const run of this.runs.values()) if (run.pid) { try { process.kill(run.pid, 'SIGKILL'); } catch { /* gone */ } }
    this.kill();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    if (process.platform !== 'win32') fs.rmSync(this.options.socketPath, { force: true });
  }
}

function stringsOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
