// Builds the two bundles: dist/extension.js (VS Code side, `vscode` external) and
// dist/heavy.js (CLI and daemon: an executable that loads dist/cli/). With --tests it also builds the
// suite that runs inside a real VS Code into out/test/.
import { build } from 'esbuild';
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

// The CLI and daemon are one build split by command (ES modules in dist/cli/), so that
// `heavy test`, which people run all day, loads a tenth of what `heavy daemon` needs.
// dist/heavy.js is the executable that loads it.
const esmShims = [
  "import { createRequire as __heavyCreateRequire } from 'node:module';",
  "import { fileURLToPath as __heavyFileURLToPath } from 'node:url';",
  "import { dirname as __heavyDirname } from 'node:path';",
  'const require = __heavyCreateRequire(import.meta.url);',
  'const __filename = __heavyFileURLToPath(import.meta.url);',
  'const __dirname = __heavyDirname(__filename);',
].join('\n');

for (const old of ['dist/cli', 'dist/heavy.js.map']) rmSync(old, { recursive: true, force: true });
await Promise.all([
  build({ ...common, entryPoints: ['extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', 'node-pty'] }),
  build({
    ...common,
    format: 'esm',
    splitting: true,
    entryPoints: { heavy: 'daemon/cli/bin.ts' },
    outdir: 'dist/cli',
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    external: ['node-pty'],
    banner: { js: esmShims },
  }),
]);
writeFileSync('dist/heavy.js', [
  '#!/usr/bin/env node',
  '// Heavy Dev CLI and daemon: the code is in ./cli, loaded by command.',
  "import('./cli/heavy.mjs');",
  '',
].join('\n'));
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
