"""Heavy Dev's database helper: pave, migrate and check (started through heavy_db.py).

Runs with the project's own interpreter and needs nothing beyond what the project
already uses (SQLAlchemy, Alembic). The Pave DB and Create and Test Migrations
profiles start this same script under the debugger, so breakpoints in models, seed
scripts and migrations are hit.

Configuration arrives already validated from Heavy Dev as JSON in HEAVY_DB_CONFIG
(the [tool.heavy.db] table of pyproject.toml); database URLs come from the
environment, which Heavy Dev has filled from the project's .env.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

EXIT_FAIL = 1
EXIT_USAGE = 2
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]", ""}
DRIVER_PACKAGES = {
    "psycopg2": "psycopg2-binary",
    "psycopg": "psycopg[binary]",
    "asyncpg": "asyncpg",
    "aiosqlite": "aiosqlite",
    "pymysql": "pymysql",
    "aiomysql": "aiomysql",
    "MySQLdb": "mysqlclient",
    "oracledb": "oracledb",
    "pyodbc": "pyodbc",
    "sqlalchemy_cockroachdb": "sqlalchemy-cockroachdb",
}


class HeavyError(Exception):
    """A failure worded for the user; printed without a traceback."""

    def __init__(self, message: str, code: int = EXIT_FAIL, detail: str | None = None):
        super().__init__(message)
        self.code = code
        self.detail = detail


def say(message: str) -> None:
    print(f"heavy: {message}", flush=True)


# ---------------------------------------------------------------- configuration


@dataclass
class DbConfig:
    url_envs: list[str]
    metadata: str | None
    seed: list[str] | None
    extensions: list[str]
    allow_hosts: list[str]
    scratch_url: str | None
    also_test: list[str]
    raw: dict = field(default_factory=dict)


def load_config() -> DbConfig:
    raw_text = os.environ.get("HEAVY_DB_CONFIG")
    if raw_text is None:
        raise HeavyError(
            "HEAVY_DB_CONFIG is not set: run this through Heavy Dev "
            "(heavy db ..., or the Pave DB / Create and Test Migrations profiles)",
            EXIT_USAGE,
        )
    raw = json.loads(raw_text or "{}")
    url_env = raw.get("url_env", "DATABASE_URL")
    migrations = raw.get("migrations", {})
    return DbConfig(
        url_envs=[url_env] if isinstance(url_env, str) else list(url_env),
        metadata=raw.get("metadata"),
        seed=raw.get("seed"),
        extensions=raw.get("extensions", []),
        allow_hosts=raw.get("allow_hosts", []),
        scratch_url=migrations.get("scratch_url"),
        also_test=migrations.get("also_test", []),
        raw=raw,
    )


def database_url(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise HeavyError(
            f"{name} is not set. Put the dev database URL in the environment or in the project's .env "
            f"(or name another variable with url_env under [tool.heavy.db] in pyproject.toml)",
            EXIT_USAGE,
        )
    return value


# ---------------------------------------------------------------- URLs and safety


def parse_url(text: str):
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(text)
    except ArgumentError:
        raise HeavyError(f"not a database URL: {mask_text(text)}", EXIT_USAGE) from None


def mask_text(text: str) -> str:
    """Masks a password in a URL-like string that SQLAlchemy could not parse."""
    if "://" not in text or "@" not in text:
        return text
    scheme, rest = text.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else text


def show(url) -> str:
    return url.render_as_string(hide_password=True)


def is_sqlite(url) -> bool:
    return url.get_backend_name() == "sqlite"


def is_postgres(url) -> bool:
    return url.get_backend_name() in ("postgresql", "cockroachdb")


def socket_host(url) -> str | None:
    host = url.query.get("host")
    if isinstance(host, tuple):
        host = host[0] if host else None
    return host


def is_local(url, allow_hosts: list[str]) -> bool:
    if is_sqlite(url):
        return True
    host = (url.host or "").strip()
    if host.lower() in LOCAL_HOSTS or host.startswith("/"):
        query_host = socket_host(url)
        return query_host is None or query_host.startswith("/") or query_host in LOCAL_HOSTS
    return host in allow_hosts


def require_local(url, allow_hosts: list[str], what: str) -> None:
    if not is_local(url, allow_hosts):
        raise HeavyError(
            f"refusing to touch {what} at {show(url)}: it is not a local database "
            f"(localhost, 127.0.0.1, ::1, a Unix socket or a SQLite file). Nothing was done. "
            f'If this host really is a development database, add it to allow_hosts under [tool.heavy.db], '
            f'e.g. allow_hosts = ["{url.host}"]',
            EXIT_USAGE,
        )


# ---------------------------------------------------------------- engines


def is_async(url) -> bool:
    return bool(getattr(url.get_dialect(), "is_async", False))


def make_engine(url, **kwargs):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    try:
        if is_async(url):
            from sqlalchemy.ext.asyncio import create_async_engine

            return create_async_engine(url, poolclass=NullPool, **kwargs)
        return create_engine(url, poolclass=NullPool, **kwargs)
    except ModuleNotFoundError as err:
        raise missing_driver(url, err) from None
    except Exception as err:
        if type(err).__name__ == "NoSuchModuleError":
            raise HeavyError(f"SQLAlchemy has no dialect for {url.drivername} ({err})") from None
        raise


def missing_driver(url, err: ModuleNotFoundError) -> HeavyError:
    module = (err.name or "").split(".")[0]
    package = DRIVER_PACKAGES.get(module, module)
    return HeavyError(
        f"the database driver for {url.drivername} is not installed (no module {module!r}). "
        f"Install it: {sys.executable} -m pip install '{package}'"
    )


def run_on(url, fn: Callable[[Any], Any], autocommit: bool = False) -> Any:
    """Runs fn(connection) in one transaction (or autocommit), sync or async alike."""
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = make_engine(url, **options)
    try:
        if is_async(url):

            async def go():
                try:
                    async with engine.begin() as conn:
                        return await conn.run_sync(fn)
                finally:
                    await engine.dispose()

            return asyncio.run(go())
        try:
            with engine.begin() as conn:
                return fn(conn)
        finally:
            engine.dispose()
    except ModuleNotFoundError as err:
        raise missing_driver(url, err) from None
    except Exception as err:
        raise unreachable(url, err) or err


def unreachable(url, err: Exception) -> HeavyError | None:
    text = str(err)
    markers = ("could not connect", "Connection refused", "connection refused", "could not translate host",
               "Name or service not known", "timeout expired", "Connect call failed", "No such file or directory",
               "nodename nor servname", "unable to open database file", "Multiple exceptions")
    if type(err).__name__ in ("OperationalError", "InterfaceError", "ConnectionRefusedError", "OSError") and any(m in text for m in markers):
        where = f"{url.host or 'localhost'}:{url.port or default_port(url)}" if not is_sqlite(url) else (url.database or ":memory:")
        first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
        return HeavyError(f"cannot reach the database at {where} ({show(url)}): {mask_text(first)}")
    return None


def default_port(url) -> int | str:
    return {"postgresql": 5432, "cockroachdb": 26257, "mysql": 3306}.get(url.get_backend_name(), "default port")


def sync_url(url):
    """The same database through a synchronous driver, for server-level admin statements."""
    if not is_async(url):
        return url
    if is_postgres(url):
        for driver in ("psycopg", "psycopg2"):
            try:
                importlib.import_module(driver)
                return url.set(drivername=f"postgresql+{driver}")
            except ModuleNotFoundError:
                continue
    return url


# ---------------------------------------------------------------- database lifecycle


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ensure_database(url, recreate: bool = False) -> bool:
    """Creates the database if missing (recreates it when asked). Returns True if created."""
    if is_sqlite(url):
        path = url.database
        if not path or path == ":memory:":
            return False
        if recreate and os.path.exists(path):
            os.remove(path)
        existed = os.path.exists(path)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return not existed
    if not is_postgres(url):
        if recreate:
            raise HeavyError(f"Heavy Dev can only create scratch databases on PostgreSQL or SQLite, not {url.get_backend_name()}")
        return False
    admin_url = async_to_admin(url)
    name = url.database
    if not name:
        raise HeavyError(f"{show(url)} names no database")
    from sqlalchemy import text

    def go(conn):
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
        if exists and recreate:
            conn.execute(text(f"DROP DATABASE {quote_ident(name)} WITH (FORCE)"))
            exists = False
        if not exists:
            conn.execute(text(f"CREATE DATABASE {quote_ident(name)}"))
        return not exists

    return run_on(admin_url, go, autocommit=True)


def async_to_admin(url):
    base = sync_url(url)
    maintenance = "postgres" if base.get_backend_name() == "postgresql" else "defaultdb"
    return base.set(database=maintenance)


def drop_database(url) -> None:
    if is_sqlite(url):
        if url.database and url.database != ":memory:" and os.path.exists(url.database):
            os.remove(url.database)
        return
    if not is_postgres(url):
        return
    from sqlalchemy import text

    name = url.database
    run_on(async_to_admin(url), lambda conn: conn.execute(text(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")), autocommit=True)


def create_extensions(url, extensions: list[str]) -> None:
    if not extensions:
        return
    if not is_postgres(url):
        say(f"extensions {', '.join(extensions)} skipped: {url.get_backend_name()} has no CREATE EXTENSION")
        return
    from sqlalchemy import text

    def go(conn):
        for ext in extensions:
            conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {quote_ident(ext)}"))

    run_on(url, go)


# ---------------------------------------------------------------- metadata


def import_metadata(spec: str | None, root: str):
    if not spec:
        raise HeavyError(
            "Pave DB needs to know your tables. Add to pyproject.toml:\n\n"
            "    [tool.heavy.db]\n"
            '    metadata = "app.models:SQLModel.metadata"   # module:attribute of your MetaData\n',
            EXIT_USAGE,
        )
    module_name, _, attr_path = spec.partition(":")
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception:
        raise HeavyError(
            f"could not import {module_name!r} (tool.heavy.db.metadata = {spec!r}):",
            detail=traceback.format_exc(),
        ) from None
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise HeavyError(f"{spec!r}: {module_name} has no attribute path {attr_path!r} (stopped at {part!r})", EXIT_USAGE) from None
    from sqlalchemy import MetaData

    if not isinstance(obj, MetaData):
        raise HeavyError(f"{spec!r} is a {type(obj).__name__}, not a SQLAlchemy MetaData", EXIT_USAGE)
    return obj


# ---------------------------------------------------------------- pave


def pave(args: argparse.Namespace, cfg: DbConfig) -> int:
    urls = [(name, parse_url(database_url(name))) for name in cfg.url_envs]
    for name, url in urls:
        require_local(url, cfg.allow_hosts, f"{name}")
    if args.dry_run:
        for name, url in urls:
            print(f"{name}={show(url)}")
        return 0
    metadata = import_metadata(cfg.metadata, args.root)
    for name, url in urls:
        created = ensure_database(url)
        if created:
            say(f"created database {show(url)}")
        create_extensions(url, cfg.extensions)

        def rebuild(conn):
            metadata.drop_all(conn)
            metadata.create_all(conn)

        run_on(url, rebuild)
        say(f"paved {show(url)}: dropped and created {len(metadata.tables)} tables ({', '.join(sorted(metadata.tables))})")
    if cfg.seed:
        run_seed(cfg.seed, args.root)
    return 0


def run_seed(command: list[str], root: str) -> None:
    env = dict(os.environ)
    bin_dir = os.path.dirname(sys.executable)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.pop("HEAVY_DB_CONFIG", None)
    exe = shutil.which(command[0], path=env["PATH"]) or command[0]
    say(f"seeding: {' '.join(command)}")
    sys.stdout.flush()
    try:
        result = subprocess.run([exe, *command[1:]], cwd=root, env=env)
    except FileNotFoundError:
        raise HeavyError(f"seed command not found: {command[0]} (tool.heavy.db.seed)") from None
    if result.returncode != 0:
        raise HeavyError(f"the seed command failed with exit code {result.returncode}: {' '.join(command)}")
    say("seed finished")


# ---------------------------------------------------------------- alembic


class StepFailed(HeavyError):
    pass


def alembic_config(root: str, url, url_env: str):
    ini = os.path.join(root, "alembic.ini")
    if not os.path.isfile(ini):
        raise HeavyError(f"no alembic.ini in {root}. Set up Alembic first: alembic init alembic", EXIT_USAGE)
    from alembic.config import Config

    cfg = Config(ini)
    # configparser treats % as interpolation; a password may contain one.
    cfg.set_main_option("sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%"))
    os.environ[url_env] = url.render_as_string(hide_password=False)
    if root not in sys.path:
        sys.path.insert(0, root)
    return cfg


def scratch_for(cfg: DbConfig, dev_url) -> Any:
    if cfg.scratch_url:
        return parse_url(cfg.scratch_url)
    if is_sqlite(dev_url):
        fd, path = tempfile.mkstemp(prefix="heavy-scratch-", suffix=".db")
        os.close(fd)
        os.remove(path)
        return dev_url.set(database=path)
    if is_postgres(dev_url):
        return dev_url.set(database=f"{dev_url.database}_heavy_scratch")
    raise HeavyError(f"Heavy Dev makes scratch databases on PostgreSQL and SQLite; set scratch_url under [tool.heavy.db.migrations] for {dev_url.get_backend_name()}", EXIT_USAGE)


def current_revision(url) -> str | None:
    from alembic.runtime.migration import MigrationContext

    try:
        return run_on(url, lambda conn: MigrationContext.configure(conn).get_current_revision())
    except Exception:
        return None


def next_revision(alembic_cfg, current: str | None) -> str | None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_cfg)
    for rev in reversed(list(script.walk_revisions())):
        if rev.down_revision == current or (current is None and rev.down_revision is None):
            return f"{rev.revision} ({os.path.relpath(rev.path)})"
    return None


def failing_revision(alembic_cfg, err: BaseException) -> str | None:
    """The migration whose code raised err, found from the traceback's files."""
    from alembic.script import ScriptDirectory

    files = []
    tb = err.__traceback__
    while tb is not None:
        files.append(os.path.abspath(tb.tb_frame.f_code.co_filename))
        tb = tb.tb_next
    for rev in ScriptDirectory.from_config(alembic_cfg).walk_revisions():
        if rev.path and os.path.abspath(rev.path) in files:
            return f"{rev.revision} ({os.path.relpath(rev.path)})"
    return None


