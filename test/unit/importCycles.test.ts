import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';

// The style rule "no import cycles", checked on what actually runs: esbuild drops type-only
// imports, so `import type` between two modules is allowed, a runtime import both ways is not.
const repo = path.resolve(__dirname, '../..');

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(repo, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'python' ? [] : sources(rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Every cycle among our own modules, each as "a -> b -> a". */
function cycles(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

describe('import graph', () => {
  it('the extension and the daemon have no import cycles', async function () {
    this.timeout(60000);
    const entryPoints = [...sources('extension'), ...sources('daemon')];
    const result = await build({
      entryPoints, bundle: true, write: false, metafile: true, platform: 'node', format: 'cjs', outdir: '/tmp/heavy-import-graph',
      absWorkingDir: repo, external: ['vscode', 'node-pty'], logLevel: 'silent', packages: 'external',
    });
    const graph = new Map<string, string[]>();
    for (const [file, input] of Object.entries(result.metafile!.inputs)) {
      if (file.includes('node_modules')) continue;
      graph.set(file, input.imports.map((i) => i.path).filter((p) => !p.includes('node_modules') && p in result.metafile!.inputs));
    }
    assert.ok(graph.size > 50, `read ${graph.size} modules`);
    assert.deepEqual(cycles(graph), []);
  });

  it('finds a cycle when there is one (the check itself)', () => {
    const graph = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]);
    assert.deepEqual(cycles(graph), ['a.ts -> b.ts -> c.ts -> a.ts']);
  });
});
