import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildHar } from '../../daemon/record/har';
import { HEAVY } from '../helpers/project';
import { artilleryBin, getEntry as entry } from './helpers';

// Stopping heavy replay (Ctrl+C, SIGTERM, VS Code's Cancel) stops the load at once: no
// Artillery left sending, no temporary script folder left behind (a trial found both).

/** Every live process whose command line mentions `needle`, from /proc. */
function processesWith(needle: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (/^\S+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) continue;
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) found.push(Number(pid));
    } catch { /* gone meanwhile */ }
  }
  return found;
}

describe('heavy replay, stopped', function () {
  this.timeout(120000);
  let server: http.Server;
  let hits = 0;
  let root: string;
  before(async () => {
    server = http.createServer((_req, res) => { hits++; res.end('ok'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-replay-stop-'));
    fs.writeFileSync(path.join(root, 'pyproject.toml'), '[project]\nname = "stop"\n');
  });
  after(() => {
    server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGKILL'] as const) {
    it(signal === 'SIGKILL'
      ? 'SIGKILL to heavy replay (nothing of it can clean up): Artillery notices within seconds and stops sending'
      : `${signal} to heavy replay alone stops Artillery and removes its script folder`, async () => {
      const port = (server.address() as AddressInfo).port;
      const marker = `stop-${signal}-${process.pid}.har`;
      const har = path.join(root, marker);
      fs.writeFileSync(har, JSON.stringify(buildHar([entry(`http://127.0.0.1:${port}/a`, 0), entry(`http://127.0.0.1:${port}/b`, 100)], 't')));
      // A temp folder of its own: what heavy replay leaves there is its, whatever else runs.
      const tmp = fs.mkdtempSync(path.join(root, 'tmp-'));
      const child = spawn(process.execPath, [HEAVY, 'replay', har, '--root', root, '--target', `http://127.0.0.1:${port}`, '--duration', '60', '--users', '2'], {
        env: { ...process.env, TMPDIR: tmp, PATH: `${artilleryBin()}${path.delimiter}${process.env.PATH}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d) => { err += d; });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      // Load is flowing.
      const started = hits;
      const deadline = Date.now() + 60000;
      while (hits < started + 20) {
        assert.ok(Date.now() < deadline, `no load reached the server:\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const stoppedAt = Date.now();
      child.kill(signal);
      const code = await exited;
      assert.ok(Date.now() - stoppedAt < 10000, 'heavy replay took over 10 s to stop');
      if (signal !== 'SIGKILL') {
        assert.equal(code, signal === 'SIGTERM' ? 143 : 130, err);
        assert.match(err, new RegExp(`heavy: replay stopped \\(${signal}\\) before it finished; no report`));
      }
      // Nothing keeps sending: the count settles within a second of the exit (a few after a
      // SIGKILL: Artillery's watchdog looks once a second).
      await new Promise((r) => setTimeout(r, signal === 'SIGKILL' ? 4000 : 1000));
      const settled = hits;
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(hits, settled, 'requests still arrive after heavy replay stopped');
      if (signal !== 'SIGKILL') assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith('heavy-replay-')), [], 'the temporary script folder is left behind');
      assert.deepEqual(processesWith('load.yml').filter((pid) => {
        try { return fs.readlinkSync(`/proc/${pid}/cwd`).includes('heavy-replay-'); } catch { return false; }
      }), [], 'an Artillery process is still running');
    });
  }
});
