#!/usr/bin/env node
// npm run bench, the Hot Reload Server row: save-to-serving time of `heavy serve` against
// `uvicorn --reload` on the example app, side by side in one run, alternating saves.
// A save is timed from the write to the first response carrying the new code (polled on a
// fresh connection every 5 ms). Then, with no changes, each side's idle CPU over
// HEAVY_BENCH_IDLE_SECONDS (30 s, as issue 12 asks) and its memory, from /proc (Linux). Medians; nothing is
// asserted, the figures are for people.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HEAVY = path.join(repo, 'dist', 'heavy.js');
const EXAMPLE = path.join(repo, 'test', 'fixtures', 'example');
const SAVES = Number(process.env.HEAVY_BENCH_RUNS ?? 7);

if (!fs.existsSync(HEAVY)) throw new Error('dist/heavy.js is missing: run npm run build');
if (!fs.existsSync(path.join(EXAMPLE, '.venv'))) throw new Error('the example has no .venv: run bash scripts/setup-example.sh');

// Like with like, as in bench.mjs: both sides run without PYTHONDONTWRITEBYTECODE (developers'
// shells do not set it), so both keep bytecode caches; HEAVY_BENCH_KEEP_PYC_ENV=1 keeps it for both.
if (!process.env.HEAVY_BENCH_KEEP_PYC_ENV) delete process.env.PYTHONDONTWRITEBYTECODE;
const pycNote = process.env.PYTHONDONTWRITEBYTECODE ? 'PYTHONDONTWRITEBYTECODE=1 on both sides' : 'PYTHONDONTWRITEBYTECODE unset on both sides';

function copy() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-bench-serve-'));
  fs.cpSync(EXAMPLE, root, { recursive: true, filter: (src) => !/(\.venv|__pycache__|\.pytest_cache|\.db)$/.test(src) });
  fs.symlinkSync(path.join(EXAMPLE, '.venv'), path.join(root, '.venv'));
  return root;
}

// uvicorn --reload at its best: with watchfiles (uvicorn[standard]), not its 0.25 s stat polling.
// The example's venv lacks it, so it goes into a private folder on uvicorn's PYTHONPATH only.
function watchfilesPath(python) {
  const dir = path.join(os.tmpdir(), 'heavy-bench-watchfiles');
  if (!fs.existsSync(path.join(dir, 'watchfiles'))) {
    spawnSync(python, ['-m', 'pip', 'install', '-q', '--retries', '0', '--target', dir, 'watchfiles'], { stdio: 'ignore' });
  }
  return fs.existsSync(path.join(dir, 'watchfiles')) ? dir : undefined;
}

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

function hello(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/hello', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
      res.on('error', () => resolve(''));
    });
    req.on('error', () => resolve(''));
  });
}

