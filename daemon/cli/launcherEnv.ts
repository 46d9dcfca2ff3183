/**
 * Node 20 parses every certificate named by NODE_EXTRA_CA_CERTS before running any
 * JavaScript (about 40 ms here, a fifth of a warm `heavy test`), and the CLI never opens a
 * TLS connection. So the launcher line at the top of dist/heavy.js (see scripts/build.mjs)
 * moves the variable aside before starting Node, and this puts it back before anything
 * reads the environment: the daemon, and every test run, get the user's environment exactly.
 */
export const SAVED_EXTRA_CA_CERTS = 'HEAVY_SAVED_NODE_EXTRA_CA_CERTS';

export function restoreLauncherEnv(env: NodeJS.ProcessEnv = process.env): void {
  const saved = env[SAVED_EXTRA_CA_CERTS];
  if (saved === undefined) return;
  env.NODE_EXTRA_CA_CERTS = saved;
  delete env[SAVED_EXTRA_CA_CERTS];
}

restoreLauncherEnv();
