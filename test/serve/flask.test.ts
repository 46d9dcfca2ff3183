import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXAMPLE } from '../helpers/project';
import { get, serve, stop, type Served } from './helpers';

// Flask through the same warm parent and fork per version (werkzeug's server on the shared socket).
// The project borrows the example's venv (flask is in its requirements-dev.txt).
describe('heavy serve: Flask', function () {
  this.timeout(90000);
  let root: string;
  let server: Served;
  const appFile = () => path.join(root, 'flaskapp.py');
  const write = (value: string) => fs.writeFileSync(appFile(), [
    'from flask import Flask',
    '',
    'from helpers import shout',
    '',
    'app = Flask(__name__)',
    '',
    '@app.get("/hello")',
    'def hello():',
    `    return {"message": shout(${JSON.stringify(value)})}`,
    '',
  ].join('\n'));

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-flask-'));
    fs.symlinkSync(path.join(EXAMPLE, '.venv'), path.join(root, '.venv'));
    fs.writeFileSync(path.join(root, 'pyproject.toml'), '[project]\nname = "flask-example"\nversion = "0.1.0"\n\n[tool.heavy]\napp = "flaskapp:app"\n');
    fs.writeFileSync(path.join(root, 'helpers.py'), 'def shout(text):\n    return text + "!"\n');
    write('first');
    server = await serve(root, ['serve']);
    await server.waitOutput(/serving flaskapp:app on http:\/\/127\.0\.0\.1/, 1, 60000);
  });

  after(async () => {
    if (server) await stop(server);
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('serves, and a save reloads it with the fresh code', async () => {
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'first!' });
    write('second');
    await server.waitOutput(/reloaded in \d+ ms \(flaskapp\.py\)/);
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'second!' });
    fs.writeFileSync(path.join(root, 'helpers.py'), 'def shout(text):\n    return text + "!!!"\n');
    await server.waitOutput(/reloaded in \d+ ms \(helpers\.py\)/);
    assert.deepEqual(JSON.parse((await get(server.port, '/hello')).body), { message: 'second!!!' });
    // The warm parent holds flask itself, never the project's modules.
    assert.doesNotMatch(server.output(), /__heavy__/);  // its own health probe is not logged
    assert.doesNotMatch(server.output(), /warning: the warm parent imported project modules/);
  });
});
