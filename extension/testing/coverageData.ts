// Pure conversion of the daemon's coverage (coverage.py, measured inside the forked run)
// into what the Testing view shows: counts, lines with their branches, and per test.
// No vscode import: register.ts turns these into FileCoverage / StatementCoverage.
import type { FileCoverageData } from '../../daemon/protocol';

export interface Count { covered: number; total: number }

export interface LineDetail {
  /** 1-based. */
  line: number;
  executed: boolean;
  /** coverage.py counts a line's branches and those taken. */
  branches?: { total: number; taken: number };
  /** Where each branch goes and whether it was taken, when coverage.py can tell; in source order. */
  targets?: BranchTarget[];
}

export interface BranchTarget {
  /** 1-based line the branch jumps to; undefined when it leaves the function. */
  to?: number;
  taken: boolean;
  /** What the Testing view shows on hover, in coverage.py's words. */
  label: string;
}

export function branchTarget(from: number, to: number, taken: boolean): BranchTarget {
  if (to < 0) return { taken, label: `line ${from} ${taken ? 'exited' : 'never exited'} the function` };
  return { to, taken, label: `line ${from} ${taken ? 'jumped' : 'never jumped'} to line ${to}` };
}

export interface FileSummary {
  statements: Count;
  /** Only when the run measured branches and the file has any. */
  branches?: Count;
  /** Node ids of the tests that ran at least one line of the file (per-test runs only), sorted. */
  tests: string[];
}

export function summarize(data: FileCoverageData): FileSummary {
  const executed = new Set(data.executed);
  const statements = { covered: data.statements.filter((l) => executed.has(l)).length, total: data.statements.length };
  let branches: Count | undefined;
  if (data.branches) {
    branches = { covered: 0, total: 0 };
    for (const [total, taken] of Object.values(data.branches)) {
      branches.total += total;
      branches.covered += Math.min(taken, total);
    }
    if (!branches.total) branches = undefined;
  }
  return { statements, ...(branches ? { branches } : {}), tests: testsOf(data) };
}

/** Every executable line, in order, with whether it ran and its branch counts (when measured). */
export function lineDetails(data: FileCoverageData): LineDetail[] {
  const executed = new Set(data.executed);
  return [...data.statements].sort((a, b) => a - b).map((line) => {
    const b = data.branches?.[String(line)];
    const t = data.branchTargets?.[String(line)];
    return {
      line,
      executed: executed.has(line),
      ...(b && b[0] > 0 ? { branches: { total: b[0], taken: Math.min(b[1], b[0]) } } : {}),
      ...(b && b[0] > 0 && t?.length ? { targets: t.map(([to, taken]) => branchTarget(line, to, taken)) } : {}),
    };
  });
}

/** The lines `nodeid` ran (per-test coverage: coverage.py's context for that test), in order. */
export function linesForTest(data: FileCoverageData, nodeid: string): number[] {
  const out: number[] = [];
  for (const [line, ids] of Object.entries(data.tests ?? {})) if (ids.includes(nodeid)) out.push(Number(line));
  return out.sort((a, b) => a - b);
}

/** One test's coverage of the file: only the lines it ran, each executed (branches are not measured per test). */
export function lineDetailsForTest(data: FileCoverageData, nodeid: string): LineDetail[] {
  return linesForTest(data, nodeid).map((line) => ({ line, executed: true }));
}

/** Node ids of the tests that ran any line of the file, sorted. */
export function testsOf(data: FileCoverageData): string[] {
  const ids = new Set<string>();
  for (const list of Object.values(data.tests ?? {})) for (const id of list) if (id) ids.add(id);
  return [...ids].sort();
}