def upgrade(alembic_cfg, url, step: str, where: str) -> None:
    from alembic import command

    try:
        command.upgrade(alembic_cfg, "head")
    except HeavyError:
        raise
    except Exception as err:
        # With transactional DDL (PostgreSQL) the version table rolls back too, so the
        # traceback is the reliable witness of which migration failed.
        failing = failing_revision(alembic_cfg, err) or next_revision(alembic_cfg, current_revision(url))
        raise StepFailed(f"{step} on {where}: revision {failing or '?'} failed: {type(err).__name__}: {err}",
                         detail=traceback.format_exc()) from None


def schema_snapshot(url) -> dict:
    from sqlalchemy import inspect

    def go(conn):
        insp = inspect(conn)
        tables = {}
        for table in insp.get_table_names():
            if table == "alembic_version":
                continue
            tables[table] = {
                "columns": {c["name"]: (str(c["type"]), bool(c["nullable"])) for c in insp.get_columns(table)},
                "indexes": sorted((i["name"] or "", tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)),
                "foreign_keys": sorted((tuple(f["constrained_columns"]), f["referred_table"]) for f in insp.get_foreign_keys(table)),
            }
        return tables

    return run_on(url, go)


def schema_differences(before: dict, after: dict) -> list[str]:
    diffs = []
    for table in sorted(set(before) | set(after)):
        if table not in after:
            diffs.append(f"table {table} is missing")
            continue
        if table not in before:
            diffs.append(f"table {table} still exists")
            continue
        b, a = before[table], after[table]
        for col in sorted(set(b["columns"]) | set(a["columns"])):
            if col not in a["columns"]:
                diffs.append(f"column {table}.{col} is missing")
            elif col not in b["columns"]:
                diffs.append(f"column {table}.{col} still exists")
            elif a["columns"][col] != b["columns"][col]:
                diffs.append(f"column {table}.{col} changed from {b['columns'][col]} to {a['columns'][col]}")
        if a["indexes"] != b["indexes"]:
            diffs.append(f"indexes of {table} differ")
        if a["foreign_keys"] != b["foreign_keys"]:
            diffs.append(f"foreign keys of {table} differ")
    return diffs


