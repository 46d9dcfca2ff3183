import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { copyExample, python } from '../helpers/project';
import { freePort } from './helpers';

describe('heavy serve under the debugger', function () {
  this.timeout(180000);

  it('hits a breakpoint in a route before and after a reload (debugpy follows the forked server processes)', async () => {
    const root = copyExample();
    const [port, debugPort] = [await freePort(), await freePort()];
    const r = spawnSync(python(root), [path.join(__dirname, 'dapClient.py'), root, String(port), String(debugPort), python(root),
      path.resolve(__dirname, '../../daemon/python/heavy_serve.py')], { encoding: 'utf8', timeout: 170000 });
    const out = r.stdout + r.stderr;
    assert.match(out, /round 1: stopped at breakpoint \(breakpoint\)[^]*response: \['\{"message":"Hello from \.env"\}'\]|round 1: stopped at breakpoint \(breakpoint\)[^]*response: \['\{"message":"Hello"\}'\]/, out);
    assert.match(out, /reloaded in \d+ ms \(app\/main\.py\)/, out);
    assert.match(out, /round 2: stopped at breakpoint \(breakpoint\)[^]*response: \['\{"message":"reloaded"\}'\]/, out);
    assert.match(out, /exit 0/, out);
  });
});
