import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, startPostgres, type Postgres } from '../helpers/postgres';

const REPO = path.resolve(__dirname, '../..');
const HEAVY = path.join(REPO, 'dist/heavy.js');
const EXAMPLE = path.join(REPO, 'test/fixtures/example');
const PYTHON = path.join(EXAMPLE, '.venv/bin/python');

function heavy(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [HEAVY, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120000 });
  return { code: r.status, out: r.stdout + r.stderr, stdout: r.stdout };
}

/** A copy of the example project with its own .env, sharing the prepared .venv. */
function exampleCopy(dotenv: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-db-'));
  fs.cpSync(EXAMPLE, dir, { recursive: true, filter: (s) => !/[\\/](\.venv|__pycache__|\.heavy)$/.test(s) && !s.endsWith('.db') });
  fs.symlinkSync(path.join(EXAMPLE, '.venv'), path.join(dir, '.venv'));
  fs.writeFileSync(path.join(dir, '.env'), dotenv);
  return dir;
}

function py(code: string, cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(PYTHON, ['-c', code], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

const countNotes = (url: string, cwd: string) =>
  py(`import sqlalchemy as sa\ne=sa.create_engine(${JSON.stringify(url)})\nwith e.connect() as c: print(c.execute(sa.text("select title from note order by id")).scalars().all())`, cwd);

function versions(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'alembic/versions')).filter((f) => f.endsWith('.py')).sort();
}

function addPinnedColumn(dir: string): void {
  const models = path.join(dir, 'app/models.py');
  fs.writeFileSync(models, fs.readFileSync(models, 'utf8').replace('    body: str = ""\n', '    body: str = ""\n    pinned: bool = False\n'));
}

