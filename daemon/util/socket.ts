import * as net from 'node:net';

/** Connects to a Unix socket or named pipe; undefined when nobody listens there. */
export function connectSocket(socket: string): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect(socket);
    sock.once('connect', () => { sock.removeAllListeners('error'); resolve(sock); });
    sock.once('error', () => resolve(undefined));
  });
}
