import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import * as http from 'node:http';
import { canonical, keyId, publicKeyLine } from './ledger';
import { loadOrCreateKey } from './keys';

// The witness: a small HTTP server with its own key and clock. Trackers send the hash of
// each activity and get back a co-signature over (hash, witness time). Cemented records
// carry them, so a block moved to another time no longer matches its witness times.

export interface CoSignature {
  /** sha256 of the activity (see activityHash). */
  h: string;
  /** The witness's clock when it signed. */
  at: string;
  key: string;
  sig: string;
}

/** A record's evidence: the activity it witnessed, and the witness's answer. */
export interface Witnessed extends Omit<CoSignature, 'h'> {
  /** Activity time (epoch ms) and file, from which the hash is recomputed. */
  a: number;
  f?: string;
}

export function activityHash(user: string, at: number, branch: string, file: string | undefined): string {
  return createHash('sha256').update(canonical({ user, at, b: branch, f: file })).digest('hex');
}

export function coSignatureValid(c: CoSignature, witnessKey: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(canonical({ h: c.h, at: c.at })), witnessKey, Buffer.from(c.sig, 'base64'));
  } catch {
    return false;
  }
}

const WITNESS_KEY_NAME = '_witness';

export function witnessPublicKeyLine(): string {
  return publicKeyLine(loadOrCreateKey(WITNESS_KEY_NAME).publicKey);
}

/** Serves POST /cosign {"h": "<sha256 hex>"} and GET /key. Resolves with the bound address. */
export function startWitness(port: number, host = '127.0.0.1'): Promise<{ server: http.Server; url: string }> {
  const { privateKey, publicKey } = loadOrCreateKey(WITNESS_KEY_NAME);
  const id = keyId(publicKey);
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/key') return reply(200, { key: publicKeyLine(publicKey) });
    if (req.method !== 'POST' || req.url !== '/cosign') return reply(404, { error: 'POST /cosign or GET /key' });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
      if (body.length > 1024) req.destroy();
    });
    req.on('end', () => {
      let h: unknown;
      try {
        h = JSON.parse(body).h;
      } catch { /* answered below */ }
      if (typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h)) return reply(400, { error: 'send {"h": "<sha256 hex>"}' });
      const at = new Date().toISOString();
      const sig = sign(null, Buffer.from(canonical({ h, at })), privateKey).toString('base64');
      reply(200, { h, at, key: id, sig } satisfies CoSignature);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address() as { port: number };
      resolve({ server, url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}` });
    });
  });
}

/** Asks the witness to co-sign; undefined when it cannot be reached (tracking goes on without). */
export async function requestCoSignature(witnessUrl: string, h: string, timeoutMs = 3000): Promise<CoSignature | undefined> {
  try {
    const res = await fetch(new URL('/cosign', witnessUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ h }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return undefined;
    const c = (await res.json()) as CoSignature;
    return c.h === h ? c : undefined;
  } catch {
    return undefined;
  }
}
