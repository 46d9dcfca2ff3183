import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyExample, heavySync } from '../helpers/project';
import { get, serve, stop } from './helpers';

describe('heavy serve: the Hot Reload Server profile', function () {
  this.timeout(90000);

  it('runs the serve engine (heavy profiles --json)', () => {
    const root = copyExample();
    const r = heavySync(['profiles', '--json', '--root', root], root);
    assert.equal(r.code, 0, r.stderr);
    const hot = JSON.parse(r.stdout).find((p: any) => p.profile === 'hot-reload-server');
    assert.ok(hot.program.endsWith(path.join('daemon', 'python', 'heavy_serve.py')), hot.program);
    assert.deepEqual(hot.args.slice(0, 10), ['--root', root, '--app', 'app.main:app', '--framework', 'fastapi', '--host', '127.0.0.1', '--port', '8000']);
    assert.equal(hot.subProcess, true, 'the debugger follows each forked server process');
  });

  it('heavy profiles run hot-reload-server serves and reloads', async () => {
    const root = copyExample();
    const server = await serve(root, ['profiles', 'run', 'hot-reload-server'], undefined, true);
    try {
      await server.waitOutput(/serving app\.main:app/, 1, 60000);
      const mainPy = path.join(root, 'app', 'main.py');
      fs.writeFileSync(mainPy, fs.readFileSync(mainPy, 'utf8').replace('return {"message": message}', 'return {"message": "from the profile"}'));
      await server.waitOutput(/reloaded in \d+ ms \(app\/main\.py\)/);
      assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'from the profile' });
    } finally {
      await stop(server);
    }
  });
});
