import * as fs from 'node:fs';
import * as path from 'node:path';

// What runs actually imported, per test file: modules loaded with importlib.import_module()
// in a fixture, or imported inside a function, which the static graph cannot see.
//
// Entries grow by union rather than being replaced by the newest run's: a narrowed run
// (-k, a node id, -x, --lf) and the editor's discovery (--collect-only) run only part of a
// file, so they see only part of its imports, and replacing would forget the rest. A module
// a test stopped importing costs an unneeded re-run at worst, never a missed one.

export class RunImports {
  private byTest = new Map<string, Set<string>>();
  private readonly realRoot: string;

  constructor(private readonly root: string) {
    let real = root;
    try {
      real = fs.realpathSync(root);
    } catch { /* gone: paths are compared as given */ }
    this.realRoot = real;
  }

  /** Adds a run's `imports` (test file → project files, absolute). */
  record(imports: Record<string, string[]> | undefined): void {
    if (!imports) return;
    for (const [test, files] of Object.entries(imports)) {
      const key = this.inRoot(test);
      let set = this.byTest.get(key);
      if (!set) this.byTest.set(key, (set = new Set()));
      for (const file of files) {
        const dep = this.inRoot(file);
        if (dep !== key) set.add(dep);
      }
    }
  }

  /** Test file → the project files its runs imported, in the import graph's spelling of paths. */
  get edges(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.byTest;
  }

  /** Python reports real paths when the root was reached through a symlink; the graph uses the root as given. */
  private inRoot(file: string): string {
    const abs = path.resolve(file);
    if (this.realRoot !== this.root && (abs === this.realRoot || abs.startsWith(this.realRoot + path.sep))) {
      return path.join(this.root, path.relative(this.realRoot, abs));
    }
    return abs;
  }
}