describe('heavy db (real SQLite and PostgreSQL)', function () {
  this.timeout(180000);
  let pg: Postgres;

  before(async () => {
    if (!fs.existsSync(HEAVY)) throw new Error('dist/heavy.js is missing: run npm run build first');
    pg = await startPostgres();
  });
  after(() => pg?.stop());

  describe('pave', () => {
    it('paves SQLite twice: old rows are gone, seed rows are present', () => {
      const dir = exampleCopy('DATABASE_URL=sqlite:///./dev.db\n');
      let r = heavy(['db', 'pave', '--yes'], dir);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /paved sqlite:\/\/\/\.\/dev\.db: dropped and created 2 tables \(note, tag\)/);
      assert.match(r.out, /seeded 1 note and 1 tag/);
      py('import sqlite3; c=sqlite3.connect("dev.db"); c.execute("insert into note(title, body) values (\'old\', \'\')"); c.commit()', dir);
      assert.equal(countNotes('sqlite:///./dev.db', dir), "['Welcome', 'old']");
      r = heavy(['db', 'pave', '--yes'], dir);
      assert.equal(r.code, 0, r.out);
      assert.equal(countNotes('sqlite:///./dev.db', dir), "['Welcome']");
    });

    it('paves PostgreSQL through an async URL, creating the database, and never prints the password', () => {
      const url = pg.url('heavy_dev', 'postgresql+asyncpg');
      const dir = exampleCopy(`DATABASE_URL=${url}\n`);
      // The example app's engine is synchronous; its seed reaches the same database through psycopg.
      const pyproject = path.join(dir, 'pyproject.toml');
      fs.writeFileSync(pyproject, fs.readFileSync(pyproject, 'utf8').replace('seed = ["python", "-m", "scripts.seed"]',
        `seed = ["python", "-c", "import os, runpy; os.environ['DATABASE_URL'] = os.environ['DATABASE_URL'].replace('+asyncpg', '+psycopg'); runpy.run_module('scripts.seed', run_name='__main__')"]`));
      let r = heavy(['db', 'pave', '--yes'], dir);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /created database postgresql\+asyncpg:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/heavy_dev/);
      assert.doesNotMatch(r.out, /secret-pw/);
      py(`import sqlalchemy as sa\ne=sa.create_engine(${JSON.stringify(pg.url('heavy_dev'))})\nwith e.begin() as c: c.execute(sa.text("insert into note(title, body) values ('old', '')"))`, dir);
      r = heavy(['db', 'pave', '--yes'], dir);
      assert.equal(r.code, 0, r.out);
      assert.doesNotMatch(r.out, /created database/);
      assert.equal(countNotes(pg.url('heavy_dev'), dir), "['Welcome']");
    });

    it('refuses a non-local database without connecting to it', async () => {
      // Listen on a non-loopback address of this machine and prove nobody knocks.
      const address = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
      assert.ok(address, 'this machine has a non-loopback IPv4 address');
      let connections = 0;
      const server = net.createServer((s) => { connections++; s.destroy(); });
      await new Promise<void>((res) => server.listen(0, address, res));
      const port = (server.address() as net.AddressInfo).port;
      try {
        const dir = exampleCopy(`DATABASE_URL=postgresql+psycopg://app:hunter2@${address}:${port}/prod\n`);
        for (const args of [['db', 'pave', '--yes'], ['db', 'pave']]) {
          const r = heavy(args, dir);
          assert.equal(r.code, 2, r.out);
          assert.match(r.out, new RegExp(`refusing to touch DATABASE_URL at postgresql\\+psycopg://app:\\*\\*\\*@${address.replace(/\./g, '\\.')}:${port}/prod: it is not a local database`));
          assert.match(r.out, /allow_hosts = \[/);
          assert.doesNotMatch(r.out, /hunter2/);
        }
        await new Promise((res) => setTimeout(res, 200));
        assert.equal(connections, 0, 'no connection was attempted');
      } finally {
        server.close();
      }
    });

    it('says what to add when metadata is not configured, and names a broken models module', () => {
      const dir = exampleCopy('DATABASE_URL=sqlite:///./dev.db\n');
      const pyproject = path.join(dir, 'pyproject.toml');
      const original = fs.readFileSync(pyproject, 'utf8');
      fs.writeFileSync(pyproject, original.replace('metadata = "app.models:SQLModel.metadata"\n', ''));
      let r = heavy(['db', 'pave', '--yes'], dir);
      assert.equal(r.code, 2, r.out);
      assert.match(r.out, /\[tool\.heavy\.db\]\n\s+metadata = "app\.models:SQLModel\.metadata"/);
      fs.writeFileSync(pyproject, original);
      fs.appendFileSync(path.join(dir, 'app/models.py'), '\nraise RuntimeError("models are broken")\n');
      r = heavy(['db', 'pave', '--yes'], dir);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /Traceback[\s\S]*RuntimeError: models are broken/);
      assert.match(r.out, /heavy: could not import 'app\.models' \(tool\.heavy\.db\.metadata = 'app\.models:SQLModel\.metadata'\)/);
    });

    it('names the pip package of a missing driver and the host of an unreachable server', async () => {
      const dir = exampleCopy('DATABASE_URL=postgresql+psycopg2://u:pw@localhost:5999/x\n');
      let r = heavy(['db', 'pave', '--yes'], dir);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /driver for postgresql\+psycopg2 is not installed .* -m pip install 'psycopg2-binary'/);
      const closed = await freePort();
      fs.writeFileSync(path.join(dir, '.env'), `DATABASE_URL=postgresql+psycopg://u:pw@127.0.0.1:${closed}/x\n`);
      r = heavy(['db', 'pave', '--yes'], dir);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, new RegExp(`cannot reach the database at 127\\.0\\.0\\.1:${closed} \\(postgresql\\+psycopg://u:\\*\\*\\*@`));
      assert.doesNotMatch(r.out, /:pw@/);
    });
  });

  for (const backend of ['sqlite', 'postgresql'] as const) {
    describe(`migrate and check on ${backend}`, () => {
      const devUrl = () => (backend === 'sqlite' ? 'sqlite:///./dev.db' : pg.url(`notes_${process.pid}`));

      it('creates no file when nothing changed, then exactly one naming the new column, leaving the dev database untouched', () => {
        const dir = exampleCopy(`DATABASE_URL=${devUrl()}\n`);
        assert.equal(heavy(['db', 'pave', '--yes'], dir).code, 0);
        const snapshot = backend === 'sqlite'
          ? () => fs.readFileSync(path.join(dir, 'dev.db')).toString('base64')
          : () => py(`import sqlalchemy as sa\ne=sa.create_engine(${JSON.stringify(devUrl())})\nwith e.connect() as c:\n  print(sorted(c.execute(sa.text("select table_name, column_name from information_schema.columns where table_schema='public'")).all()), c.execute(sa.text("select * from note")).all())`, dir);
        const before = snapshot();

        let r = heavy(['db', 'check'], dir);
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /The models match the migrations/);
        r = heavy(['db', 'migrate'], dir);
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /No model changes: no migration created/);
        assert.deepEqual(versions(dir), ['0001_initial.py']);

        addPinnedColumn(dir);
        r = heavy(['db', 'check'], dir);
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, /add_column note\.pinned/);
        r = heavy(['db', 'migrate', '--message', 'pin notes'], dir);
        assert.equal(r.code, 0, r.out);
        const added = versions(dir).filter((f) => f !== '0001_initial.py');
        assert.equal(added.length, 1, versions(dir).join(', '));
        assert.match(added[0], /pin_notes\.py$/);
        assert.match(fs.readFileSync(path.join(dir, 'alembic/versions', added[0]), 'utf8'), /add_column\(sa\.Column\('pinned'/);
        assert.match(r.out, new RegExp(`Created alembic/versions/${added[0].replace('.', '\\.')}: add_column note\\.pinned`));
        assert.equal(snapshot(), before, 'the dev database is untouched');
        assert.equal(heavy(['db', 'check'], dir).code, 0);
      });

      it('fails at step 2 when an existing migration is broken', () => {
        const dir = exampleCopy(`DATABASE_URL=${devUrl()}\n`);
        fs.writeFileSync(path.join(dir, 'alembic/versions/0002_broken.py'), `revision = "0002"\ndown_revision = "0001"\nbranch_labels = None\ndepends_on = None\nfrom alembic import op\n\ndef upgrade():\n    op.execute("ALTER TABLE no_such_table ADD COLUMN x INTEGER")\n\ndef downgrade():\n    pass\n`);
        const r = heavy(['db', 'migrate'], dir);
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, /heavy: existing migrations fail to apply: step 2 on scratch: revision 0002 \(alembic\/versions\/0002_broken\.py\) failed/);
        assert.deepEqual(versions(dir), ['0001_initial.py', '0002_broken.py']);
      });

      it('fails at step 5 when the downgrade does not undo the upgrade, and keeps the file', () => {
        const dir = exampleCopy(`DATABASE_URL=${devUrl()}\n`);
        const mako = path.join(dir, 'alembic/script.py.mako');
        fs.writeFileSync(mako, fs.readFileSync(mako, 'utf8').replace('${downgrades if downgrades else "pass"}', 'pass'));
        addPinnedColumn(dir);
        const r = heavy(['db', 'migrate', '-m', 'pin'], dir);
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, /step 5 \(downgrade -1\) on scratch: the downgrade does not undo the upgrade: column note\.pinned still exists/);
        assert.match(r.out, /The new migration was kept for you to fix: alembic\/versions\/\w+_pin\.py/);
        assert.equal(versions(dir).length, 2);
      });
    });
  }

  it('explains a project without alembic.ini', () => {
    const dir = exampleCopy('DATABASE_URL=sqlite:///./dev.db\n');
    fs.rmSync(path.join(dir, 'alembic.ini'));
    const r = heavy(['db', 'migrate'], dir);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /no alembic\.ini in the project root/);
  });
});
