// Builds the two bundles: dist/extension.js (VS Code side, `vscode` external) and
// dist/heavy.js (CLI and daemon, one executable file). With --tests it also builds the
// suite that runs inside a real VS Code into out/test/.
import { build } from 'esbuild';
import { chmodSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const production = process.argv.includes('--production');
const withTests = process.argv.includes('--tests');
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  legalComments: 'none',
  define: { HEAVY_VERSION: JSON.stringify(version) },
  logLevel: 'warning',
  // jsonc-parser's UMD entry requires files dynamically; its ESM entry bundles cleanly.
  mainFields: ['module', 'main'],
};

await Promise.all([
  build({ ...common, entryPoints: ['extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', 'node-pty'] }),
  build({
    ...common,
    entryPoints: ['daemon/cli/main.ts'],
    outfile: 'dist/heavy.js',
    external: ['node-pty'],
    banner: { js: '#!/usr/bin/env node' },
    // main.ts runs itself when it is the entry; the bundle makes it so.
    footer: { js: '' },
  }),
]);
chmodSync('dist/heavy.js', 0o755);

if (withTests) {
  // Each suite folder gets the shared runner (suite/index.ts) next to its own tests.
  for (const suite of ['test/vscode/suite', 'test/vscode/suite-restricted']) {
    const tests = readdirSync(suite).filter((f) => f.endsWith('.test.ts'))
      .map((f) => ({ in: join(suite, f), out: f.replace(/\.ts$/, '') }));
    await build({
      ...common,
      sourcemap: 'inline',
      minify: false,
      entryPoints: [{ in: 'test/vscode/suite/index.ts', out: 'index' }, ...tests],
      outdir: join('out', suite),
      external: ['vscode', 'mocha'],
    });
  }
}
