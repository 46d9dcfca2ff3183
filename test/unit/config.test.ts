import * as assert from 'node:assert/strict';
import { ConfigError, parsePyProject } from '../../daemon/project/config';

const parse = (heavy: string) => parsePyProject(`[project]\nname = "x"\n\n[tool.heavy]\n${heavy}\n`, '/p/pyproject.toml');

function expectError(heavy: string, key: string, pattern: RegExp): void {
  assert.throws(() => parse(heavy), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.key, key);
    assert.equal(err.file, '/p/pyproject.toml');
    assert.match(err.message, /^\/p\/pyproject\.toml: /);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('[tool.heavy] configuration', () => {
  it('reads every documented table', () => {
    const { heavy } = parse(`app = "pkg.main:app"
python = ".venv/bin/python"
[tool.heavy.serve]
port = 9000
host = "0.0.0.0"
[tool.heavy.tests]
workers = 3
timeout = 2.5
[tool.heavy.db]
url_env = ["DATABASE_URL", "VECTOR_URL"]
metadata = "app.models:SQLModel.metadata"
seed = ["python", "-m", "scripts.seed"]
[tool.heavy.db.migrations]
also_test = ["cockroachdb://root@localhost:26257/x"]
[tool.heavy.time]
idle_minutes = 5
user = "ada"`);
    assert.equal(heavy.app, 'pkg.main:app');
    assert.equal(heavy.serve?.port, 9000);
    assert.equal(heavy.tests?.timeout, 2.5);
    assert.deepEqual(heavy.db?.url_env, ['DATABASE_URL', 'VECTOR_URL']);
    assert.deepEqual(heavy.db?.migrations?.also_test, ['cockroachdb://root@localhost:26257/x']);
    assert.equal(heavy.time?.user, 'ada');
  });

  it('is empty when pyproject has no [tool.heavy]', () => {
    assert.deepEqual(parsePyProject('[project]\nname = "x"\n', 'f').heavy, {});
  });

  it('names an unknown key, its table and what is allowed', () => {
    expectError('[tool.heavy.serve]\nprot = 1', 'tool.heavy.serve.prot', /unknown key "tool\.heavy\.serve\.prot" \(allowed in \[tool\.heavy\.serve\]: host, port, args, watch, ignore, shutdown_timeout, command\)/);
    expectError('colour = "red"', 'tool.heavy.colour', /unknown key "tool\.heavy\.colour"/);
  });

  it('names a wrongly typed key and the expected type', () => {
    expectError('[tool.heavy.serve]\nport = "8000"', 'tool.heavy.serve.port', /"tool\.heavy\.serve\.port" must be an integer/);
    expectError('[tool.heavy.db]\nseed = "python seed.py"', 'tool.heavy.db.seed', /"tool\.heavy\.db\.seed" must be a list/);
    expectError('[tool.heavy.db]\nurl_env = 3', 'tool.heavy.db.url_env', /must be a string or a list of strings/);
    expectError('serve = 1', 'tool.heavy.serve', /must be a table/);
  });

  it('checks values, not only types', () => {
    expectError('app = "main.py"', 'tool.heavy.app', /package\.module:attribute/);
    expectError('[tool.heavy.serve]\nport = 70000', 'tool.heavy.serve.port', /must be <= 65535/);
    expectError('[tool.heavy.time]\nuser = "../etc"', 'tool.heavy.time.user', /usable as a file name/);
    expectError('framework = "django"', 'tool.heavy.framework', /one of "fastapi", "starlette", "sanic", "flask"/);
  });

  it('reports invalid TOML with its line', () => {
    assert.throws(() => parsePyProject('[tool.heavy]\napp = \n', '/p/pyproject.toml'), /\/p\/pyproject\.toml \(line 2, column \d+\): not valid TOML/);
  });
});
