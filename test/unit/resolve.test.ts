import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { envToApply } from '../../daemon/profiles/env';
import { resolveProfiles, shellQuote } from '../../daemon/profiles/resolve';
import { loadTemplates } from '../../daemon/profiles/template';
import type { ProjectInfo } from '../../daemon/project/detect';

const templates = loadTemplates(path.join(__dirname, '../../launch-templates'));

function project(over: Partial<ProjectInfo> = {}): ProjectInfo {
  return {
    root: '/p', config: {}, pytest: true, env: { DATABASE_URL: 'sqlite:///d.db' }, usesSqlAlchemy: true,
    python: { path: '/p/.venv/bin/python', source: 'venv' }, alembicIni: '/p/alembic.ini',
    app: { ref: 'app.main:app', framework: 'fastapi', source: 'scan' }, ...over,
  };
}

describe('profile resolution', () => {
  it('runs FastAPI under uvicorn with the configured port and extra args', () => {
    const { profiles } = resolveProfiles(templates, project({ config: { serve: { port: 9001, args: ['--log-level', 'debug'] } } }), '/h');
    const run = profiles.find((p) => p.profile === 'run-server')!;
    assert.equal(run.module, 'uvicorn');
    assert.deepEqual(run.command, ['/p/.venv/bin/python', '-m', 'uvicorn', 'app.main:app', '--host', '127.0.0.1', '--port', '9001', '--log-level', 'debug']);
    assert.equal(run.cwd, '/p');
    assert.deepEqual(run.env, { DATABASE_URL: 'sqlite:///d.db' });
    const hot = profiles.find((p) => p.profile === 'hot-reload-server')!;
    assert.equal(hot.program, path.normalize('/h/heavy_serve.py'));
    assert.deepEqual(hot.args.slice(-3), ['--', '--log-level', 'debug']);
  });

  it('uses each framework\'s own server', () => {
    const flask = resolveProfiles(templates, project({ app: { ref: 'w:app', framework: 'flask', source: 'scan' } }), '/h').profiles;
    assert.deepEqual(flask.find((p) => p.profile === 'run-server')!.command.slice(1, 6), ['-m', 'flask', '--app', 'w:app', 'run']);
    assert.deepEqual(flask.find((p) => p.profile === 'hot-reload-server')!.args.slice(4, 6), ['--framework', 'flask']);
    const sanic = resolveProfiles(templates, project({ app: { ref: 's:app', framework: 'sanic', source: 'scan' } }), '/h').profiles;
    assert.deepEqual(sanic.find((p) => p.profile === 'run-server')!.command.slice(1, 4), ['-m', 'sanic', 's:app']);
  });

  it('runs helper scripts for the database profiles and asks before paving', () => {
    const { profiles } = resolveProfiles(templates, project(), '/h');
    const pave = profiles.find((p) => p.profile === 'pave-db')!;
    assert.equal(pave.program, path.normalize('/h/heavy_db.py'));
    assert.deepEqual(pave.args, ['pave', '--root', '/p', '--yes']);
    assert.ok(pave.confirm);
  });

  it('leaves out what the project cannot run, saying why', () => {
    const r = resolveProfiles(templates, project({ app: undefined, alembicIni: undefined }), '/h');
    assert.deepEqual(r.profiles.map((p) => p.profile), ['test-daemon', 'pave-db']);
    assert.match(r.unavailable.find((u) => u.profile === 'run-server')!.reason, /\[tool\.heavy\]/);
    assert.match(r.unavailable.find((u) => u.profile === 'create-and-test-migrations')!.reason, /alembic\.ini/);
  });

  it('offers the Hot Reload Server for a [tool.heavy.serve] command without an app object', () => {
    const command = ['${python}', 'server.py', '--port', '${port}'];
    const r = resolveProfiles(templates, project({ app: undefined, config: { serve: { command } } }), '/h');
    const hot = r.profiles.find((p) => p.profile === 'hot-reload-server')!;
    assert.ok(hot, JSON.stringify(r.unavailable));
    assert.match(hot.args.join(' '), /"command":\["\$\{python\}","server\.py","--port","\$\{port\}"\]/);
    assert.match(r.unavailable.find((u) => u.profile === 'run-server')!.reason, /\[tool\.heavy\]/);
    const none = resolveProfiles(templates, project({ app: undefined }), '/h');
    assert.match(none.unavailable.find((u) => u.profile === 'hot-reload-server')!.reason, /command = \[\.\.\.\] under \[tool\.heavy\.serve\]/);
  });

  it('lets exported variables win over .env', () => {
    assert.deepEqual(envToApply({ A: '1', B: '2' }, { A: 'mine' }), { B: '2' });
  });

  it('quotes commands for display', () => {
    assert.equal(shellQuote(['python', '-c', "print('hi there')"]), `python -c 'print('\\''hi there'\\'')'`);
  });
});
