import * as http from 'node:http';
import type * as net from 'node:net';
import * as zlib from 'node:zlib';
import { createProxyServer } from 'http-proxy-3';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { parseCookieHeader, parseSetCookie, type HarEntry, type HarHeader, type HarWebSocketMessage } from './har';
import type { Journal } from './journal';
import { recordBody, redactHeaderValue, redactJson, redactUrl, redactUrlText, REDACTED, type RedactOptions } from './redact';
import { cookiePairs, SessionTracker } from './sessions';

// The recording reverse proxy: http-proxy-3 passes HTTP/1.1 through (keep-alive, chunked,
// streamed responses such as SSE) and `ws` relays WebSockets message by message, so neither
// side's bytes are parsed by hand. What passes is copied, redacted, into the journal.

export interface RecordingProxyOptions {
  host: string;
  port: number;
  upstream: { host: string; port: number };
  journal: Journal;
  redact: RedactOptions;
  /** Called after each recorded request or message (the live line). */
  onRecord?: () => void;
}

export interface RecordingProxy {
  port: number;
  /** Records what is still in flight (open SSE streams, WebSockets) and stops listening. */
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer',
  'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol', 'sec-websocket-accept']);

export async function startRecordingProxy(options: RecordingProxyOptions): Promise<RecordingProxy> {
  const { upstream, journal, redact } = options;
  const sessions = new SessionTracker();
  const connections = new WeakMap<net.Socket, string>();
  let nextConnection = 1;
  let nextSocket = 1;
  const inFlight = new Set<() => void>();
  const connectionOf = (socket: net.Socket): string => {
    let id = connections.get(socket);
    if (!id) {
      id = String(nextConnection++);
      connections.set(socket, id);
      socket.once('close', () => sessions.forgetConnection(id!));
    }
    return id;
  };

  const agent = new http.Agent({ keepAlive: true });
  const proxy = createProxyServer({ target: `http://${upstream.host}:${upstream.port}`, xfwd: true, changeOrigin: false, agent });
  const server = http.createServer();
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  server.on('request', (req, res) => {
    const started = Date.now();
    const connection = connectionOf(req.socket);
    const session = sessions.sessionOf(connection, cookiePairs(req.headers.cookie), clientKey(req));
    const body = new Capture(redact.maxBody);
    // A listener beside http-proxy-3's pipe (attached in this same tick, so no chunk is
    // missed): the request body is copied without a stream in the way.
    req.on('data', (chunk: Buffer) => body.add(chunk));
    let responded: number | undefined;
    let proxyRes: http.IncomingMessage | undefined;
    const responseBody = new Capture(redact.maxBody);
    let recorded = false;
    const record = () => {
      if (recorded || !proxyRes) return;
      recorded = true;
      inFlight.delete(record);
      const ended = Date.now();
      const setCookies = headerList(proxyRes.headers['set-cookie']);
      sessions.cookiesSet(session, setCookies);
      const entry = httpEntry(req, proxyRes, { started, responded: responded ?? ended, ended, connection, session, body, responseBody, redact });
      journal.append({ k: 'http', entry });
      options.onRecord?.();
    };
    (req as RequestState).heavy = {
      onResponse(res2: http.IncomingMessage) {
        responded = Date.now();
        proxyRes = res2;
        res2.on('data', (chunk: Buffer) => responseBody.add(chunk));
        inFlight.add(record);
        // After http-proxy-3 has ended the client's response (its 'end' listener comes after
        // this one): building and redacting the entry never delays the answer.
        res2.once('end', () => setImmediate(record));
        res.once('close', record);
      },
    };
    proxy.web(req, res, {}, (err) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`heavy record: the app did not answer (${(err as Error).message})\n`);
      } else {
        res.destroy();
      }
    });
  });
  proxy.on('proxyRes', (proxyRes, req) => {
    (req as RequestState).heavy?.onResponse(proxyRes);
  });

  // WebSockets: connect upstream first with the client's headers and subprotocols, then
  // accept the client with what upstream chose, then relay each message both ways.
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (_protocols, request) => (request as RequestState).upstreamProtocol || false,
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const started = Date.now();
    const connection = connectionOf(socket);
    const session = sessions.sessionOf(connection, cookiePairs(req.headers.cookie), clientKey(req));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    Object.assign(headers, forwardedHeaders(req));
    const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    const target = new WebSocket(`ws://${upstream.host}:${upstream.port}${req.url ?? '/'}`, protocols, { headers, perMessageDeflate: false });
    let upgradeResponse: http.IncomingMessage | undefined;
    target.once('upgrade', (response) => { upgradeResponse = response; });
    target.once('unexpected-response', (_request, response) => {
      // The app refused the upgrade: the client gets its status line and nothing is recorded.
      socket.end(`HTTP/1.1 ${response.statusCode} ${response.statusMessage ?? ''}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      response.resume();
    });
    target.once('error', () => socket.destroy());
    socket.once('error', () => target.terminate());
    target.once('open', () => {
      (req as RequestState).upstreamProtocol = target.protocol;
      wss.handleUpgrade(req, socket, head, (client) => {
        const id = nextSocket++;
        const entry = wsEntry(req, upgradeResponse, { started, connection, session, redact, protocol: target.protocol });
        journal.append({ k: 'ws', id, entry });
        options.onRecord?.();
        const message = (type: HarWebSocketMessage['type'], data: RawData, isBinary: boolean) => {
          journal.append({ k: 'msg', id, m: wsMessage(type, data, isBinary, redact) });
          options.onRecord?.();
        };
        client.on('message', (data, isBinary) => {
          message('send', data, isBinary);
          if (target.readyState === WebSocket.OPEN) target.send(data, { binary: isBinary });
        });
        target.on('message', (data, isBinary) => {
          message('receive', data, isBinary);
          if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
        });
        const ended = () => {
          if (!inFlight.delete(ended)) return;  // once: stopping ends it, then its close comes
          journal.append({ k: 'wsend', id, time: Date.now() });
        };
        inFlight.add(ended);
        let closed = false;
        const closeBoth = (code: number, reason: Buffer) => {
          if (closed) return;
          closed = true;
          ended();
          // 1005/1006 mean "no code" and "abnormal"; they may not be sent on the wire.
          const sendable = code >= 1000 && code < 5000 && code !== 1005 && code !== 1006;
          for (const ws of [client, target]) {
            if (ws.readyState === WebSocket.OPEN) {
              if (sendable) ws.close(code, reason);
              else ws.close();
            }
          }
        };
        client.on('close', closeBoth);
        target.on('close', closeBoth);
        client.on('error', () => target.terminate());
        target.on('error', () => client.terminate());
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    async close() {
      for (const finish of [...inFlight]) finish();
      // 1001 "going away", as a server that stops says it; the close handshake gets half a
      // second, then whatever is left is cut.
      // No new connections, so nothing is recorded after the journal closes.
      server.close();
      const clients = [...wss.clients];
      for (const client of clients) if (client.readyState === WebSocket.OPEN) client.close(1001, 'recorder stopped');
      const deadline = Date.now() + 500;
      while (clients.some((c) => c.readyState !== WebSocket.CLOSED) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const client of clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      agent.destroy();
    },
  };
}

interface RequestState extends http.IncomingMessage {
  heavy?: { onResponse(res: http.IncomingMessage): void };
  upstreamProtocol?: string;
}

/** Collects the first `limit` bytes of a stream and counts the rest. */
class Capture {
  private chunks: Buffer[] = [];
  private kept = 0;
  size = 0;
  constructor(private readonly limit: number) {}
  add(chunk: Buffer): void {
    this.size += chunk.length;
    // One byte over the limit is kept, so truncation is detected after decompression too.
    if (this.kept > this.limit) return;
    this.chunks.push(chunk);
    this.kept += chunk.length;
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function clientKey(req: http.IncomingMessage): string {
  return `${req.socket.remoteAddress ?? ''}|${req.headers['user-agent'] ?? ''}`;
}

function forwardedHeaders(req: http.IncomingMessage): Record<string, string> {
  const prior = (name: string) => (req.headers[name] ? `${req.headers[name]}, ` : '');
  return {
    'x-forwarded-for': prior('x-forwarded-for') + (req.socket.remoteAddress ?? ''),
    'x-forwarded-port': prior('x-forwarded-port') + String(req.socket.localPort ?? ''),
    'x-forwarded-proto': prior('x-forwarded-proto') + 'http',
    ...(req.headers.host ? { 'x-forwarded-host': req.headers.host } : {}),
  };
}

function headerList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function harHeaders(raw: string[], redact: RedactOptions): HarHeader[] {
  const headers: HarHeader[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push({ name: raw[i], value: redactHeaderValue(raw[i], raw[i + 1], redact) });
  return headers;
}

function requestUrl(req: http.IncomingMessage, scheme: 'http' | 'ws'): URL {
  return new URL(req.url ?? '/', `${scheme}://${req.headers.host ?? 'localhost'}`);
}

function queryString(url: URL) {
  return [...url.searchParams].map(([name, value]) => ({ name, value }));
}

function harCookies(header: string | undefined, redact: RedactOptions) {
  return parseCookieHeader(header ? redactHeaderValue('cookie', header, redact) : '');
}

interface HttpTimes {
  started: number; responded: number; ended: number; connection: string; session: string;
  body: Capture; responseBody: Capture; redact: RedactOptions;
}

function httpEntry(req: http.IncomingMessage, res: http.IncomingMessage, t: HttpTimes): HarEntry {
  const url = redactUrl(requestUrl(req, 'http'), t.redact);
  const requestType = String(req.headers['content-type'] ?? '');
  const responseType = String(res.headers['content-type'] ?? '');
  const requestBody = t.body.size > 0 ? recordBody(t.body.bytes(), t.body.size, requestType, t.redact) : undefined;
  const decoded = decode(t.responseBody.bytes(), String(res.headers['content-encoding'] ?? ''), t.responseBody.size > t.redact.maxBody);
  const responseBody = recordBody(decoded.bytes, Math.max(decoded.bytes.length, t.responseBody.size), responseType, t.redact);
  return {
    pageref: t.session,
    startedDateTime: new Date(t.started).toISOString(),
    time: t.ended - t.started,
    request: {
      method: req.method ?? 'GET',
      url: url.href,
      httpVersion: `HTTP/${req.httpVersion}`,
      cookies: harCookies(req.headers.cookie, t.redact),
      headers: harHeaders(req.rawHeaders, t.redact),
      queryString: queryString(url),
      ...(requestBody ? {
        postData: {
          mimeType: requestType,
          // HAR's postData has no encoding field (content has): a binary or multipart body is
          // base64 in text, said in the _encoding extension field that replay reads.
          text: requestBody.text,
          ...(requestBody.encoding ? { _encoding: requestBody.encoding } : {}),
          ...(note(requestBody) ? { comment: note(requestBody) } : {}),
        },
      } : {}),
      headersSize: -1,
      bodySize: t.body.size,
    },
    response: {
      status: res.statusCode ?? 0,
      statusText: res.statusMessage ?? '',
      httpVersion: `HTTP/${res.httpVersion}`,
      cookies: headerList(res.headers['set-cookie']).map((c) => parseSetCookie(redactHeaderValue('set-cookie', c, t.redact))),
      headers: harHeaders(res.rawHeaders, t.redact),
      content: {
        size: responseBody.size,
        mimeType: responseType,
        text: responseBody.text,
        ...(responseBody.encoding ? { encoding: responseBody.encoding } : {}),
        ...(note(responseBody) ? { comment: note(responseBody) } : {}),
      },
      redirectURL: redactUrlText(String(res.headers.location ?? ''), t.redact),
      headersSize: -1,
      bodySize: t.responseBody.size,
    },
    cache: {},
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: t.responded - t.started, receive: t.ended - t.responded },
    connection: t.connection,
    _session: t.session,
  };
}

function note(body: { truncated: boolean; redacted: boolean; size: number }): string | undefined {
  const parts: string[] = [];
  if (body.truncated) parts.push(`truncated: ${body.size} bytes, max_body kept`);
  if (body.redacted) parts.push('redacted');
  return parts.length ? parts.join('; ') : undefined;
}

/** Recordings hold what the app meant, not its transfer encoding. A cut stream stays as it is. */
function decode(bytes: Buffer, encoding: string, cut: boolean): { bytes: Buffer } {
  if (!encoding || encoding === 'identity' || cut) return { bytes };
  try {
    if (encoding === 'gzip') return { bytes: zlib.gunzipSync(bytes) };
    if (encoding === 'deflate') return { bytes: zlib.inflateSync(bytes) };
    if (encoding === 'br') return { bytes: zlib.brotliDecompressSync(bytes) };
  } catch { /* kept as received */ }
  return { bytes };
}

function wsEntry(req: http.IncomingMessage, res: http.IncomingMessage | undefined,
                 t: { started: number; connection: string; session: string; redact: RedactOptions; protocol: string }): HarEntry {
  const url = redactUrl(requestUrl(req, 'ws'), t.redact);
  return {
    pageref: t.session,
    startedDateTime: new Date(t.started).toISOString(),
    time: 0,
    request: {
      method: 'GET',
      url: url.href,
      httpVersion: `HTTP/${req.httpVersion}`,
      cookies: harCookies(req.headers.cookie, t.redact),
      headers: harHeaders(req.rawHeaders, t.redact),
      queryString: queryString(url),
      headersSize: -1,
      bodySize: 0,
    },
    response: {
      status: 101,
      statusText: 'Switching Protocols',
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: res ? harHeaders(res.rawHeaders, t.redact) : [],
      content: { size: 0, mimeType: '' },
      redirectURL: '',
      headersSize: -1,
      bodySize: 0,
    },
    cache: {},
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: Date.now() - t.started, receive: 0 },
    connection: t.connection,
    _resourceType: 'websocket',
    _session: t.session,
  };
}

function wsMessage(type: HarWebSocketMessage['type'], data: RawData, isBinary: boolean, redact: RedactOptions): HarWebSocketMessage {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
  const time = Date.now() / 1000;
  if (isBinary) return { type, time, opcode: 2, data: bytes.subarray(0, redact.maxBody).toString('base64') };
  let text = bytes.subarray(0, redact.maxBody).toString('utf8');
  if (redact.enabled && bytes.length <= redact.maxBody && /^\s*[[{]/.test(text)) {
    try {
      text = JSON.stringify(redactJson(JSON.parse(text), redact));
    } catch { /* not JSON */ }
  }
  return { type, time, opcode: 1, data: text };
}

export { REDACTED };
