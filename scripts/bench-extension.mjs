#!/usr/bin/env node
// npm run bench (extension part): activation time, loading the bundle and the status bar's
// first paint, in a real VS Code. Runs the integration launcher (test/vscode/launch.mjs)
// with HEAVY_TEST_GREP set to the two tests that measure them, HEAVY_BENCH_RUNS times
// (default 3), and prints the medians of what they print. Nothing is asserted here.
// Without the VS Code server in .vscode-test/ it says how to install it and exits 0.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.HEAVY_BENCH_RUNS ?? 3);
const LAUNCH = path.join(repo, 'test', 'vscode', 'launch.mjs');
const INSTALL = path.join(repo, 'test', 'vscode', 'install-server.sh');
// The titles of the two tests in test/vscode/suite/commands.test.ts (a mocha grep is a regular expression).
const GREP = 'activates cheaply|the status bar shows time within a second of activation';

/** Where install-server.sh puts the server, so a missing one is reported instead of installed (5 minutes). */
function serverDir() {
  if (process.env.HEAVY_VSCODE_SERVER_DIR) return process.env.HEAVY_VSCODE_SERVER_DIR;
  const version = process.env.CODE_SERVER_VERSION ?? /CODE_SERVER_VERSION:-([^}]+)\}/.exec(fs.readFileSync(INSTALL, 'utf8'))?.[1];
  return path.join(repo, '.vscode-test', `code-server-${version}`);
}

if ((process.env.HEAVY_VSCODE_LAUNCHER ?? 'server') === 'server' && !fs.existsSync(path.join(serverDir(), '.installed'))) {
  console.log(`\nExtension activation: skipped, the VS Code server is not installed in ${serverDir().startsWith(repo) ? path.relative(repo, serverDir()) : serverDir()}/ (install it once with: bash test/vscode/install-server.sh, about 5 minutes)`);
  process.exit(0);
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const num = (re, text) => { const m = re.exec(text); return m ? Number(m[1]) : undefined; };

const ROWS = [
  ['activate()', /measured: activation: activate\(\) ([\d.]+) ms/, 1],
  ['loading the bundle (dist/extension.js, fresh require)', /loading the bundle ([\d.]+) ms/, 1],
  ['status bar time item, first paint after activation', /measured: status bar: first shown (\d+) ms after activation/, 0],
  ["daemon's first answer in the status bar, after activation", /daemon's first answer (\d+) ms after activation/, 0],
  ['a saved edit to the status bar (pushed by the daemon)', /measured: status bar: ".*" (\d+) ms after a saved edit/, 0],
];
const values = ROWS.map(() => []);
let vscode = '';
let failures = 0;

for (let i = 0; i < RUNS; i++) {
  const r = spawnSync(process.execPath, [LAUNCH], {
    cwd: repo, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, HEAVY_TEST_GREP: GREP },
  });
  const out = `${r.stdout}\n${r.stderr}`;
  // The launcher also runs the Restricted Mode suite, where nothing matches the grep (0 passed,
  // so its exit code is 1): only the trusted suite's line counts.
  const summary = /integration suite \(([^)]*)\): (\d+) passed, (\d+) failed/.exec(out);
  const found = ROWS.map(([, re]) => num(re, out));
  if (!summary || found[0] === undefined || found[2] === undefined) {
    console.error(`bench-extension: run ${i + 1} printed no measurements:\n${out.slice(-4000)}`);
    process.exit(1);
  }
  vscode = summary[1].split(', ').find((s) => s.startsWith('VS Code')) ?? '';
  if (Number(summary[3]) > 0 || Number(summary[2]) !== 2) {
    failures++;
    console.error(`bench-extension: run ${i + 1}: ${summary[2]} passed, ${summary[3]} failed:\n${out.split('\n').filter((l) => /FAIL|^ {7}/.test(l)).join('\n')}`);
  }
  found.forEach((v, j) => { if (v !== undefined) values[j].push(v); });
}

console.log(`\nExtension in a real VS Code (${vscode}, code-server in Chromium; medians of ${RUNS} launches of test/vscode/launch.mjs${failures ? `, ${failures} with a failed test` : ''}):`);
console.log('| measure | median | runs |');
console.log('|---|---|---|');
ROWS.forEach(([name, , digits], j) => {
  if (!values[j].length) return;
  console.log(`| ${name} | ${median(values[j]).toFixed(digits)} ms | ${values[j].map((v) => v.toFixed(digits)).join(', ')} |`);
});