def describe_ops(ops) -> list[str]:
    """One short phrase per operation, e.g. 'add_column note.pinned'."""
    from alembic.operations import ops as alembic_ops

    out: list[str] = []
    for op in ops:
        if isinstance(op, alembic_ops.ModifyTableOps):
            out.extend(describe_ops(op.ops))
        elif isinstance(op, (alembic_ops.AddColumnOp, alembic_ops.DropColumnOp)):
            name = op.column.name if isinstance(op, alembic_ops.AddColumnOp) else op.column_name
            out.append(f"{'add' if isinstance(op, alembic_ops.AddColumnOp) else 'drop'}_column {op.table_name}.{name}")
        elif isinstance(op, alembic_ops.AlterColumnOp):
            out.append(f"alter_column {op.table_name}.{op.column_name}")
        elif isinstance(op, (alembic_ops.CreateTableOp, alembic_ops.DropTableOp)):
            out.append(f"{'create' if isinstance(op, alembic_ops.CreateTableOp) else 'drop'}_table {op.table_name}")
        elif isinstance(op, (alembic_ops.CreateIndexOp, alembic_ops.DropIndexOp)):
            out.append(f"{'create' if isinstance(op, alembic_ops.CreateIndexOp) else 'drop'}_index {op.index_name} on {op.table_name}")
        else:
            table = getattr(op, "table_name", None)
            out.append(f"{type(op).__name__.removesuffix('Op').lower()}{' ' + table if table else ''}")
    return out


