import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { newTree } from '../helpers/project';

const HEAVY = path.resolve(__dirname, '../../dist/heavy.js');

export function heavy(args: string[], cwd = process.cwd(), env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [HEAVY, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('heavy profiles (CLI)', () => {
  before(function () {
    if (!fs.existsSync(HEAVY)) throw new Error('dist/heavy.js is missing: run npm run build first');
  });

  it('lists the profiles of a FastAPI project it has never seen, as JSON', () => {
    const root = newTree({
      'pyproject.toml': '[project]\nname = "shop"\ndependencies = ["fastapi", "sqlalchemy"]\n',
      'shop/__init__.py': '',
      'shop/api.py': 'from fastapi import FastAPI\n\napp = FastAPI()\n',
      'tests/test_api.py': 'def test_ok():\n    assert True\n',
      '.env': 'DATABASE_URL=sqlite:///shop.db\n',
    });
    const r = heavy(['profiles', '--root', root, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const profiles = JSON.parse(r.stdout);
    assert.deepEqual(profiles.map((p: any) => p.name), ['Hot Reload Server', 'Run Server', 'Record Traffic', 'Test Daemon', 'Pave DB']);
    const run = profiles[1];
    assert.equal(run.type, 'heavy');
    assert.equal(run.module, 'uvicorn');
    assert.deepEqual(run.args, ['shop.api:app', '--host', '127.0.0.1', '--port', '8000']);
    assert.equal(run.cwd, root);
    assert.deepEqual(run.env, { DATABASE_URL: 'sqlite:///shop.db' });
    assert.deepEqual(run.command, ['python3', '-m', 'uvicorn', 'shop.api:app', '--host', '127.0.0.1', '--port', '8000']);
  });

  it('finds the project root from a subfolder and prints the exact commands', () => {
    const root = newTree({ 'pyproject.toml': '[tool.heavy]\napp = "svc.main:app"\n[tool.heavy.serve]\nport = 9123\n', 'svc/main.py': 'from fastapi import FastAPI\napp = FastAPI()\n' });
    const r = heavy(['profiles'], path.join(root, 'svc'));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`$ cd ${root} && python3 -m uvicorn svc.main:app --host 127.0.0.1 --port 9123`), r.stdout);
    assert.match(r.stdout, /heavy_serve\.py --root \S+ --app svc\.main:app --framework fastapi --host 127\.0\.0\.1 --port 9123/);
    assert.match(r.stdout, /Create and Test Migrations {2}\[create-and-test-migrations\]: not offered, no alembic\.ini/);
  });

  it('rejects a bad [tool.heavy] naming the file and the key', () => {
    const root = newTree({ 'pyproject.toml': '[tool.heavy.serve]\nport = "eighty"\n' });
    const r = heavy(['profiles', '--root', root]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim(), `heavy: ${path.join(root, 'pyproject.toml')}: "tool.heavy.serve.port" must be an integer`);
  });

  it('explains usage mistakes with exit code 2', () => {
    assert.match(heavy(['profiles', '--bogus']).stderr, /unknown option --bogus/);
    assert.equal(heavy(['frobnicate']).code, 2);
    const root = newTree({ 'main.py': 'from flask import Flask\napp = Flask(__name__)\n' });
    const r = heavy(['profiles', 'run', 'nope', '--root', root]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no profile "nope" \(available: hot-reload-server, run-server, record-traffic\)/);
  });

  it('runs a profile\'s exact command with the project\'s .env, and returns its exit code', () => {
    const root = newTree({
      'pyproject.toml': '[tool.heavy]\napp = "main:app"\n',
      'main.py': 'from fastapi import FastAPI\napp = FastAPI()\n',
      // A stand-in "uvicorn" module on the project's path shows what the profile ran.
      'uvicorn.py': 'import os, sys\nprint("ARGS", sys.argv[1:], os.environ["GREETING"])\nsys.exit(7)\n',
      '.env': 'GREETING=hi\n',
    });
    const r = heavy(['profiles', 'run', 'run-server', '--root', root, '--', '--workers', '2']);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stdout, /ARGS \['main:app', '--host', '127\.0\.0\.1', '--port', '8000', '--workers', '2'\] hi/);
  });
});
