import * as fs from 'node:fs';
import * as path from 'node:path';

// Static import graph of a project's own Python files, for `heavy watch`: which test
// modules can see a change. Static analysis errs on the side of running more (a name
// imported inside a function still counts), never fewer, and needs no Python process.

const SKIP = new Set(['.git', '.hg', '.venv', 'venv', 'node_modules', '__pycache__', '.heavy', '.tox', '.nox',
  '.pytest_cache', '.mypy_cache', '.ruff_cache', 'build', 'dist', 'site-packages', '.vscode-test']);

export interface ImportGraph {
  /** Absolute file → the project files it imports directly. */
  edges: Map<string, Set<string>>;
  files: string[];
}

export function isTestFile(file: string): boolean {
  const base = path.basename(file);
  return /^test_.*\.py$/.test(base) || /_test\.py$/.test(base);
}

export function listPythonFiles(root: string, limit = 20000): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (out.length >= limit) return;
      if (entry.isDirectory()) {
        if (!SKIP.has(entry.name) && !entry.name.startsWith('.')) walk(path.join(dir, entry.name));
      } else if (entry.name.endsWith('.py')) {
        out.push(path.join(dir, entry.name));
      }
    }
  };
  walk(root);
  return out;
}

/** The module names a Python source imports, with relative imports resolved against `pkg`. */
export function parseImports(source: string, pkg: string[]): string[] {
  const found: string[] = [];
  // Join parenthesised and backslash-continued import lists into one line.
  const text = source.replace(/\\\r?\n/g, ' ').replace(/\(([^()]*)\)/g, (m, inner: string) => (/\bimport\b/.test(m) ? m : `(${inner.replace(/\r?\n/g, ' ')})`));
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, '').trim();
    let m = /^import\s+(.+)$/.exec(line);
    if (m) {
      for (const part of m[1].split(',')) {
        const name = part.trim().split(/\s+as\s+/)[0].trim();
        if (/^[\w.]+$/.test(name)) found.push(name);
      }
      continue;
    }
    m = /^from\s+(\.*)([\w.]*)\s+import\s+\(?([^)]*)\)?$/.exec(line);
    if (m) {
      const [, dots, name, names] = m;
      let base: string[];
      if (dots.length) {
        base = pkg.slice(0, Math.max(0, pkg.length - (dots.length - 1)));
        if (name) base = [...base, ...name.split('.')];
      } else {
        base = name.split('.');
      }
      if (base.length) found.push(base.join('.'));
      for (const part of names.split(',')) {
        const sub = part.trim().split(/\s+as\s+/)[0].trim();
        if (/^\w+$/.test(sub)) found.push([...base, sub].join('.'));
      }
    }
  }
  return found;
}

function packageOf(root: string, file: string, sourceRoots: string[]): string[] {
  for (const sr of sourceRoots) {
    const rel = path.relative(sr, file);
    if (!rel.startsWith('..')) {
      const parts = rel.split(path.sep);
      parts.pop();
      return parts;
    }
  }
  return path.relative(root, path.dirname(file)).split(path.sep).filter(Boolean);
}

type ReadFile = (file: string) => string;
const readUtf8: ReadFile = (f) => fs.readFileSync(f, 'utf8');

export function buildImportGraph(root: string, files = listPythonFiles(root), readFile = readUtf8): ImportGraph {
  const graph: ImportGraph = { edges: new Map(), files };
  updateImportGraph(graph, root, files, readFile);
  return graph;
}

/**
 * Re-reads the imports of `changed` files whose content changed; the set of files is
 * the same (a file added or deleted can change how others resolve: build anew then).
 */
export function updateImportGraph(graph: ImportGraph, root: string, changed: string[], readFile = readUtf8): void {
  const sourceRoots = [root, path.join(root, 'src')].filter((d) => fs.existsSync(d));
  const known = new Set(graph.files);
  const resolve = (name: string): string[] => {
    const out: string[] = [];
    const parts = name.split('.');
    for (const sr of sourceRoots) {
      // Importing a.b.c runs a/__init__.py and a/b/__init__.py too.
      for (let i = 1; i <= parts.length; i++) {
        const dir = path.join(sr, ...parts.slice(0, i));
        const init = path.join(dir, '__init__.py');
        if (known.has(init)) out.push(init);
        if (i === parts.length && known.has(dir + '.py')) out.push(dir + '.py');
      }
    }
    return out;
  };
  for (const file of changed) {
    if (!known.has(file)) continue;
    let source: string;
    try {
      source = readFile(file);
    } catch {
      graph.edges.delete(file);
      continue;
    }
    const deps = new Set<string>();
    for (const name of parseImports(source, packageOf(root, file, sourceRoots))) {
      for (const target of resolve(name)) if (target !== file) deps.add(target);
    }
    // pytest loads every conftest.py from the rootdir down to a test's folder.
    if (isTestFile(file) || path.basename(file) === 'conftest.py') {
      let dir = path.dirname(file);
      while (dir.startsWith(root)) {
        const conftest = path.join(dir, 'conftest.py');
        if (conftest !== file && known.has(conftest)) deps.add(conftest);
        if (dir === root) break;
        dir = path.dirname(dir);
      }
    }
    graph.edges.set(file, deps);
  }
}

/**
 * The test files that a change to `changed` (absolute paths) can affect, or 'all' when
 * the change is not to a Python file we can follow (data files, config, deletions of unknown files).
 * `imported` adds what runs actually imported (test file → project files: RunImports.edges),
 * which the static graph misses when a fixture uses importlib.
 */
export function affectedTests(graph: ImportGraph, changed: string[], imported?: ReadonlyMap<string, ReadonlySet<string>>): string[] | 'all' {
  const reverse = new Map<string, Set<string>>();
  const add = (edges: ReadonlyMap<string, ReadonlySet<string>>) => {
    for (const [file, deps] of edges) {
      for (const dep of deps) {
        if (!reverse.has(dep)) reverse.set(dep, new Set());
        reverse.get(dep)!.add(file);
      }
    }
  };
  add(graph.edges);
  if (imported) add(imported);
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const file of changed) {
    if (!file.endsWith('.py')) return 'all';
    if (!seen.has(file)) { seen.add(file); queue.push(file); }
  }
  while (queue.length) {
    const file = queue.pop()!;
    for (const user of reverse.get(file) ?? []) {
      if (!seen.has(user)) { seen.add(user); queue.push(user); }
    }
  }
  return [...seen].filter((f) => isTestFile(f) && graph.edges.has(f)).sort();
}