def git_branch(root: str) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    branch = out.stdout.strip()
    return branch if out.returncode == 0 and branch and branch != "HEAD" else None


def round_trip(alembic_cfg, url, where: str, before: dict) -> None:
    from alembic import command

    upgrade(alembic_cfg, url, "step 5 (upgrade head)", where)
    upgraded = schema_snapshot(url)
    try:
        command.downgrade(alembic_cfg, "-1")
    except Exception as err:
        raise StepFailed(f"step 5 (downgrade -1) on {where}: {type(err).__name__}: {err}", detail=traceback.format_exc()) from None
    diffs = schema_differences(before, schema_snapshot(url))
    if diffs:
        raise StepFailed(f"step 5 (downgrade -1) on {where}: the downgrade does not undo the upgrade: {'; '.join(diffs)}")
    upgrade(alembic_cfg, url, "step 5 (upgrade head again)", where)
    diffs = schema_differences(upgraded, schema_snapshot(url))
    if diffs:
        raise StepFailed(f"step 5 (upgrade head again) on {where}: the second upgrade differs from the first: {'; '.join(diffs)}")


def migrate(args: argparse.Namespace, cfg: DbConfig) -> int:
    url_env = cfg.url_envs[0]
    dev_url = parse_url(database_url(url_env))
    scratch = scratch_for(cfg, dev_url)
    require_local(scratch, cfg.allow_hosts, "the scratch database")
    if not cfg.scratch_url and show(scratch) == show(dev_url):
        raise HeavyError("the scratch database would be the dev database; set scratch_url under [tool.heavy.db.migrations]")
    alembic_cfg = alembic_config(args.root, scratch, url_env)
    new_file: str | None = None
    try:
        say(f"step 1: recreating scratch database {show(scratch)}")
        ensure_database(scratch, recreate=True)
        say("step 2: alembic upgrade head on scratch")
        try:
            upgrade(alembic_cfg, scratch, "step 2", "scratch")
        except StepFailed as err:
            raise StepFailed(f"existing migrations fail to apply: {err}", detail=err.detail) from None
        before = schema_snapshot(scratch)

        message = args.message or git_branch(args.root) or "heavy migration"
        say(f"step 3: autogenerating a revision ({message!r})")
        summary: list[str] = []

        def directives(context, revision, directives):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
            else:
                summary.extend(describe_ops(script.upgrade_ops.ops))

        from alembic import command

        try:
            result = command.revision(alembic_cfg, message=message, autogenerate=True, process_revision_directives=directives)
        except Exception as err:
            raise StepFailed(f"step 3 (autogenerate) on scratch: {type(err).__name__}: {err}", detail=traceback.format_exc()) from None
        scripts = [s for s in (result if isinstance(result, list) else [result]) if s is not None]
        if not scripts:
            print("No model changes: no migration created", flush=True)
            return 0
        new_file = scripts[0].path
        say(f"step 4: created {os.path.relpath(new_file, args.root)}")

        say("step 5: upgrade head, downgrade -1, upgrade head on scratch")
        round_trip(alembic_cfg, scratch, "scratch", before)
        for other in cfg.also_test:
            other_url = parse_url(other)
            require_local(other_url, cfg.allow_hosts, "an also_test database")
            where = show(other_url)
            say(f"step 5: round trip on {where}")
            other_cfg = alembic_config(args.root, other_url, url_env)
            ensure_database(other_url, recreate=True)
            try:
                command.downgrade(other_cfg, "base") if current_revision(other_url) else None
                upgrade(other_cfg, other_url, "step 5 (upgrade to previous head)", where)
                command.downgrade(other_cfg, "-1")
                other_before = schema_snapshot(other_url)
            except StepFailed:
                raise
            except Exception as err:
                raise StepFailed(f"step 5 on {where}: {type(err).__name__}: {err}", detail=traceback.format_exc()) from None
            round_trip(other_cfg, other_url, where, other_before)
        print(f"Created {os.path.relpath(new_file, args.root)}: {', '.join(summary)}", flush=True)
        return 0
    except StepFailed as err:
        if new_file:
            err.args = (f"{err.args[0]}\nThe new migration was kept for you to fix: {os.path.relpath(new_file, args.root)}",)
        raise
    finally:
        if not cfg.scratch_url:
            try:
                drop_database(scratch)
            except Exception as err:  # the result matters more than the cleanup
                say(f"could not drop the scratch database {show(scratch)}: {err}")


