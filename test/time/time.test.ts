import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { keyId, recordLine, signRecord } from '../../daemon/time/ledger';
import { heavyAsync, heavySync, waitFor } from '../helpers/project';

const MIN = 60_000;

function project(timeConfig = 'enabled = true\nuser = "alice"\n'): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-time-'));
  spawnSync('git', ['init', '-q', '-b', 'main'], { cwd: root });
  fs.writeFileSync(path.join(root, 'pyproject.toml'), `[project]\nname = "timed"\n\n[tool.heavy.time]\n${timeConfig}`);
  fs.mkdirSync(path.join(root, 'src'));
  return root;
}

const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-keys-'));
const env = { HEAVY_CONFIG_DIR: keysDir };
const heavy = (args: string[], root: string) => heavySync(args, root, env);
const status = (root: string, user = 'alice') => JSON.parse(heavy(['time', 'status', '--json', '--user', user], root).stdout);
const verify = (root: string) => {
  const r = heavy(['time', 'verify', '--json'], root);
  return { code: r.code, report: JSON.parse(r.stdout) };
};

/** Activity as the tracker writes it, hours ago, so cement has finished blocks to sign. */
function pastActivity(root: string, user: string, minutesAgo: number[], branch = 'main'): void {
  const file = path.join(root, '.heavy', 'time', '.running', `${user}.jsonl`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const now = Date.now();
  for (const m of minutesAgo) fs.appendFileSync(file, JSON.stringify({ t: 'a', at: now - m * MIN, b: branch, f: `src/${m}.py` }) + '\n');
}

function ledgerWithBlocks(): string {
  const root = project('user = "alice"\n');
  pastActivity(root, 'alice', [300, 298, 240, 238, 180, 120]);
  assert.equal(heavy(['time', 'cement'], root).code, 0);
  pastActivity(root, 'bob', [400, 100]);
  assert.equal(heavy(['time', 'cement', '--user', 'bob'], root).code, 0);
  return root;
}

function tamperedCopy(source: string, edit: (dir: string) => void): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-tamper-'));
  fs.cpSync(path.join(source, '.heavy'), path.join(root, '.heavy'), { recursive: true });
  fs.copyFileSync(path.join(source, 'pyproject.toml'), path.join(root, 'pyproject.toml'));
  edit(path.join(root, '.heavy', 'time'));
  return root;
}

const lines = (file: string) => fs.readFileSync(file, 'utf8').trimEnd().split('\n');
const write = (file: string, ls: string[]) => fs.writeFileSync(file, ls.join('\n') + '\n');

