import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError, readPyProject, type Framework, type HeavyConfig } from './config';

export interface AppInfo {
  /** "package.module:attribute", as uvicorn, sanic and flask take it. */
  ref: string;
  framework?: Framework;
  file?: string;
  line?: number;
  source: 'config' | 'scan';
}

export interface PythonInfo {
  path: string;
  source: 'config' | 'venv' | 'python-extension' | 'default';
}

export interface ProjectInfo {
  root: string;
  pyproject?: string;
  config: HeavyConfig;
  app?: AppInfo;
  pytest: boolean;
  alembicIni?: string;
  envFile?: string;
  /** Variables from the project's .env file, as written there. */
  env: Record<string, string>;
  python: PythonInfo;
  usesSqlAlchemy: boolean;
}

export interface DetectOptions {
  /** The interpreter the Python extension has selected, when that extension is installed. */
  extensionPython?: string;
  platform?: NodeJS.Platform;
}

const SKIP_DIRS = new Set([
  '.git', '.hg', '.svn', '.venv', 'venv', 'env', '.env', 'node_modules', '__pycache__', '.heavy',
  '.tox', '.nox', '.mypy_cache', '.pytest_cache', '.ruff_cache', 'build', 'dist', 'site-packages',
  '.vscode', '.vscode-test', 'migrations', 'alembic',
]);
const TEST_DIRS = new Set(['tests', 'test', 'testing']);
const MAX_SCAN_DEPTH = 5;
const MAX_SCAN_FILES = 4000;
const APP_ASSIGNMENT = /^([A-Za-z_]\w*)\s*(?::[^=]+)?=\s*(?:[A-Za-z_][\w.]*\.)?(FastAPI|Starlette|Sanic|Flask)\s*\(/;
const PREFERRED_FILES = ['main.py', 'app.py', 'asgi.py', 'wsgi.py', 'server.py', 'application.py', '__init__.py'];

export function detectProject(root: string, options: DetectOptions = {}): ProjectInfo {
  const absRoot = path.resolve(root);
  if (!fs.existsSync(absRoot) || !fs.statSync(absRoot).isDirectory()) {
    throw new ConfigError(absRoot, undefined, `${absRoot}: no such project folder`);
  }
  const pyproject = readPyProject(absRoot);
  const config = pyproject.heavy;
  const envFile = path.resolve(absRoot, config.env_file ?? '.env');
  const hasEnv = isFile(envFile);
  if (config.env_file && !hasEnv) {
    throw new ConfigError(pyproject.file ?? 'pyproject.toml', 'tool.heavy.env_file',
      `${pyproject.file}: "tool.heavy.env_file" names ${envFile}, which does not exist`);
  }
  return {
    root: absRoot,
    pyproject: pyproject.file,
    config,
    app: detectApp(absRoot, config),
    pytest: detectPytest(absRoot, pyproject.document),
    alembicIni: isFile(path.join(absRoot, 'alembic.ini')) ? path.join(absRoot, 'alembic.ini') : undefined,
    envFile: hasEnv ? envFile : undefined,
    env: hasEnv ? parseDotenv(fs.readFileSync(envFile)) : {},
    python: detectPython(absRoot, config, pyproject.file, options),
    usesSqlAlchemy: detectSqlAlchemy(absRoot, config, pyproject.document),
  };
}

export function detectPython(root: string, config: HeavyConfig, pyprojectFile: string | undefined,
                             options: DetectOptions = {}): PythonInfo {
  const windows = (options.platform ?? process.platform) === 'win32';
  if (config.python) {
    const expanded = config.python.startsWith('~') ? path.join(os.homedir(), config.python.slice(1)) : config.python;
    const isBareCommand = !expanded.includes('/') && !expanded.includes('\\');
    const candidate = isBareCommand ? expanded : path.resolve(root, expanded);
    if (!isBareCommand && !isFile(candidate)) {
      throw new ConfigError(pyprojectFile ?? 'pyproject.toml', 'tool.heavy.python',
        `${pyprojectFile}: "tool.heavy.python" is ${config.python}, but ${candidate} does not exist`);
    }
    return { path: candidate, source: 'config' };
  }
  const venvBin = windows ? path.join('Scripts', 'python.exe') : path.join('bin', 'python');
  for (const dir of ['.venv', 'venv']) {
    const candidate = path.join(root, dir, venvBin);
    if (isFile(candidate)) return { path: candidate, source: 'venv' };
  }
  if (options.extensionPython) return { path: options.extensionPython, source: 'python-extension' };
  return { path: windows ? 'python' : 'python3', source: 'default' };
}

export function detectApp(root: string, config: HeavyConfig): AppInfo | undefined {
  if (config.app) {
    const [modulePath, attribute] = config.app.split(':');
    const file = moduleFile(root, modulePath);
    const found = file ? findAssignments(file).find((a) => a.name === attribute) : undefined;
    return {
      ref: config.app,
      framework: config.framework ?? found?.framework,
      file,
      line: found?.line,
      source: 'config',
    };
  }
  const candidates = scanForApps(root);
  if (candidates.length === 0) return undefined;
  const best = candidates[0];
  return { ...best, framework: config.framework ?? best.framework };
}

interface Assignment { name: string; framework: Framework; line: number }

export function findAssignments(file: string): Assignment[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const found: Assignment[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const match = APP_ASSIGNMENT.exec(line);
    if (match) found.push({ name: match[1], framework: match[2].toLowerCase() as Framework, line: index + 1 });
  });
  return found;
}

