import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyExample } from '../helpers/project';
import { get, greetingEditor, serve, stop, type Served } from './helpers';

/** CPU seconds (user + system) `pid` has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;  // utime, stime (clock ticks; 100 a second on Linux)
}

// Where inotify cannot see (NFS, WSL's /mnt/c) the watcher polls. Polling must still reload,
// learn late third-party imports, and sleep between scans rather than spin.
describe('heavy serve with a polling watcher (HEAVY_WATCH_POLL=1)', function () {
  this.timeout(90000);
  let server: Served;
  let mainPy: string;
  let original: string;

  before(async () => {
    const root = copyExample({
      'app/late.py': [
        'from fastapi import APIRouter',
        '',
        'router = APIRouter()',
        '',
        '@router.get("/late")',
        'def late():',
        '    import httpx  # imported only once serving: the warm parent learns it',
        '    return {"httpx": httpx.__name__}',
        '',
      ].join('\n'),
    });
    mainPy = path.join(root, 'app', 'main.py');
    original = fs.readFileSync(mainPy, 'utf8') + '\nfrom app.late import router as late_router\napp.include_router(late_router)\n';
    fs.writeFileSync(mainPy, original);
    process.env.HEAVY_WATCH_POLL = '1';
    process.env.HEAVY_SERVE_TRACE = '1';
    try {
      server = await serve(root, ['serve']);
    } finally {
      delete process.env.HEAVY_WATCH_POLL;
      delete process.env.HEAVY_SERVE_TRACE;
    }
    await server.waitOutput(/serving app\.main:app/, 1, 60000);
  });

  after(async () => {
    if (server) await stop(server);
  });

  it('learns a late import, then idles (no busy loop), and a save still reloads', async () => {
    assert.deepEqual(JSON.parse((await get(server.port, '/late')).body), { httpx: 'httpx' });
    await server.waitOutput(/heavy trace: learned-[1-9]\d* [\d.]+ \d+/, 1, 10000);
    const parent = Number(/heavy trace: learned-[1-9]\d* [\d.]+ (\d+)/.exec(server.output())![1]);
    const before = cpuSeconds(parent);
    await new Promise((r) => setTimeout(r, 3000));
    const used = cpuSeconds(parent) - before;
    assert.ok(used < 0.6, `the polling parent used ${used.toFixed(2)} s of CPU in 3 s while idle`);
    greetingEditor(mainPy, () => original)('polled');
    await server.waitOutput(/reloaded in \d+ ms \(app\/main\.py\)/, 1, 10000);
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'polled' });
  });
});
