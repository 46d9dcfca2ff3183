import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { keyId } from './ledger';
import { TimeError } from './timeError';

// Signing keys, shared by the ledger (store.ts) and the witness (witness.ts). In its own
// module so neither has to import the other.

/** The private key lives with the user's configuration, never in the repository. */
export function privateKeyFile(user: string): string {
  const base = process.env.HEAVY_CONFIG_DIR ?? path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'heavy');
  return path.join(base, 'keys', `${user}.ed25519.pem`);
}

export function loadOrCreateKey(user: string): { privateKey: KeyObject; publicKey: KeyObject; id: string } {
  const file = privateKeyFile(user);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    try {
      fs.writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) throw new TimeError(`${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 ${file}`);
  const privateKey = createPrivateKey(fs.readFileSync(file));
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, id: keyId(publicKey) };
}
