import * as assert from 'node:assert/strict';
import { harFromEvents, type HarEntry, type JournalEvent } from '../../daemon/record/har';
import { SnapshotBuilder } from '../../daemon/record/snapshot';
import { getEntry } from './helpers';

// The recorder's running HAR is built from text kept per entry; it must be the document the
// journal gives (harFromEvents), whatever order entries completed in.

const at = (ms: number, url: string, session: string): HarEntry => ({ ...getEntry(url, ms), _session: session });

describe('the recorder\'s snapshot', () => {
  it('is the same HAR as the journal gives: entries by start time, a page per session, sockets open and closed', () => {
    const t0 = Date.parse('2026-12-02T10:00:00Z');
    const ws = { ...at(t0 + 50, 'ws://h/ws', '1'), _resourceType: 'websocket', time: 0 };
    const ws2 = { ...at(t0 + 60, 'ws://h/ws2', '2'), _resourceType: 'websocket', time: 0 };
    const events: JournalEvent[] = [
      { k: 'start', pid: 1 },
      // Completed out of start order: the slow request started first.
      { k: 'http', entry: at(t0 + 100, 'http://h/fast', '2') },
      { k: 'http', entry: at(t0 + 10, 'http://h/slow', '1') },
      { k: 'ws', id: 1, entry: ws },
      { k: 'ws', id: 2, entry: ws2 },
      { k: 'msg', id: 1, m: { type: 'send', time: (t0 + 70) / 1000, opcode: 1, data: 'hi' } },
      { k: 'msg', id: 2, m: { type: 'receive', time: (t0 + 900) / 1000, opcode: 1, data: 'still open' } },
      { k: 'wsend', id: 1, time: t0 + 500 },
      { k: 'http', entry: at(t0 + 100, 'http://h/same-start', '1') },
    ];
    const builder = new SnapshotBuilder();
    for (const e of events) builder.add(e);
    assert.deepEqual(JSON.parse(builder.text('v1')), harFromEvents(events, 'v1').har);
    const har = JSON.parse(builder.text('v1'));
    assert.deepEqual(har.log.entries.map((e: HarEntry) => new URL(e.request.url).pathname), ['/slow', '/ws', '/ws2', '/fast', '/same-start']);
    assert.equal(har.log.entries[1].time, 450);
    assert.equal(har.log.entries[2].time, 840, 'an open socket lasts until its last message');
  });

  it('with nothing recorded: a valid, empty HAR', () => {
    assert.deepEqual(JSON.parse(new SnapshotBuilder().text('v')).log, { version: '1.2', creator: { name: 'Heavy Dev', version: 'v' }, pages: [], entries: [] });
  });
});
