import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

// The cemented, committed log: one signed record per line, each chained to the line before.

export const LEDGER_VERSION = 1;

export interface LedgerRecord {
  v: number;
  user: string;
  /** Id of the signing key: the first 16 hex digits of sha256 of the raw public key. */
  key: string;
  start: string;
  end: string;
  seconds: number;
  branch: string;
  files: number;
  /** Co-signatures from the witness for activity inside the block. */
  witness?: Array<{ a: number; f?: string; at: string; key: string; sig: string }>;
  /** Converted from ptyme-track: reported as imported, not verified. */
  imported?: boolean;
  /** sha256 (hex) of the previous line's text; absent on the first line. */
  prev?: string;
  /** Ed25519 signature (base64) over canonical() of every other field. */
  sig: string;
}

/** JSON with keys sorted at every level and no whitespace: the bytes that are signed. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const lineHash = (line: string): string => createHash('sha256').update(line, 'utf8').digest('hex');

export function keyId(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

export function signRecord(unsigned: Omit<LedgerRecord, 'sig'>, privateKey: KeyObject): LedgerRecord {
  const sig = sign(null, Buffer.from(canonical(unsigned)), privateKey).toString('base64');
  return { ...unsigned, sig };
}

export function signatureValid(record: LedgerRecord, publicKey: KeyObject): boolean {
  const { sig, ...rest } = record;
  try {
    return verify(null, Buffer.from(canonical(rest)), publicKey, Buffer.from(sig, 'base64'));
  } catch {
    return false;
  }
}

/** The line written for a record: canonical too, so its hash does not depend on who wrote it. */
export const recordLine = (record: LedgerRecord): string => canonical(record);

// ---------------------------------------------------------------- public key files

/** `.heavy/time/keys/<user>.pub`: one key per line, "ed25519 <key id> <base64 SPKI DER>". */
export function parsePublicKeys(text: string): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const line of text.split('\n')) {
    const [kind, id, der] = line.trim().split(/\s+/);
    if (kind !== 'ed25519' || !id || !der) continue;
    try {
      const key = createPublicKey({ key: Buffer.from(der, 'base64'), format: 'der', type: 'spki' });
      if (keyId(key) === id) keys.set(id, key);
    } catch { /* a damaged line is not a key */ }
  }
  return keys;
}

export function publicKeyLine(publicKey: KeyObject): string {
  return `ed25519 ${keyId(publicKey)} ${publicKey.export({ format: 'der', type: 'spki' }).toString('base64')}`;
}
