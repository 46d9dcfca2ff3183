import * as assert from 'node:assert/strict';
import { harFromEvents, type HarEntry, type JournalEvent } from '../../daemon/record/har';
import { recoverJournals } from '../../daemon/record/journal';
import { SnapshotBuilder } from '../../daemon/record/snapshot';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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

describe('a journal left behind', () => {
  it('is recovered when its pid now belongs to another process (started at another time), kept while its writer lives', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-journal-'));
    try {
      const line = JSON.stringify({ k: 'http', entry: getEntry('http://h/a', 0) });
      // process.ppid is alive, but not the recorder that wrote this (another start time).
      fs.writeFileSync(path.join(dir, 'reused.har.journal'), `${JSON.stringify({ k: 'start', pid: process.ppid, started: 'another-boot:1', host: os.hostname() })}\n${line}\n`);
      // A live writer whose start time is unknown: left alone.
      fs.writeFileSync(path.join(dir, 'live.har.journal'), `${JSON.stringify({ k: 'start', pid: process.ppid })}\n${line}\n`);
      // Another host's recorder in a shared folder: not ours to judge.
      fs.writeFileSync(path.join(dir, 'remote.har.journal'), `${JSON.stringify({ k: 'start', pid: 1, host: 'elsewhere.example' })}\n${line}\n`);
      const done = recoverJournals(dir, 't');
      assert.deepEqual(done.map((d) => [path.basename(d.file), d.requests]), [['reused.har', 1]]);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['live.har.journal', 'remote.har.journal', 'reused.har']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
