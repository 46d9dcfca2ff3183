// The one definition of what the extension, the CLI and the daemon say to each other.
// LSP framing (Content-Length headers) over a Unix socket or a named pipe; the daemon
// side is vscode-languageserver, clients use vscode-jsonrpc or vscode-languageclient.
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';

export type Outcome = 'passed' | 'failed' | 'error' | 'skipped' | 'xfailed' | 'xpassed';

export interface TestItem {
  nodeid: string;
  file: string;
  line: number;
  name: string;
}

export interface TestResult {
  nodeid: string;
  outcome: Outcome;
  /** Which phase produced it: setup, call or teardown. */
  when: string;
  duration: number;
  file: string;
  line: number;
  stdout?: string;
  stderr?: string;
  /** The failure as pytest prints it. */
  message?: string;
  failure?: { message: string; file: string; line: number };
  /** For a failed `assert a == b`: the two sides, as repr. */
  compare?: { op: string; actual: string; expected: string };
}

export interface RunParams {
  runId: string;
  /** Arguments for pytest, verbatim. */
  args: string[];
  color?: boolean;
  /** The client's working directory: pytest resolves paths and node ids from it. Default: the root. */
  cwd?: string;
  /** The client's environment; the project's .env fills in what it does not set. */
  env?: Record<string, string>;
  /** Seconds before a test that has not finished is stopped and reported; default from config. */
  timeout?: number;
  /** False when this request will not come again unchanged (heavy watch runs after each save): do not prime it. */
  repeatable?: boolean;
  /**
   * Absolute test files: collect only these, inside the selection `args` already make
   * (paths, --ignore, -k, -m, testpaths). heavy watch re-runs use it.
   */
  onlyFiles?: string[];
  /** Measure coverage (coverage.py, inside the run): branches too, and which test ran each line. */
  coverage?: { branch?: boolean; perTest?: boolean };
}

export interface FileCoverageData {
  /** Absolute path of a project source file. */
  file: string;
  /** Executable lines (1-based) and those that ran. */
  statements: number[];
  executed: number[];
  /** Line → [branches, branches taken], when branch coverage was asked for. */
  branches?: Record<string, [number, number]>;
  /** Line → [target line, taken] per branch (a negative target leaves the function), when coverage.py can tell. */
  branchTargets?: Record<string, Array<[number, boolean]>>;
  /** Line → node ids of the tests that ran it, when per-test coverage was asked for. */
  tests?: Record<string, string[]>;
}

export interface RunResult {
  runId: string;
  /** pytest's exit code (or 1 when a test crashed the run). */
  exitCode: number;
  results: TestResult[];
  /** Tests that crashed the process or timed out, reported as errors. */
  crashed?: { nodeid?: string; reason: string };
  durationMs: number;
  /** True when the warm parent had to be rebuilt and the run was retried. */
  retried?: boolean;
  /** True when pytest's configuration was parsed ahead, for a request identical to this one. */
  primed?: boolean;
  /** Test file (absolute) → the project source files its collection and tests imported (sys.modules), for dynamic imports the static graph misses. */
  imports?: Record<string, string[]>;
  /** Coverage of the project's source files, when the run asked for it. */
  coverage?: FileCoverageData[];
  /** Why coverage could not be measured, when it could not. */
  coverageError?: string;
  /** What the run collected (node ids with file and line). */
  items?: TestItem[];
  /** Which warm level the run was forked from ('cold' when no warm level matched its environment). */
  level?: 'project' | 'third-party' | 'pytest' | 'cold';
}

export interface DiscoverResult {
  items: TestItem[];
  exitCode: number;
  output: string;
}

export interface DaemonStatus {
  pid: number;
  root: string;
  /** Where it listens (a Unix socket in a 0700 folder, or a named pipe). */
  socket: string;
  version: string;
  uptimeSeconds: number;
  python?: string;
  pythonVersion?: string;
  pytestVersion?: string;
  warm: 'starting' | 'warm' | 'rebuilding' | 'failed';
  warmError?: string;
  /** Level 2: the project's own modules imported too ('warming' after a change, until re-imported). */
  projectWarm: 'ready' | 'warming' | 'none';
  /** Requests prepared ahead (primed) and waiting to be asked again. */
  primes: number;
  /** A worker started under the debugger (the Test Daemon profile) is attached and serves runs. */
  debugged: boolean;
  workerPid?: number;
  lastRebuild?: { at: string; seconds: number; reason: string };
  memory: { nodeRssBytes: number; workerRssBytes?: number; warmPrivateBytes?: number };
  /** Warm contexts: environments (and working folders) warm levels were built for, most recently used first. */
  contexts?: WarmContextStatus[];
  /** `primed`: runs whose pytest configuration was parsed ahead of the request. */
  runs: { active: number; queued: number; total: number; primed: number };
}