function start(name, file, args, env, cwd) {
  const child = spawn(file, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  return { name, child, output: () => out, stop: () => { try { process.kill(-child.pid, 'SIGINT'); } catch {} } };
}

async function waitUntil(predicate, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Writes the marker into /hello and returns the milliseconds until the server answers with it. */
async function save(side, marker) {
  const main = path.join(side.root, 'app', 'main.py');
  const text = side.original.replace('return {"message": message}', `return {"message": "${marker}"}`);
  const t0 = performance.now();
  fs.writeFileSync(main, text);
  await waitUntil(async () => (await hello(side.port)).includes(marker), 60000, `${side.name} serving ${marker}\n${side.server.output()}`);
  return performance.now() - t0;
}

// ---------------------------------------------------------------- /proc: CPU and memory of a process tree

const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const IDLE_SECONDS = Number(process.env.HEAVY_BENCH_IDLE_SECONDS ?? 30);

function stat(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return { state: fields[0], ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch { return undefined; }
}

/** pid and every live descendant (the engine is a subreaper, so its children stay its own). */
function tree(pid) {
  const all = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number);
  const parent = new Map(all.map((p) => [p, stat(p)]).filter(([, s]) => s && s.state !== 'Z').map(([p, s]) => [p, s.ppid]));
  const found = [pid];
  for (let i = 0; i < found.length; i++) for (const [p, pp] of parent) if (pp === found[i]) found.push(p);
  return found.filter((p) => parent.has(p));
}

const cpuTicks = (pids) => pids.reduce((sum, p) => sum + (stat(p)?.ticks ?? 0), 0);

/** kB from /proc/PID/smaps_rollup: Rss, and Private (pages no other process shares: after fork, what a child really costs). */
function memory(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { rss: kb('Rss'), private: kb('Private_Clean') + kb('Private_Dirty') };
  } catch { return { rss: 0, private: 0 }; }
}

/** The Python server processes: heavy's warm parent and its serving child; uvicorn's reloader and its worker. */
function pythonTree(side) {
  const pids = tree(side.server.child.pid);
  const python = pids.filter((p) => { try { return /python/.test(fs.readFileSync(`/proc/${p}/cmdline`, 'utf8')); } catch { return false; } });
  return { all: pids, parent: python[0], children: python.slice(1) };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

// ---------------------------------------------------------------- the heavier app (bench only)

// The example imports little. This app, generated into each side's copy and never kept, imports
// what a real backend does, all from the example's venv: SQLModel tables with relationships on
// SQLAlchemy, pydantic-settings, pydantic schemas, ROUTERS routers of ROUTES routes each, httpx
// and alembic. /hello stays in app/main.py with the same line, so the same edit is timed.
const ROUTERS = 6;
const ROUTES = 5;
const TABLES = ['Team', 'Member', 'Project', 'Task', 'Comment', 'Label'];
const HEAVIER_SUMMARY = `${TABLES.length} SQLModel tables, pydantic-settings, ${ROUTERS} routers x ${ROUTES} routes, httpx, alembic`;

function writeHeavierApp(root) {
  const app = path.join(root, 'app');
  const write = (rel, text) => { fs.mkdirSync(path.dirname(path.join(app, rel)), { recursive: true }); fs.writeFileSync(path.join(app, rel), text); };
  write('config.py', `from functools import lru_cache

from pydantic import Field, PostgresDsn, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_prefix="BENCH_", extra="ignore")

    database_url: str = "sqlite:///./bench.db"
    replica_dsn: PostgresDsn | None = None
    secret_key: SecretStr = SecretStr("change-me")
    page_size: int = Field(default=50, ge=1, le=500)
    cors_origins: list[str] = ["http://localhost:3000"]
    upstream_url: str = "https://example.invalid"


@lru_cache
def get_settings() -> Settings:
    return Settings()
`);
  const tables = TABLES.map((name, i) => {
    const parent = i ? TABLES[i - 1] : undefined;
    const child = TABLES[i + 1];
    return `class ${name}(SQLModel, table=True):
    __tablename__ = "${name.toLowerCase()}"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=200)
    description: str | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    score: Decimal = Field(default=Decimal("0"), max_digits=10, decimal_places=2)
    extra: dict = Field(default_factory=dict, sa_column=Column(JSON))
${parent ? `    ${parent.toLowerCase()}_id: int | None = Field(default=None, foreign_key="${parent.toLowerCase()}.id")
    ${parent.toLowerCase()}: Optional["${parent}"] = Relationship(back_populates="${name.toLowerCase()}s")
` : ''}${child ? `    ${child.toLowerCase()}s: list["${child}"] = Relationship(back_populates="${name.toLowerCase()}")
` : ''}`;
  }).join('\n\n');
  write('tables.py', `from datetime import datetime, timezone
from decimal import Decimal
from typing import Optional

from sqlalchemy import JSON, Column, func
from sqlalchemy.orm import selectinload
from sqlmodel import Field, Relationship, SQLModel

__all__ = [${TABLES.map((t) => `"${t}"`).join(', ')}, "func", "selectinload"]


${tables}
`);
  write('routers/__init__.py', '');
  for (let r = 0; r < ROUTERS; r++) {
    const table = TABLES[r % TABLES.length];
    const routes = [];
    for (let k = 0; k < ROUTES; k++) {
      routes.push(`@router.get("/q${k}", response_model=list[${table}Out])
def query_${k}(
    limit: int = Query(default=10, le=100),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> list[${table}Out]:
    rows = session.exec(select(${table}).where(${table}.id > ${k}).limit(min(limit, settings.page_size))).all()
    return [${table}Out.model_validate(row, from_attributes=True) for row in rows]
`);
    }
    write(`routers/r${r}.py`, `from datetime import datetime

import httpx
from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, HttpUrl, field_validator
from sqlmodel import Session, select

from app.config import Settings, get_settings
from app.db import get_session
from app.tables import ${table}

router = APIRouter(prefix="/r${r}", tags=["r${r}"])


class ${table}Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    created_at: datetime


class ${table}In(BaseModel):
    name: str
    homepage: HttpUrl | None = None

    @field_validator("name")
    @classmethod
    def not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("blank")
        return v


@router.post("/", status_code=status.HTTP_201_CREATED)
def create(body: ${table}In, session: Session = Depends(get_session)) -> dict:
    row = ${table}(name=body.name)
    session.add(row)
    session.commit()
    return {"id": row.id}


@router.get("/upstream")
async def upstream(settings: Settings = Depends(get_settings)) -> dict:
    async with httpx.AsyncClient(base_url=settings.upstream_url, timeout=1) as client:
        try:
            return (await client.get("/")).json()
        except httpx.HTTPError as exc:
            raise HTTPException(status_code=502, detail=str(exc)) from exc


${routes.join('\n\n')}`);
  }
  write('migrations.py', `from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.autogenerate import compare_metadata

__all__ = ["command", "Config", "MigrationContext", "compare_metadata"]
`);
  const main = fs.readFileSync(path.join(app, 'main.py'), 'utf8');
  const imports = [
    'from fastapi.middleware.cors import CORSMiddleware',
    'from app import migrations  # noqa: F401',
    'from app import tables  # noqa: F401',
    'from app.config import get_settings',
    ...Array.from({ length: ROUTERS }, (_, r) => `from app.routers import r${r}`),
  ].join('\n');
  const wiring = [
    'app.add_middleware(CORSMiddleware, allow_origins=get_settings().cors_origins, allow_methods=["*"])',
    ...Array.from({ length: ROUTERS }, (_, r) => `app.include_router(r${r}.router)`),
  ].join('\n');
  const text = main
    .replace('from app.settings import greeting\n', `from app.settings import greeting\n${imports}\n`)
    .replace(/^(app = FastAPI\(.*\)\n)/m, `$1${wiring}\n`);
  if (!text.includes('app.include_router(r0.router)') || !text.includes('from app.routers import r0')) throw new Error('app/main.py no longer has the shape the heavier app expects');
  fs.writeFileSync(path.join(app, 'main.py'), text);
}

/**
 * One side-by-side run on a copy of the example (prepared by `prepare(root)`): both servers
 * started, a warm-up save each, then SAVES alternating saves; with `idle`, idle CPU and memory too.
 */
async function compare(label, prepare, { idle }) {
  const heavy = { name: 'heavy serve', root: copy(), port: await freePort() };
  const uv = { name: 'uvicorn --reload', root: copy(), port: await freePort() };
  const sides = [heavy, uv];
  for (const side of sides) prepare(side.root);
  const python = path.join(uv.root, '.venv', 'bin', 'python');
  const watchfiles = watchfilesPath(python);
  heavy.server = start(heavy.name, process.execPath, [HEAVY, 'serve', '--root', heavy.root, '--port', String(heavy.port)], {}, heavy.root);
  uv.server = start(uv.name, python, ['-m', 'uvicorn', 'app.main:app', '--reload', '--port', String(uv.port)],
    watchfiles ? { PYTHONPATH: watchfiles } : {}, uv.root);
  try {
    for (const side of sides) {
      side.original = fs.readFileSync(path.join(side.root, 'app', 'main.py'), 'utf8');
      await waitUntil(async () => (await hello(side.port)) !== '', 180000, `${side.name} to start (${label})\n${side.server.output()}`);
      side.times = [];
    }
    await save(heavy, 'warm-up');
    await save(uv, 'warm-up');
    for (let i = 0; i < SAVES; i++) {
      for (const side of i % 2 ? [uv, heavy] : [heavy, uv]) {
        side.times.push(await save(side, `edit ${i}`));
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    if (idle) {
      // Idle: both sides at once, no changes, after the last reload has settled.
      await new Promise((r) => setTimeout(r, 2000));
      for (const side of sides) {
        side.procs = pythonTree(side);
        side.ticks0 = cpuTicks(side.procs.all);
      }
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
      const seconds = (performance.now() - t0) / 1000;
      for (const side of sides) {
        side.idleCpu = ((cpuTicks(side.procs.all) - side.ticks0) / TICKS / seconds) * 100;
        const parent = memory(side.procs.parent);
        side.parentRss = parent.rss;
        side.private = parent.private + side.procs.children.reduce((sum, p) => sum + memory(p).private, 0);
        side.rssAll = parent.rss + side.procs.children.reduce((sum, p) => sum + memory(p).rss, 0);
      }
    }
  } finally {
    for (const side of sides) side.server?.stop();
    await new Promise((r) => setTimeout(r, 1500));
    for (const side of sides) fs.rmSync(side.root, { recursive: true, force: true });
  }
  return { heavy, uv };
}

const example = await compare('example app', () => {}, { idle: true });
const big = await compare('heavier app', writeHeavierApp, { idle: false });
const { heavy, uv } = example;
const reloader = /WatchFiles/.test(uv.server.output()) ? 'WatchFiles' : /StatReload/.test(uv.server.output()) ? 'StatReload' : 'its reloader';
const a = median(heavy.times);
const b = median(uv.times);
console.log(`Hot Reload Server, save to first response with the new code (example app, median of ${SAVES} saves each, ${pycNote}):`);
console.log(`  heavy serve       ${a.toFixed(0)} ms   (${heavy.times.map((t) => t.toFixed(0)).join(', ')})`);
console.log(`  uvicorn --reload  ${b.toFixed(0)} ms   (${uv.times.map((t) => t.toFixed(0)).join(', ')}; ${reloader})`);
console.log(`  ratio             ${(b / a).toFixed(1)}x faster`);
const c = median(big.heavy.times);
const d = median(big.uv.times);
console.log(`The same on the heavier app (${HEAVIER_SUMMARY}):`);
console.log(`  heavy serve       ${c.toFixed(0)} ms   (${big.heavy.times.map((t) => t.toFixed(0)).join(', ')})`);
console.log(`  uvicorn --reload  ${d.toFixed(0)} ms   (${big.uv.times.map((t) => t.toFixed(0)).join(', ')})`);
console.log(`  ratio             ${(d / c).toFixed(1)}x faster`);
const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;
console.log(`Idle CPU over ${IDLE_SECONDS} s with no changes (every process of the side, % of one core):`);
console.log(`  heavy serve       ${heavy.idleCpu.toFixed(2)} %   (node CLI + warm parent + child)`);
console.log(`  uvicorn --reload  ${uv.idleCpu.toFixed(2)} %   (reloader + worker)`);
console.log('Memory (private: pages the process does not share; a forked child shares the warm parent\'s):');
console.log(`  heavy serve       parent RSS ${mb(heavy.parentRss)}, private parent + child ${mb(heavy.private)} (RSS summed ${mb(heavy.rssAll)})`);
console.log(`  uvicorn --reload  reloader RSS ${mb(uv.parentRss)}, private reloader + worker ${mb(uv.private)} (RSS summed ${mb(uv.rssAll)})`);