def check(args: argparse.Namespace, cfg: DbConfig) -> int:
    url_env = cfg.url_envs[0]
    dev_url = parse_url(database_url(url_env))
    scratch = scratch_for(cfg, dev_url)
    require_local(scratch, cfg.allow_hosts, "the scratch database")
    alembic_cfg = alembic_config(args.root, scratch, url_env)
    try:
        ensure_database(scratch, recreate=True)
        try:
            upgrade(alembic_cfg, scratch, "upgrade head", "scratch")
        except StepFailed as err:
            raise StepFailed(f"existing migrations fail to apply: {err}", detail=err.detail) from None
        differences: list[str] = []

        def directives(context, revision, directives):
            differences.extend(describe_ops(directives[0].upgrade_ops.ops))
            directives[:] = []

        from alembic import command

        command.revision(alembic_cfg, message="heavy check", autogenerate=True, process_revision_directives=directives)
        if differences:
            print("The models and the migrations differ; a migration is needed for:", flush=True)
            for d in differences:
                print(f"  {d}")
            return EXIT_FAIL
        print("The models match the migrations.", flush=True)
        return 0
    finally:
        if not cfg.scratch_url:
            try:
                drop_database(scratch)
            except Exception as err:
                say(f"could not drop the scratch database {show(scratch)}: {err}")


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="heavy db", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("pave", help="drop and recreate the dev database's tables, then seed")
    p.add_argument("--root", default=os.getcwd())
    p.add_argument("--yes", action="store_true", help="confirmed by the caller")
    p.add_argument("--dry-run", action="store_true", help="check the target and print it, change nothing")
    m = sub.add_parser("migrate", help="autogenerate and round-trip a migration on a scratch database")
    m.add_argument("--root", default=os.getcwd())
    m.add_argument("--message", "-m")
    c = sub.add_parser("check", help="exit 1 when the models and the migrations differ")
    c.add_argument("--root", default=os.getcwd())
    args = parser.parse_args(argv)
    args.root = os.path.abspath(args.root)
    os.chdir(args.root)
    try:
        cfg = load_config()
        if args.verb == "pave":
            if not args.yes and not args.dry_run:
                raise HeavyError("pave drops every table; pass --yes to confirm", EXIT_USAGE)
            return pave(args, cfg)
        if args.verb == "migrate":
            return migrate(args, cfg)
        return check(args, cfg)
    except HeavyError as err:
        if err.detail:
            sys.stderr.write(err.detail.rstrip() + "\n")
        sys.stderr.write(f"heavy: {err}\n")
        return err.code
    except ModuleNotFoundError as err:
        if err.name in ("sqlalchemy", "alembic"):
            sys.stderr.write(f"heavy: {err.name} is not installed in {sys.executable}. Install it: {sys.executable} -m pip install {err.name}\n")
            return EXIT_USAGE
        raise


if __name__ == "__main__":
    sys.exit(main())