export interface WarmContextStatus {
  id: string;
  /** 'third-party' (level 1 only) or 'project' (levels 1 and 2). */
  levels: 'third-party' | 'project' | 'building';
  /** The environment variables its imports read, by name ('*' when they listed the whole environment). */
  reads: string[];
  cwd: string;
  runs: number;
  lastUsed: string;
  privateBytes?: number;
}

export interface FilesChanged {
  files: string[];
  /** Absolute test file paths, or 'all' when the change cannot be traced (config, data files). */
  affected: string[] | 'all';
}

export interface TimeStatus {
  user: string;
  /** A tracker (the daemon, or `heavy time track`) is recording, and not paused. */
  tracking: boolean;
  trackerPid?: number;
  paused: boolean;
  /** A block is open: the last activity is within the idle limit. */
  active: boolean;
  todaySeconds: number;
  branch: string;
  lastActivity?: string;
  uncementedSeconds: number;
  warnings: string[];
}

/** What the status bar needs, pushed by the daemon's tracker whenever it changes. */
export interface TimeSnapshot {
  status: TimeStatus;
  /** Why it was sent: a block opened, grew or closed, tracking paused, resumed or started, time was cemented. */
  reason: 'started' | 'opened' | 'grew' | 'closed' | 'paused' | 'resumed' | 'cemented' | 'changed' | 'asked';
  /** When the daemon took it (ISO 8601): the open block's time runs on from here. */
  at: string;
  /** While a block is open, today's time grows with the clock until this moment (last activity plus padding). */
  growsUntil?: string;
  /** Start of the oldest time not yet cemented (ISO 8601), if any. */
  uncementedSince?: string;
}

/** A run another client started (a `heavy test` in a terminal, another window), told to clients that follow runs. */
export interface RunStarted {
  runId: string;
  /** pytest's arguments, as the starter gave them. */
  args: string[];
  cwd?: string;
  /** 'terminal': the `heavy` CLI (no clientInfo); 'editor': an editor, named in `client`. */
  origin: 'terminal' | 'editor';
  client?: string;
}

/** The end of a run told with `runStarted`. */
export interface RunFinished {
  runId: string;
  exitCode: number;
  durationMs: number;
  crashed?: { nodeid?: string; reason: string };
}

export const Methods = {
  runTests: new RequestType<RunParams, RunResult, void>('heavy/runTests'),
  cancelRun: new NotificationType<{ runId: string; force?: boolean }>('heavy/cancelRun'),
  /** `repeatable`: as in RunParams (false for discovery that follows a save). */
  discover: new RequestType<{ args?: string[]; repeatable?: boolean }, DiscoverResult, void>('heavy/discover'),
  status: new RequestType0<DaemonStatus, void>('heavy/status'),
  shutdown: new RequestType0<void, void>('heavy/shutdownDaemon'),
  /** Editor → daemon: the user is typing or selecting in a project file (absolute path). */
  heartbeat: new NotificationType<{ file: string }>('heavy/heartbeat'),
  /** Time tracked today and whether a block is open, for the status bar. */
  timeStatus: new RequestType0<TimeStatus | null, void>('heavy/timeStatus'),
  /** Daemon → client: a run's terminal output, as it is written. */
  runOutput: new NotificationType<{ runId: string; data: string }>('heavy/runOutput'),
  /** Daemon → client: one test's result, as soon as it is known. */
  testResult: new NotificationType<{ runId: string; result: TestResult }>('heavy/testResult'),
  /** Daemon → client: project files changed; `affected` are the test files that can see it. */
  changed: new NotificationType<FilesChanged>('heavy/changed'),
  /** The time tracker's state for the status bar; null when this project does not track time. */
  timeSnapshot: new RequestType0<TimeSnapshot | null, void>('heavy/timeSnapshot'),
  /** Daemon → client: a time block opened, grew or closed, or tracking paused, resumed or was cemented. */
  timeChanged: new NotificationType<TimeSnapshot>('heavy/timeChanged'),
  /** Daemon → client: the daemon says something worth showing (rebuilds, crashes). */
  log: new NotificationType<{ message: string }>('heavy/log'),
  /**
   * Client → daemon: tell me about runs other clients start (`runStarted`, then their
   * `runOutput` and `testResult` under the same runId, then `runFinished`). The Testing view sends it.
   */
  followRuns: new NotificationType<{ follow: boolean }>('heavy/followRuns'),
  /** Daemon → following clients: another client started a run. */
  runStarted: new NotificationType<RunStarted>('heavy/runStarted'),
  /** Daemon → following clients: a run told with `runStarted` ended. */
  runFinished: new NotificationType<RunFinished>('heavy/runFinished'),
} as const;
