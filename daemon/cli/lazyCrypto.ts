// What the CLI bundles give vscode-jsonrpc for `require("crypto")` (see scripts/build.mjs):
// it needs crypto only to name pipes and ids the CLI never asks for, and loading it up
// front cost each `heavy test` about 5 ms.
import type * as Crypto from 'node:crypto';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = (): typeof Crypto => require('node:crypto');
export = new Proxy({} as typeof Crypto, { get: (_target, key) => load()[key as keyof typeof Crypto] });
