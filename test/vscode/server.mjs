// Starts a real VS Code (the VS Code server from the npm package code-server) and opens
// it in Debian's Chromium with playwright-core. Shared by the integration launcher and
// the end-to-end UI test. See ../shared/vscode-server-testing.md for the recipe.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const exampleRoot = join(repoRoot, 'test/fixtures/example');

export function installServer() {
  const out = execFileSync('bash', [join(repoRoot, 'test/vscode/install-server.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
  return out.toString().trim().split('\n').pop();
}

export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** A throwaway copy of the example project (no launch.json), sharing its prepared .venv. */
export function makeWorkspace(label = 'ws') {
  const dir = mkdtempSync(join(tmpdir(), `heavy-${label}-`));
  const ws = join(dir, 'example');
  cpSync(exampleRoot, ws, {
    recursive: true,
    filter: (src) => !/[\\/](\.venv|__pycache__|\.vscode|\.heavy|\.pytest_cache)$/.test(src) && !src.endsWith('.db'),
  });
  if (!existsSync(join(exampleRoot, '.venv/bin/python'))) {
    throw new Error('the example project has no .venv: run scripts/setup-example.sh first');
  }
  symlinkSync(join(exampleRoot, '.venv'), join(ws, '.venv'));
  return ws;
}

/**
 * Starts the server. `trusted` turns workspace trust off (everything trusted), as a
 * user who trusts the folder would have it.
 */
export async function startServer({ serverDir, extensionsDir, trusted = true, env = {}, settings = {} }) {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const base = mkdtempSync(join(tmpdir(), 'heavy-vscode-'));
  const userData = join(base, 'user-data');
  mkdirSync(join(userData, 'User'), { recursive: true });
  writeFileSync(join(userData, 'User/settings.json'), JSON.stringify({
    'security.workspace.trust.enabled': !trusted,
    'workbench.startupEditor': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    ...settings,
  }, null, 2));
  const extDir = extensionsDir ?? join(base, 'extensions');
  mkdirSync(extDir, { recursive: true });
  const main = join(serverDir, 'node_modules/code-server/lib/vscode/out/server-main.js');
  const child = spawn(process.execPath, [main, '--host', '127.0.0.1', '--port', String(port),
    '--connection-token', token, '--accept-server-license-terms', '--telemetry-level', 'off',
    '--user-data-dir', userData, '--server-data-dir', join(base, 'server-data'), '--extensions-dir', extDir], {
    env: { ...process.env, ...env, VSCODE_AGENT_FOLDER: join(base, 'agent') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const deadline = Date.now() + 60000;
  while (!/Extension host agent (listening|started)/.test(output)) {
    if (child.exitCode !== null) throw new Error(`VS Code server exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`VS Code server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    port, token, base, userData, extDir, main,
    output: () => output,
    url(folder, payload) {
      const q = new URLSearchParams({ tkn: token, folder });
      if (payload) q.set('payload', JSON.stringify(payload));
      return `http://127.0.0.1:${port}/?${q}`;
    },
    remote(path) {
      return `vscode-remote://127.0.0.1:${port}${path}`;
    },
    logs() {
      // Extension host logs: where activation errors show up.
      const found = [];
      const walk = (d) => {
        if (!existsSync(d)) return;
        for (const e of readdirSync(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (e.name.endsWith('.log')) found.push(p);
        }
      };
      walk(join(base, 'server-data'));
      walk(userData);
      return found;
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000); });
      }
    },
  };
}

export async function openBrowser(url) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  return { browser, page };
}

/** Runs `fn` with a hard time limit, so a hung VS Code cannot hang CI. */
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`${what} did not finish within ${ms / 1000}s`)), ms); }),
  ]);
}
