import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../daemon/project/config';
import { detectProject, moduleName } from '../../daemon/project/detect';
import { findProjectRoot } from '../../daemon/project/root';
import { newTree } from '../helpers/project';

describe('project detection', () => {
  it('finds a FastAPI app in a src layout without configuration', () => {
    const root = newTree({
      'pyproject.toml': '[project]\nname = "svc"\ndependencies = ["fastapi", "sqlmodel"]\n',
      'src/svc/__init__.py': '',
      'src/svc/server.py': 'import fastapi\n\napi: fastapi.FastAPI = fastapi.FastAPI(title="x")\n',
      'tests/test_x.py': 'from fastapi import FastAPI\napp = FastAPI()\n',
    });
    const info = detectProject(root);
    assert.deepEqual({ ref: info.app?.ref, framework: info.app?.framework, line: info.app?.line, source: info.app?.source },
      { ref: 'svc.server:api', framework: 'fastapi', line: 3, source: 'scan' });
    assert.equal(info.pytest, true);
    assert.equal(info.usesSqlAlchemy, true);
    assert.equal(info.alembicIni, undefined);
  });

  it('prefers app in main.py over deeper or other candidates, and knows each framework', () => {
    const root = newTree({
      'web/app.py': 'from sanic import Sanic\nserver = Sanic("x")\n',
      'main.py': 'from flask import Flask\napp = Flask(__name__)\n',
    });
    assert.equal(detectProject(root).app?.ref, 'main:app');
    assert.equal(detectProject(root).app?.framework, 'flask');
    fs.rmSync(path.join(root, 'main.py'));
    assert.deepEqual([detectProject(root).app?.ref, detectProject(root).app?.framework], ['web.app:server', 'sanic']);
  });

  it('takes [tool.heavy] app over the scan and finds its framework', () => {
    const root = newTree({
      'pyproject.toml': '[tool.heavy]\napp = "pkg.asgi:application"\n',
      'pkg/asgi.py': 'from starlette.applications import Starlette\napplication = Starlette()\n',
      'main.py': 'from fastapi import FastAPI\napp = FastAPI()\n',
    });
    const info = detectProject(root);
    assert.equal(info.app?.ref, 'pkg.asgi:application');
    assert.equal(info.app?.framework, 'starlette');
    assert.equal(info.app?.source, 'config');
  });

  it('picks the interpreter in the documented order', () => {
    const root = newTree({ 'main.py': '' });
    assert.deepEqual(detectProject(root, { extensionPython: '/opt/py/bin/python' }).python, { path: '/opt/py/bin/python', source: 'python-extension' });
    assert.deepEqual(detectProject(root).python, { path: 'python3', source: 'default' });
    fs.mkdirSync(path.join(root, 'venv/bin'), { recursive: true });
    fs.writeFileSync(path.join(root, 'venv/bin/python'), '');
    assert.equal(detectProject(root, { extensionPython: '/x' }).python.path, path.join(root, 'venv/bin/python'));
    fs.mkdirSync(path.join(root, '.venv/bin'), { recursive: true });
    fs.writeFileSync(path.join(root, '.venv/bin/python'), '');
    assert.equal(detectProject(root).python.path, path.join(root, '.venv/bin/python'));
    fs.writeFileSync(path.join(root, 'pyproject.toml'), '[tool.heavy]\npython = "venv/bin/python"\n');
    assert.deepEqual(detectProject(root).python, { path: path.join(root, 'venv/bin/python'), source: 'config' });
  });

  it('says when [tool.heavy] python does not exist', () => {
    const root = newTree({ 'pyproject.toml': '[tool.heavy]\npython = "env/bin/python3"\n' });
    assert.throws(() => detectProject(root), (e: unknown) => e instanceof ConfigError && e.key === 'tool.heavy.python' && /does not exist/.test(e.message));
  });

  it('loads .env, including quoted values and comments', () => {
    const root = newTree({ '.env': '# c\nDATABASE_URL=postgresql://u:p@localhost/db\nGREETING="hi there"\nexport NAME=x\n', 'alembic.ini': '' });
    const info = detectProject(root);
    assert.deepEqual(info.env, { DATABASE_URL: 'postgresql://u:p@localhost/db', GREETING: 'hi there', NAME: 'x' });
    assert.equal(info.envFile, path.join(root, '.env'));
    assert.equal(info.alembicIni, path.join(root, 'alembic.ini'));
  });

  it('maps files to module names', () => {
    assert.equal(moduleName('src/pkg/mod.py'), 'pkg.mod');
    assert.equal(moduleName('pkg/__init__.py'), 'pkg');
    assert.equal(moduleName('main.py'), 'main');
  });

  it('finds the project root above the working folder', () => {
    const root = newTree({ 'pyproject.toml': '', 'pkg/sub/x.py': '' });
    assert.equal(findProjectRoot(path.join(root, 'pkg', 'sub')), root);
  });
});
