/**
 * Node 20 parses every certificate named by NODE_EXTRA_CA_CERTS before running any
 * JavaScript (about 40 ms here, a fifth of a warm `heavy test`), and the CLI never opens a
 * TLS connection. So the launcher line at the top of dist/heavy.js (LAUNCHER in
 * scripts/build.mjs) moves the variable aside, to HEAVY_SAVED_NODE_EXTRA_CA_CERTS, before
 * starting Node; importing this module puts it back before anything reads the environment,
 * so the daemon and every test run get the user's environment exactly.
 */
const saved = process.env.HEAVY_SAVED_NODE_EXTRA_CA_CERTS;
if (saved !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = saved;
  delete process.env.HEAVY_SAVED_NODE_EXTRA_CA_CERTS;
}

export {};
