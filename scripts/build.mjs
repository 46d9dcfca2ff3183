// Builds the two bundles: dist/extension.js (VS Code side, `vscode` external) and
// dist/heavy.js (the CLI, loading each command from dist/cli/). With --tests it also builds the
// suite that runs inside a real VS Code into out/test/.
import { build } from 'esbuild';
import { chmodSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(repo);
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

// The CLI: dist/heavy.js parses the command line and loads each command from its own
// bundle in dist/cli/, so `heavy test`, which people run all day, loads a tenth of what the
// daemon needs. Source files keep plain dynamic imports; this maps them to those bundles.
const COMMAND_BUNDLES = {
  'daemon/cli/main.ts': { './profilesCommand': 'profiles', './dbCommand': 'db', './testCommand': 'test', './daemonCommand': 'daemon', './timeCommand': 'time', './serveCommand': 'serveApp' },
  'daemon/cli/daemonCommand.ts': { '../server/daemon': 'serve' },
};
// heavy record and heavy replay (the traffic recorder), each in its own bundle.
Object.assign(COMMAND_BUNDLES['daemon/cli/main.ts'], { './recordCommand': 'record', './replayCommand': 'replay' });
const commandBundles = {
  name: 'command-bundles',
  setup(b) {
    b.onResolve({ filter: /^\./ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const importer = relative(repo, args.importer).split(sep).join('/');
      const bundle = COMMAND_BUNDLES[importer]?.[args.path];
      if (!bundle) return undefined;
      return { path: importer.endsWith('main.ts') ? `./cli/${bundle}.js` : `./${bundle}.js`, external: true };
    });
  },
};

// vscode-jsonrpc requires crypto when loaded, for things the CLI never uses: it gets a lazy stand-in.
const lazyCrypto = {
  name: 'lazy-crypto',
  setup(b) {
    b.onResolve({ filter: /^(node:)?crypto$/ }, (args) => (/[\\/]vscode-jsonrpc[\\/]/.test(args.importer)
      ? { path: join(repo, 'daemon', 'cli', 'lazyCrypto.ts') } : undefined));
  },
};

for (const old of ['dist/cli', 'dist/heavy.js.map']) rmSync(old, { recursive: true, force: true });
// dist/heavy.js starts through /bin/sh: its second line is a shell command to sh and a string
// then a comment to Node. It moves NODE_EXTRA_CA_CERTS aside, which Node 20 would spend about
// 40 ms parsing before any of our code runs; daemon/cli/launcherEnv.ts puts it back.
const LAUNCHER = [
  '#!/bin/sh',
  '":" //; if [ -n "${NODE_EXTRA_CA_CERTS+set}" ]; then export HEAVY_SAVED_NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; fi; exec node "$0" "$@"',
].join('\n');
// require(), not import(): Node's ES module loader alone would cost `heavy test` 20 ms.
const cli = { ...common, external: ['node-pty'], plugins: [commandBundles, lazyCrypto], supported: { 'dynamic-import': false } };
await Promise.all([
  build({ ...common, entryPoints: ['extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', 'node-pty'] }),
  build({ ...cli, entryPoints: ['daemon/cli/bin.ts'], outfile: 'dist/heavy.js', banner: { js: LAUNCHER } }),
  build({
    ...cli,
    entryPoints: {
      test: 'daemon/cli/testCommand.ts',
      daemon: 'daemon/cli/daemonCommand.ts',
      serve: 'daemon/server/daemon.ts',
      profiles: 'daemon/cli/profilesCommand.ts',
      db: 'daemon/cli/dbCommand.ts',
      time: 'daemon/cli/timeCommand.ts',
      record: 'daemon/cli/recordCommand.ts',
      replay: 'daemon/cli/replayCommand.ts',
      serveApp: 'daemon/cli/serveCommand.ts',
    },
    outdir: 'dist/cli',
  }),
]);
chmodSync('dist/heavy.js', 0o755);

if (withTests) {
  // Each suite folder gets the shared runner (suite/index.ts) next to its own tests.
  for (const suite of ['test/vscode/suite', 'test/vscode/suite-restricted']) {
    const tests = readdirSync(suite).filter((f) => f.endsWith('.test.ts'))
      .map((f) => ({ in: join(suite, f), out: f.replace(/\.ts$/, '') }));
    // A test file deleted or renamed in the source must not keep running from an old build.
    rmSync(join('out', suite), { recursive: true, force: true });
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