interface Candidate extends AppInfo { score: number }

export function scanForApps(root: string): AppInfo[] {
  const candidates: Candidate[] = [];
  let budget = MAX_SCAN_FILES;
  const walk = (dir: string, depth: number, inTests: boolean): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (budget <= 0) return;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth >= MAX_SCAN_DEPTH || SKIP_DIRS.has(entry.name) || entry.name.startsWith('.')) continue;
        walk(full, depth + 1, inTests || TEST_DIRS.has(entry.name));
      } else if (entry.isFile() && entry.name.endsWith('.py')) {
        budget--;
        if (inTests || entry.name.startsWith('test_') || entry.name === 'conftest.py') continue;
        for (const a of findAssignments(full)) {
          const rel = path.relative(root, full);
          const preferred = PREFERRED_FILES.indexOf(entry.name);
          candidates.push({
            ref: `${moduleName(rel)}:${a.name}`,
            framework: a.framework,
            file: full,
            line: a.line,
            source: 'scan',
            score: depth * 10 + (preferred < 0 ? 9 : preferred) + (a.name === 'app' ? 0 : 5),
          });
        }
      }
    }
  };
  walk(root, 0, false);
  candidates.sort((a, b) => a.score - b.score || a.ref.localeCompare(b.ref));
  return candidates.map(({ score: _score, ...rest }) => rest);
}

/** Turns "src/pkg/mod.py" into "pkg.mod"; a src/ layout is importable without the prefix. */
export function moduleName(relativeFile: string): string {
  let parts = relativeFile.replace(/\.py$/, '').split(/[\\/]/);
  if (parts[parts.length - 1] === '__init__') parts = parts.slice(0, -1);
  if (parts[0] === 'src' && parts.length > 1) parts = parts.slice(1);
  return parts.join('.');
}

function moduleFile(root: string, modulePath: string): string | undefined {
  const rel = modulePath.split('.');
  for (const base of [root, path.join(root, 'src')]) {
    for (const candidate of [path.join(base, ...rel) + '.py', path.join(base, ...rel, '__init__.py')]) {
      if (isFile(candidate)) return candidate;
    }
  }
  return undefined;
}

function detectPytest(root: string, document: Record<string, unknown>): boolean {
  const tool = document.tool as Record<string, unknown> | undefined;
  if (tool && typeof tool.pytest === 'object') return true;
  if (['pytest.ini', 'conftest.py'].some((f) => isFile(path.join(root, f)))) return true;
  for (const [file, section] of [['setup.cfg', '[tool:pytest]'], ['tox.ini', '[pytest]']]) {
    if (readText(path.join(root, file)).includes(section)) return true;
  }
  if (mentionsPackage(root, document, 'pytest')) return true;
  return ['tests', 'test'].some((d) => isDir(path.join(root, d)));
}

function detectSqlAlchemy(root: string, config: HeavyConfig, document: Record<string, unknown>): boolean {
  if (config.db?.metadata) return true;
  return mentionsPackage(root, document, 'sqlalchemy') || mentionsPackage(root, document, 'sqlmodel');
}

function mentionsPackage(root: string, document: Record<string, unknown>, name: string): boolean {
  const pattern = new RegExp(`(^|["'\\s\\[,])${name}(\\b|$)`, 'im');
  if (pattern.test(JSON.stringify(document.project ?? {})) || pattern.test(JSON.stringify((document.tool as any)?.poetry ?? {}))) {
    return true;
  }
  let files: string[] = [];
  try {
    files = fs.readdirSync(root).filter((f) => /^requirements.*\.txt$/.test(f));
  } catch { /* unreadable root: nothing to mention */ }
  return files.some((f) => pattern.test(readText(path.join(root, f))));
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
