import type * as net from 'node:net';
import { readLines } from './lines';

/** What a run asks of the warm process: also what makes two requests the same. */
export interface RunBody {
  args: string[];
  color: boolean;
  cwd?: string;
  env?: Record<string, string>;
  /** Report what each test file imported (RunResult.imports). */
  imports?: boolean;
  onlyFiles?: string[];
  coverage?: { branch?: boolean; perTest?: boolean };
}

/** The part of a run a prime's streams feed once it is confirmed. */
export interface PrimedRun {
  streams: Set<net.Socket>;
  sink: { output(data: string): void };
}

/**
 * A fork of level 2 that parsed pytest's configuration for a request ahead of it (the
 * worker script says when it may be used). Its output and events wait here until a run
 * claims it and level 2 confirms it was still fresh.
 */
export interface Prime<R extends PrimedRun> {
  id: string;
  key: string;
  /** Level 2's control connection: the process that forked it. */
  owner: net.Socket;
  ready: boolean;
  run?: R;
  confirmed: boolean;
  output: string[];
  events: any[];
  open: Set<net.Socket>;
  /** Resolves once it is ready, or gone. */
  settled: Promise<void>;
  settle(): void;
}

export interface PrimeHost<R extends PrimedRun> {
  /** The control connection of the ready level 2 that would serve `body`, when primes may be used at all. */
  ownerFor(body: RunBody): net.Socket | undefined;
  /** True while any run is going: primes are speculative and wait for quiet. */
  busy(): boolean;
  event(run: R, event: any): void;
  streamClosed(run: R): void;
}

const keyOf = (body: RunBody): string => JSON.stringify(body);

/**
 * Keeps the last requests primed: people mostly run the same test again. Primes start a
 * moment after runs stop, newest first and one at a time, so they never compete with a
 * run or with each other for the CPU.
 */
export class Primes<R extends PrimedRun> {
  static readonly MAX = 2;
  static readonly DELAY_MS = 250;
  private primes = new Map<string, Prime<R>>();
  /** The last requests run, newest last. */
  private recent: RunBody[] = [];
  /** Requests whose prime gave up (pytest could not parse them ahead), until the next change. */
  private unprimable = new Set<string>();
  private seq = 0;
  private timer?: NodeJS.Timeout;

  constructor(private host: PrimeHost<R>) {}

  /** Primes waiting for their request. */
  get ready(): number {
    return [...this.primes.values()].filter((p) => p.ready && !p.run).length;
  }

  remember(body: RunBody): void {
    const key = keyOf(body);
    this.recent = [...this.recent.filter((b) => keyOf(b) !== key), body].slice(-Primes.MAX);
    // A prime for a request no longer among the last ones will not be asked for: drop it now, so
    // it neither holds memory nor counts as ready in the daemon's status.
    const keys = this.recent.map(keyOf);
    for (const old of [...this.primes.values()].filter((p) => !p.run && !keys.includes(p.key))) this.drop(old);
    this.schedule();
  }

  /** A new level 2 is ready: what could not be primed before may be now. */
  level2Ready(): void {
    this.unprimable.clear();
    this.schedule();
  }

  /** A project file changed. A prime checks its own inputs before it runs; dropping them now spares that. */
  changed(): void {
    this.dropAll();
    this.unprimable.clear();
  }

  schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.next(), Primes.DELAY_MS);
  }

  private next(): void {
    if (this.host.busy()) return;
    const keys = this.recent.map(keyOf);
    for (const old of [...this.primes.values()].filter((p) => !p.run && (!keys.includes(p.key) || p.owner.destroyed))) this.drop(old);
    const waiting = [...this.primes.values()].filter((p) => !p.run);
    if (waiting.some((p) => !p.ready)) return;
    for (const body of [...this.recent].reverse()) {
      const key = keyOf(body);
      if (this.unprimable.has(key) || waiting.some((p) => p.key === key)) continue;
      const owner = this.host.ownerFor(body);
      if (!owner || owner.destroyed) continue;
      const id = `p${++this.seq}`;
      let settle!: () => void;
      const settled = new Promise<void>((resolve) => { settle = resolve; });
      this.primes.set(id, { id, key, owner, ready: false, confirmed: false, output: [], events: [], open: new Set(), settled, settle });
      owner.write(JSON.stringify({ t: 'prime', id, ...body }) + '\n');
      return;
    }
  }

  /** The primes of `owner` that no run has claimed. */
  private waiting(owner: net.Socket): Array<Prime<R>> {
    return [...this.primes.values()].filter((p) => !p.run && p.owner === owner);
  }

  private find(body: RunBody, owner: net.Socket): Prime<R> | undefined {
    const key = keyOf(body);
    return this.waiting(owner).find((p) => p.key === key);
  }

  /**
   * A request whose prime is still being prepared does not wait for it: a run must never be
   * slower than a fresh fork because of priming. The prime is stopped, so it does not
   * compete with the run for the CPU either.
   */
  dropUnready(body: RunBody): void {
    const key = keyOf(body);
    for (const prime of [...this.primes.values()]) if (!prime.run && !prime.ready && prime.key === key) this.drop(prime);
  }

  /** Whether `owner` holds a ready prime for `body`. */
  readyOn(body: RunBody, owner: net.Socket): boolean {
    return !!this.find(body, owner)?.ready;
  }

  /** The ready prime for `body` on `owner`, now reserved for `run`. */
  claim(body: RunBody, owner: net.Socket, run: R): Prime<R> | undefined {
    const prime = this.find(body, owner);
    if (!prime?.ready) return undefined;
    prime.run = run;
    return prime;
  }

  /** Level 2 started the claimed prime (`primed`), or found it stale and forked afresh. */
  confirm(run: R, prime: Prime<R>, primed: boolean): boolean {
    this.primes.delete(prime.id);
    if (!primed) {
      for (const s of prime.open) s.destroy();
      return false;
    }
    prime.confirmed = true;
    for (const s of prime.open) run.streams.add(s);
    for (const data of prime.output.splice(0)) run.sink.output(data);
    for (const event of prime.events.splice(0)) this.host.event(run, event);
    return true;
  }

  /** A prime's "out" or "events" connection. */
  attach(sock: net.Socket, kind: 'out' | 'events', id: string, rest: string): void {
    const prime = this.primes.get(id);
    if (!prime) return void sock.destroy();
    prime.open.add(sock);
    if (kind === 'out') {
      sock.setEncoding('utf8');
      const onData = (data: string) => (prime.confirmed ? prime.run!.sink.output(data) : prime.output.push(data));
      if (rest) onData(rest);
      sock.on('data', onData);
    } else {
      readLines(sock, rest, (event) => {
        if (event.t === 'primed') {
          prime.ready = true;
          prime.settle();
          this.schedule();
        } else if (prime.confirmed) {
          this.host.event(prime.run!, event);
        } else {
          prime.events.push(event);
        }
      });
    }
    sock.on('close', () => {
      prime.open.delete(sock);
      if (prime.confirmed) {
        prime.run!.streams.delete(sock);
        this.host.streamClosed(prime.run!);
      } else if (!prime.run && this.primes.has(prime.id)) {
        // It gave up: its request cannot be prepared ahead, until something changes.
        this.unprimable.add(prime.key);
        this.drop(prime);
        this.schedule();
      }
    });
  }

  /** A claimed prime whose run is abandoned before level 2 answered. */
  forget(prime: Prime<R>): void {
    if (prime.confirmed) return;
    for (const s of prime.open) s.destroy();
    this.primes.delete(prime.id);
  }

  private drop(prime: Prime<R>): void {
    prime.settle();
    if (!this.primes.delete(prime.id)) return;
    for (const s of prime.open) s.destroy();
    if (!prime.owner.destroyed) prime.owner.write(JSON.stringify({ t: 'unprime', id: prime.id }) + '\n');
  }

  /** A level 2 is going: its primes go with it. */
  dropOwner(owner: net.Socket): void {
    for (const prime of [...this.primes.values()]) if (!prime.run && prime.owner === owner) this.drop(prime);
  }

  dropAll(): void {
    for (const prime of [...this.primes.values()]) if (!prime.run) this.drop(prime);
  }

  close(): void {
    clearTimeout(this.timer);
  }
}
