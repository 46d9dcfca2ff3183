import * as fs from 'node:fs';
import * as path from 'node:path';
import { activityHash, coSignatureValid } from './witness';
import { lineHash, parsePublicKeys, signatureValid, type LedgerRecord } from './ledger';

export interface VerifyProblem {
  file: string;
  line: number;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  problems: VerifyProblem[];
  users: Record<string, { seconds: number; records: number; imported: number; witnessed: number; branches: Record<string, number> }>;
  /** True when .heavy/time/witness.pub is committed, so co-signatures are checked. */
  witness: boolean;
}

/** How far the witness's clock may be from the tracker's for the same activity. */
const WITNESS_SKEW_MS = 120_000;

const CONFLICT = /^(<{7}|={7}|>{7})( |$)/;

/** Checks every `.heavy/time/*.jsonl` against the committed public keys. */
export function verifyLedgers(timeDir: string, now = Date.now()): VerifyReport {
  const problems: VerifyProblem[] = [];
  const users: VerifyReport['users'] = {};
  const witnessKeyFile = path.join(timeDir, 'witness.pub');
  const witnessKeys = fs.existsSync(witnessKeyFile) ? parsePublicKeys(fs.readFileSync(witnessKeyFile, 'utf8')) : undefined;
  const files = fs.existsSync(timeDir) ? fs.readdirSync(timeDir).filter((f) => f.endsWith('.jsonl')).sort() : [];
  for (const name of files) {
    const file = path.join(timeDir, name);
    const rel = path.join('.heavy', 'time', name);
    const user = name.slice(0, -'.jsonl'.length);
    const problem = (line: number, reason: string) => problems.push({ file: rel, line, reason });
    const keyFile = path.join(timeDir, 'keys', `${user}.pub`);
    const keys = fs.existsSync(keyFile) ? parsePublicKeys(fs.readFileSync(keyFile, 'utf8')) : new Map();
    if (!keys.size) problem(0, `no public key for user "${user}": .heavy/time/keys/${user}.pub is missing or empty (run heavy time cement as ${user} to add it)`);
    const totals = (users[user] ??= { seconds: 0, records: 0, imported: 0, witnessed: 0, branches: {} });
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    let previous: string | undefined;
    const spans: Array<{ start: number; end: number; line: number }> = [];
    lines.forEach((text, i) => {
      const n = i + 1;
      if (CONFLICT.test(text)) {
        problem(n, 'merge conflict marker: keep the lines of both sides in the order they were written, remove the markers, and check again');
        previous = text;
        return;
      }
      let record: LedgerRecord;
      try {
        record = JSON.parse(text);
      } catch {
        problem(n, 'not a JSON record');
        previous = text;
        return;
      }
      if (i === 0 && record.prev !== undefined) problem(n, 'the first record has "prev": records before it were deleted');
      if (i > 0 && record.prev !== lineHash(previous!)) problem(n, 'chain broken: "prev" is not the hash of the line before (a line was edited, deleted or reordered)');
      previous = text;
      if (record.user !== user) problem(n, `record of user "${record.user}" in ${user}'s file`);
      const key = keys.get(record.key);
      if (!key) problem(n, `key ${record.key} is not one of ${user}'s public keys`);
      else if (!signatureValid(record, key)) problem(n, 'bad signature: the record was changed after it was signed, or signed with another key');
      const start = Date.parse(record.start);
      const end = Date.parse(record.end);
      if (!(start < end)) problem(n, 'start is not before end');
      if (end > now + 60_000) problem(n, 'ends in the future');
      if (Math.abs((end - start) / 1000 - record.seconds) > 1) problem(n, '"seconds" does not match start and end');
      if (witnessKeys && record.witness?.length) {
        let ok = true;
        for (const w of record.witness) {
          const key = witnessKeys.get(w.key);
          const h = activityHash(record.user, w.a, record.branch, w.f);
          const why = !key ? `witness key ${w.key} is not in .heavy/time/witness.pub`
            : !coSignatureValid({ h, at: w.at, key: w.key, sig: w.sig }, key) ? 'witness co-signature does not match the activity'
            // Records are stored to the second; the activity itself has milliseconds.
            : w.a < start || w.a >= end + 1000 ? 'witnessed activity lies outside the block'
            : Math.abs(Date.parse(w.at) - w.a) > WITNESS_SKEW_MS ? `the witness saw this activity at ${w.at}, not at ${new Date(w.a).toISOString()} (backdated?)`
            : undefined;
          if (why) {
            problem(n, why);
            ok = false;
          }
        }
        if (ok) totals.witnessed++;
      }
      spans.push({ start, end, line: n });
      totals.records++;
      if (record.imported) totals.imported++;
      totals.seconds += record.seconds;
      totals.branches[record.branch] = (totals.branches[record.branch] ?? 0) + record.seconds;
    });
    spans.sort((a, b) => a.start - b.start);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i].start < spans[i - 1].end) problem(spans[i].line, `overlaps the block at line ${spans[i - 1].line}`);
    }
  }
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { ok: problems.length === 0, problems, users, witness: !!witnessKeys };
}
