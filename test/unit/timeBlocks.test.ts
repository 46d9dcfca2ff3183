import * as assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, seconds, toBlocks, type Activity } from '../../daemon/time/blocks';
import { canonical, keyId, lineHash, signatureValid, signRecord } from '../../daemon/time/ledger';

const MIN = 60_000;
const T0 = Date.parse('2026-11-24T09:00:00Z');
const opts = { idleMs: 5 * MIN, paddingMs: 1 * MIN };
const at = (minutes: number, branch = 'main', file = 'a.py'): Activity => ({ at: T0 + minutes * MIN, branch, file });
const span = (b: { start: number; end: number }) => [(b.start - T0) / MIN, (b.end - T0) / MIN];
const LATER = T0 + 24 * 60 * MIN;

describe('time blocks', () => {
  it('pads one activity by a minute each side', () => {
    const blocks = toBlocks([at(0)], opts, LATER);
    assert.deepEqual(blocks.map(span), [[-1, 1]]);
    assert.equal(seconds(blocks), 120);
  });

  it('keeps activity within the idle limit in one block, and counts no gap twice', () => {
    const blocks = toBlocks([at(0), at(2), at(4.5), at(9)], opts, LATER);
    assert.deepEqual(blocks.map(span), [[-1, 10]]);
    assert.equal(seconds(blocks), 11 * 60);
  });

  it('splits at the idle boundary: exactly 5 minutes continues, just over ends the block', () => {
    assert.deepEqual(toBlocks([at(0), at(5)], opts, LATER).map(span), [[-1, 6]]);
    assert.deepEqual(toBlocks([at(0), at(5.01)], opts, LATER).map(span), [[-1, 1], [4.01, 6.01]]);
  });

  it('a 5–10 minute gap is two blocks whose padding is counted once (ptyme-track counted it twice)', () => {
    for (const gap of [6, 7.5, 9.9]) {
      const blocks = toBlocks([at(0), at(gap)], opts, LATER);
      assert.equal(blocks.length, 2, `gap ${gap}`);
      assert.equal(seconds(blocks), 4 * 60, `gap ${gap}: two padded minutes each side, nothing else`);
    }
  });

  it('overlapping padding is the exact union, never double counted', () => {
    const wide = { idleMs: 2 * MIN, paddingMs: 3 * MIN };
    const blocks = toBlocks([at(0), at(4)], wide, LATER);
    // Windows [-3, 3] and [1, 7]: union 10 minutes, not 12.
    assert.equal(seconds(blocks), 10 * 60);
    for (let i = 1; i < blocks.length; i++) assert.ok(blocks[i].start >= blocks[i - 1].end);
  });

  it('splits a block where the branch changes, without overlap', () => {
    const blocks = toBlocks([at(0, 'main'), at(2, 'main'), at(3, 'feature'), at(4, 'feature')], opts, LATER);
    assert.deepEqual(blocks.map((b) => b.branch), ['main', 'feature']);
    assert.deepEqual(blocks.map(span), [[-1, 3], [3, 5]]);
  });

  it('counts distinct files and leaves a recent block open up to now', () => {
    const now = T0 + 0.5 * MIN;
    const blocks = toBlocks([at(0, 'main', 'a.py'), at(0.2, 'main', 'b.py'), at(0.3, 'main', 'a.py')], opts, now);
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0].open, true);
    assert.deepEqual(blocks[0].files, ['a.py', 'b.py']);
    assert.deepEqual(span(blocks[0]), [-1, 0.5]);
  });

  it('ignores activity while paused and ends the block at the pause', () => {
    const paused = [{ from: T0 + 2 * MIN, to: T0 + 10 * MIN }];
    const blocks = toBlocks([at(0), at(1.5), at(3), at(6)], { ...opts, paused }, LATER);
    assert.deepEqual(blocks.map(span), [[-1, 2]]);
  });

  it('after() keeps only what is not cemented yet', () => {
    const blocks = toBlocks([at(0), at(2), at(20)], opts, LATER);
    assert.deepEqual(after(blocks, T0 + 1 * MIN).map(span), [[1, 3], [19, 21]]);
  });
});

describe('ledger records', () => {
  it('signs the canonical form; any change breaks the signature', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const record = signRecord({ v: 1, user: 'alice', key: keyId(publicKey), start: 'a', end: 'b', seconds: 60, branch: 'main', files: 2 }, privateKey);
    assert.ok(signatureValid(record, publicKey));
    assert.ok(!signatureValid({ ...record, seconds: 61 }, publicKey));
    assert.ok(!signatureValid(record, generateKeyPairSync('ed25519').publicKey));
    assert.equal(canonical({ b: 1, a: [1, { d: 2, c: 3 }] }), '{"a":[1,{"c":3,"d":2}],"b":1}');
    assert.match(lineHash('x'), /^[0-9a-f]{64}$/);
  });
});
