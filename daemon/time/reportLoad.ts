import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HeavyConfig } from '../project/config';
import { after, blockOptions, toBlocks } from './blocks';
import { buildReport, type ReportData, type ReportRecord, type UncementedSpan } from './report';
import { cementedThrough, readLedgerLines, readRunningLog } from './store';
import { verifyLedgers } from './verify';

/**
 * Reads what the report shows: every committed ledger, verified, and the uncemented time
 * in this machine's running logs. Shared by the editor's webview and `heavy time report --html`.
 */
export function loadReport(root: string, config: HeavyConfig['time'], options: { now?: number; since?: number; days?: number } = {}): ReportData {
  const now = options.now ?? Date.now();
  const dir = path.join(root, '.heavy', 'time');
  const records: ReportRecord[] = [];
  const ledgers = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort() : [];
  for (const name of ledgers) {
    for (const line of readLedgerLines(path.join(dir, name))) {
      try {
        const r = JSON.parse(line) as ReportRecord;
        if (typeof r.start === 'string' && typeof r.end === 'string' && Date.parse(r.end) >= (options.since ?? 0)) records.push(r);
      } catch { /* verify reports it */ }
    }
  }
  const uncemented: UncementedSpan[] = [];
  const runningDir = path.join(dir, '.running');
  const block = blockOptions(config);
  for (const name of fs.existsSync(runningDir) ? fs.readdirSync(runningDir).filter((f) => f.endsWith('.jsonl')) : []) {
    const user = name.slice(0, -'.jsonl'.length);
    const log = readRunningLog(path.join(runningDir, name));
    const through = cementedThrough(readLedgerLines(path.join(dir, name)));
    for (const b of after(toBlocks(log.activity, { ...block, paused: log.paused }, now), through)) {
      uncemented.push({ user, branch: b.branch, start: b.start, end: b.end });
    }
  }
  const verified = verifyLedgers(dir, now);
  const users = Object.values(verified.users);
  return buildReport({
    records,
    uncemented,
    now,
    days: options.days,
    verify: {
      problems: verified.problems.length,
      records: users.reduce((n, u) => n + u.records, 0),
      imported: users.reduce((n, u) => n + u.imported, 0),
      witnessed: users.reduce((n, u) => n + u.witnessed, 0),
      witnessChecked: verified.witness,
    },
  });
}
