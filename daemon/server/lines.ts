import type * as net from 'node:net';

/** Reads the worker's wire format (one JSON object per line) from a socket; `rest` is what came with the hello. */
export function readLines(sock: net.Socket, rest: string, onMessage: (message: any) => void): void {
  let buffer = rest;
  const consume = () => {
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) onMessage(JSON.parse(line));
    }
  };
  consume();
  sock.on('data', (d) => { buffer += d.toString('utf8'); consume(); });
}