describe('time tracking', function () {
  this.timeout(120000);
  const daemons: string[] = [];
  after(() => {
    for (const root of daemons) heavy(['daemon', 'stop', '--root', root], root);
  });

  it('end to end with the daemon: edits make an open block; cement signs it; verify passes', async () => {
    const root = project();
    daemons.push(root);
    assert.equal(heavy(['daemon', 'start'], root).code, 0);
    await waitFor(() => status(root).tracking === true, 20000, 'the daemon to track time');
    fs.writeFileSync(path.join(root, 'src', 'app.py'), 'x = 1\n');
    fs.writeFileSync(path.join(root, 'README.md'), 'hello\n');
    await waitFor(() => status(root).active === true, 20000, 'an open block');
    const s = status(root);
    assert.equal(s.branch, 'main');
    assert.ok(s.todaySeconds > 0 && s.uncementedSeconds > 0, JSON.stringify(s));
    assert.equal(fs.readFileSync(path.join(root, '.heavy', '.gitignore'), 'utf8').includes('time/.running/'), true);

    const cemented = heavy(['time', 'cement'], root);
    assert.equal(cemented.code, 0, cemented.stderr);
    assert.match(cemented.stdout, /cemented 1 block/);
    const record = JSON.parse(lines(path.join(root, '.heavy', 'time', 'alice.jsonl'))[0]);
    assert.equal(record.user, 'alice');
    assert.equal(record.branch, 'main');
    assert.equal(record.files, 2);
    assert.equal(record.prev, undefined);
    for (const key of ['v', 'key', 'start', 'end', 'seconds', 'sig']) assert.ok(key in record, key);
    assert.equal(fs.statSync(path.join(keysDir, 'keys', 'alice.ed25519.pem')).mode & 0o777, 0o600);
    assert.ok(fs.readFileSync(path.join(root, '.heavy', 'time', 'keys', 'alice.pub'), 'utf8').startsWith(`ed25519 ${record.key} `));
    assert.match(heavy(['time', 'cement'], root).stdout, /nothing new to cement/);
    const v = heavy(['time', 'verify'], root);
    assert.equal(v.code, 0, v.stdout);
    assert.match(v.stdout, /alice: 0h0\dm in 1 block/);
    assert.match(v.stdout, /time logs verified/);
  });

  describe('verify catches tampering at the right line', () => {
    let source: string;
    before(() => {
      source = ledgerWithBlocks();
      const v = verify(source);
      assert.equal(v.code, 0, JSON.stringify(v.report.problems));
      assert.equal(lines(path.join(source, '.heavy', 'time', 'alice.jsonl')).length, 4);
    });
    const first = (root: string) => {
      const v = verify(root);
      assert.equal(v.code, 1, 'verify fails');
      return v.report.problems[0] as { file: string; line: number; reason: string };
    };

    it('a changed digit', () => {
      const p = first(tamperedCopy(source, (dir) => {
        const ls = lines(path.join(dir, 'alice.jsonl'));
        ls[1] = ls[1].replace(/"seconds":(\d)/, (_m, d) => `"seconds":${(Number(d) + 1) % 10}`);
        write(path.join(dir, 'alice.jsonl'), ls);
      }));
      assert.deepEqual([p.file, p.line], [path.join('.heavy', 'time', 'alice.jsonl'), 2]);
      assert.match(p.reason, /bad signature|"seconds" does not match/);
    });

    it('the first line deleted', () => {
      const p = first(tamperedCopy(source, (dir) => write(path.join(dir, 'alice.jsonl'), lines(path.join(dir, 'alice.jsonl')).slice(1))));
      assert.equal(p.line, 1);
      assert.match(p.reason, /first record has "prev"/);
    });

    it('a middle line deleted', () => {
      const p = first(tamperedCopy(source, (dir) => {
        const ls = lines(path.join(dir, 'alice.jsonl'));
        write(path.join(dir, 'alice.jsonl'), [ls[0], ...ls.slice(2)]);
      }));
      assert.equal(p.line, 2);
      assert.match(p.reason, /chain broken/);
    });

    it('lines reordered', () => {
      const p = first(tamperedCopy(source, (dir) => {
        const ls = lines(path.join(dir, 'alice.jsonl'));
        write(path.join(dir, 'alice.jsonl'), [ls[0], ls[2], ls[1], ls[3]]);
      }));
      assert.equal(p.line, 2);
      assert.match(p.reason, /chain broken/);
    });

    it("a record copied into another user's file", () => {
      const v = verify(tamperedCopy(source, (dir) => {
        const bob = lines(path.join(dir, 'bob.jsonl'));
        write(path.join(dir, 'bob.jsonl'), [...bob, lines(path.join(dir, 'alice.jsonl'))[1]]);
      }));
      assert.equal(v.code, 1);
      const p = v.report.problems.find((x: any) => /record of user "alice" in bob's file/.test(x.reason));
      assert.ok(p, JSON.stringify(v.report.problems));
      assert.deepEqual([p.file, p.line], [path.join('.heavy', 'time', 'bob.jsonl'), 3]);
    });

    it('a signature forged with another key', () => {
      const forger = generateKeyPairSync('ed25519');
      for (const claimedKey of ['own', 'alice']) {
        const p = first(tamperedCopy(source, (dir) => {
          const ls = lines(path.join(dir, 'alice.jsonl'));
          const { sig: _s, ...rest } = JSON.parse(ls[3]);
          const forged = signRecord({ ...rest, seconds: rest.seconds, key: claimedKey === 'own' ? keyId(forger.publicKey) : rest.key }, forger.privateKey);
          ls[3] = recordLine(forged);
          write(path.join(dir, 'alice.jsonl'), ls);
        }));
        assert.equal(p.line, 4, claimedKey);
        assert.match(p.reason, claimedKey === 'own' ? /is not one of alice's public keys/ : /bad signature/);
      }
    });

    it('a merge conflict marker, and a missing public key', () => {
      const p = first(tamperedCopy(source, (dir) => {
        const ls = lines(path.join(dir, 'alice.jsonl'));
        write(path.join(dir, 'alice.jsonl'), [ls[0], '<<<<<<< HEAD', ls[1], '=======', ls[2], '>>>>>>> other', ls[3]]);
      }));
      assert.equal(p.line, 2);
      assert.match(p.reason, /merge conflict marker: keep the lines/);
      const v = verify(tamperedCopy(source, (dir) => fs.rmSync(path.join(dir, 'keys', 'bob.pub'))));
      assert.ok(v.report.problems.some((x: any) => /no public key for user "bob"/.test(x.reason)));
    });
  });

  it('pause and resume: time while paused is not counted; report totals per user, day and branch', () => {
    const root = project('user = "alice"\n');
    const running = path.join(root, '.heavy', 'time', '.running', 'alice.jsonl');
    assert.equal(heavy(['time', 'pause'], root).code, 0);
    assert.equal(status(root).paused, true);
    assert.equal(heavy(['time', 'resume'], root).code, 0);
    assert.equal(status(root).paused, false);
    fs.writeFileSync(running, '');
    const now = Date.now();
    const entry = (e: object) => fs.appendFileSync(running, JSON.stringify(e) + '\n');
    entry({ t: 'a', at: now - 60 * MIN, b: 'main', f: 'a.py' });
    entry({ t: 'pause', at: now - 59 * MIN });
    entry({ t: 'a', at: now - 55 * MIN, b: 'main', f: 'a.py' }); // while paused: not counted (else main would run to -54)
    entry({ t: 'resume', at: now - 50 * MIN });
    entry({ t: 'a', at: now - 30 * MIN, b: 'feature', f: 'b.py' });
    assert.equal(heavy(['time', 'cement'], root).code, 0);
    const records = lines(path.join(root, '.heavy', 'time', 'alice.jsonl')).map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => [r.branch, r.seconds]), [['main', 120], ['feature', 120]]);
    const report = JSON.parse(heavy(['time', 'report', '--json'], root).stdout);
    assert.equal(report.alice.total, 240);
    assert.deepEqual(report.alice.branches, { main: 120, feature: 120 });
    assert.equal(Object.values(report.alice.days as Record<string, number>).reduce((a, b) => a + b, 0), 240);
    const since = JSON.parse(heavy(['time', 'report', '--json', '--since', '2999-01-01'], root).stdout);
    assert.deepEqual(since, {});
  });

  it('the witness co-signs activity, and verify catches a block moved to another time', async () => {
    const w = heavyAsync(['time', 'witness', '--port', '0'], os.tmpdir());
    try {
      await waitFor(() => /listening on (http:\S+)[\s\S]*\ned25519 /.test(w.output()), 20000, 'the witness');
      const url = /listening on (http:\S+)/.exec(w.output())![1];
      const witnessKey = /\n(ed25519 .+)\n/.exec(w.output())![1];
      const root = project(`user = "alice"\nwitness_url = "${url}"\n`);
      const running = path.join(root, '.heavy', 'time', '.running', 'alice.jsonl');
      const t = heavyAsync(['time', 'track'], root);
      await waitFor(() => /tracking time for alice/.test(t.output()), 20000, 'the tracker');
      fs.writeFileSync(path.join(root, 'src', 'a.py'), '1\n');
      await waitFor(() => fs.existsSync(running) && fs.readFileSync(running, 'utf8').includes('"t":"w"'), 10000, 'a co-signature');
      t.child.kill('SIGTERM');
      await t.done;
      assert.equal(heavy(['time', 'cement'], root).code, 0);
      fs.writeFileSync(path.join(root, '.heavy', 'time', 'witness.pub'), witnessKey + '\n');
      const ok = heavy(['time', 'verify'], root);
      assert.equal(ok.code, 0, ok.stdout);
      assert.match(ok.stdout, /alice: .* 1 block\(s\), 1 witnessed/);

      // The key holder re-signs the block three hours earlier: signature and chain are fine,
      // the witness's clock is not.
      const ledger = path.join(root, '.heavy', 'time', 'alice.jsonl');
      const { sig: _s, ...record } = JSON.parse(lines(ledger)[0]);
      const shift = 3 * 60 * MIN;
      const moved = { ...record, start: new Date(Date.parse(record.start) - shift).toISOString(), end: new Date(Date.parse(record.end) - shift).toISOString(),
        witness: record.witness.map((x: any) => ({ ...x, a: x.a - shift })) };
      const { createPrivateKey } = await import('node:crypto');
      const key = createPrivateKey(fs.readFileSync(path.join(keysDir, 'keys', 'alice.ed25519.pem')));
      write(ledger, [recordLine(signRecord(moved, key))]);
      const v = verify(root);
      assert.equal(v.code, 1);
      assert.equal(v.report.problems[0].line, 1);
      assert.match(v.report.problems[0].reason, /witness co-signature does not match|backdated/);
    } finally {
      w.child.kill('SIGTERM');
      await w.done;
    }
  });

  it('imports ptyme-track records as blocks marked imported', () => {
    const root = project('');
    const ptyme = path.join(root, 'JamesH');
    const rec = (time: string, stop = false) => JSON.stringify({ time, signed_time: { server_id: 'x', time, sig: 'y' }, hash: 'h', stop });
    fs.writeFileSync(ptyme, [rec('2026-05-24 20:33:23'), rec('2026-05-24 20:35:23'), rec('2026-05-24 20:37:23', true), 'garbage', rec('2026-05-24 22:00:00')].join('\n') + '\n');
    const r = heavy(['time', 'import-ptyme', ptyme], root);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /JamesH:4: not a ptyme-track record/);
    const records = lines(path.join(root, '.heavy', 'time', 'JamesH.jsonl')).map((l) => JSON.parse(l));
    assert.deepEqual(records.map((x) => [x.start, x.end, x.imported]), [
      ['2026-05-24T20:32:23.000Z', '2026-05-24T20:36:23.000Z', true],
      ['2026-05-24T21:59:00.000Z', '2026-05-24T22:01:00.000Z', true],
    ]);
    const v = heavy(['time', 'verify'], root);
    assert.equal(v.code, 0, v.stdout);
    assert.match(v.stdout, /JamesH: 0h06m in 2 block\(s\) \(2 imported, not verified\)/);
    assert.match(heavy(['time', 'import-ptyme', ptyme], root).stdout, /imported 0 block/);
  });

  it('rejects a user name that cannot be a file name', () => {
    const root = project('');
    const r = heavy(['time', 'status', '--user', '../evil'], root);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the user "..\/evil" \(from --user\) cannot be a file name/);
  });

  it('a tracker killed with kill -9 loses and duplicates nothing after a restart', async () => {
    const root = project('user = "alice"\n');
    const running = path.join(root, '.heavy', 'time', '.running', 'alice.jsonl');
    const t1 = heavyAsync(['time', 'track'], root);
    await waitFor(() => /tracking time for alice/.test(t1.output()), 20000, 'the tracker');
    fs.writeFileSync(path.join(root, 'src', 'one.py'), '1\n');
    await waitFor(() => fs.existsSync(running) && lines(running).length >= 1, 10000, 'a running-log line');
    const second = heavy(['time', 'track'], root);
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /already tracked by process/);
    t1.child.kill('SIGKILL');
    await t1.done;
    // A write torn by a kill: skipped with a warning naming the line, the rest kept.
    fs.appendFileSync(running, '{"t":"a","at":17');
    const t2 = heavyAsync(['time', 'track'], root);
    await waitFor(() => /tracking time for alice/.test(t2.output()), 20000, 'the restarted tracker');
    fs.writeFileSync(path.join(root, 'src', 'two.py'), '2\n');
    await waitFor(() => lines(running).length >= 3, 10000, 'the second activity');
    t2.child.kill('SIGTERM');
    await t2.done;
    const s = heavy(['time', 'status', '--json'], root);
    assert.match(s.stderr, /alice\.jsonl:2: skipped a corrupted line/);
    assert.equal(heavy(['time', 'cement'], root).code, 0);
    const records = lines(path.join(root, '.heavy', 'time', 'alice.jsonl')).map((l) => JSON.parse(l));
    assert.equal(records.length, 1, 'one continuous block, not two');
    assert.equal(records[0].files, 2);
    assert.equal(verify(root).code, 0);
  });

  it('cement while the tracker records loses nothing and never overlaps', async () => {
    const root = project('user = "alice"\nidle_minutes = 0.05\npadding_minutes = 0\n');
    const t = heavyAsync(['time', 'track'], root);
    await waitFor(() => /tracking time for alice/.test(t.output()), 20000, 'the tracker');
    const writes: number[] = [];
    const started = Date.now();
    let i = 0;
    const writer = setInterval(() => {
      fs.writeFileSync(path.join(root, 'src', `f${i++}.py`), 'x\n');
      writes.push(Date.now());
    }, 100);
    try {
      for (let n = 0; n < 5; n++) {
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(heavy(['time', 'cement'], root).code, 0);
      }
    } finally {
      clearInterval(writer);
    }
    await new Promise((r) => setTimeout(r, 3500)); // past the idle limit: the block is finished
    assert.equal(heavy(['time', 'cement'], root).code, 0);
    t.child.kill('SIGTERM');
    await t.done;
    const records = lines(path.join(root, '.heavy', 'time', 'alice.jsonl')).map((l) => JSON.parse(l));
    assert.ok(records.length >= 2, `${records.length} records`);
    const v = verify(root);
    assert.equal(v.code, 0, JSON.stringify(v.report.problems));
    // Every write (after the watcher saw it) lies inside a cemented block.
    const spans = records.map((r) => [Date.parse(r.start), Date.parse(r.end)]);
    for (const w of writes.slice(0, -1)) {
      assert.ok(spans.some(([s, e]) => w >= s - 1000 && w <= e + 1000), `the write at +${w - started} ms is in a block`);
    }
    const total = records.reduce((n, r) => n + r.seconds, 0);
    const elapsed = (writes[writes.length - 1] - writes[0]) / 1000;
    assert.ok(total >= elapsed - 2 && total <= elapsed + 4, `${total}s cemented for ${elapsed}s of activity`);
  });
});
