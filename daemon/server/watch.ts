import * as fs from 'node:fs';
import * as path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import ignore from 'ignore';

const ALWAYS_IGNORED = ['.git', '.hg', '.venv', 'venv', 'node_modules', '__pycache__', '.heavy', '.pytest_cache', '.mypy_cache', '.ruff_cache', '.tox', '.nox', '.vscode-test', '.benchmarks', '.hypothesis', '.coverage', 'htmlcov',
  // pytest builds .pytest_cache in a temporary folder beside it, then renames it.
  'pytest-cache-files-*',
  // SQLite's transient companions of a database the tests write.
  '*.db-journal', '*.db-wal', '*.db-shm', '*.sqlite-journal', '*.sqlite3-journal'];

/** Files whose change can alter what the warm parent imported or how pytest is set up. */
export function needsRebuild(relative: string): boolean {
  const base = path.basename(relative);
  return ['pyproject.toml', 'setup.cfg', 'pytest.ini', 'tox.ini', '.env', 'poetry.lock', 'uv.lock', 'Pipfile.lock', 'pdm.lock', 'setup.py'].includes(base)
    || /^requirements.*\.txt$/.test(base)
    || (!relative.includes(path.sep) && base.endsWith('.pth'));
}

export interface ProjectWatcher {
  /** Resolves once the initial scan is done; changes before that may be missed. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Watches the project (chokidar, native events: no polling, so idle costs nothing),
 * skipping the usual clutter and whatever .gitignore ignores.
 */
export function watchProject(root: string, onChange: (relative: string, event: string) => void, extraIgnores: string[] = []): ProjectWatcher {
  const ig = ignore().add(ALWAYS_IGNORED).add(extraIgnores);
  try {
    ig.add(fs.readFileSync(path.join(root, '.gitignore'), 'utf8'));
  } catch { /* no .gitignore */ }
  const isIgnored = (p: string): boolean => {
    const rel = path.relative(root, p);
    if (!rel || rel.startsWith('..')) return false;
    const posix = rel.split(path.sep).join('/');
    return ig.ignores(posix) || ig.ignores(posix + '/');
  };
  const watcher: FSWatcher = watch(root, { ignored: isIgnored, ignoreInitial: true, persistent: true });
  watcher.on('all', (event, file) => onChange(path.relative(root, file), event));
  watcher.on('error', () => { /* a vanished folder is not worth dying for */ });
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return { ready, close: () => watcher.close() };
}
