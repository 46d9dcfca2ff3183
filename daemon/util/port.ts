import * as fs from 'node:fs';
import * as net from 'node:net';

// A taken port is named before anything slow starts (heavy record would otherwise start the
// app, seconds of imports, and only then find the proxy's port taken), with the process
// holding it where /proc shows it, as heavy serve does.

/** Resolves when `port` on `host` can be listened on now; rejects with EADDRINUSE (and the others) otherwise. */
export function canListen(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** "pid 123 (python3 -m uvicorn ...)" listening on `port`, from /proc (Linux); undefined elsewhere or when hidden. */
export function portHolder(port: number): string | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // 0A: LISTEN
      if (fields.length > 9 && fields[3] === '0A' && parseInt(fields[1].split(':').pop()!, 16) === port) inodes.add(fields[9]);
    }
  }
  if (!inodes.size) return undefined;
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (link.startsWith('socket:[') && inodes.has(link.slice(8, -1))) {
          const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
          return `pid ${pid} (${cmd.slice(0, 80)})`;
        }
      }
    } catch { /* another user's process, or gone */ }
  }
  return undefined;
}

/** The one line for a port that is taken. */
export function portInUseMessage(host: string, port: number): string {
  const holder = portHolder(port);
  return `port ${port} on ${host} is already in use${holder ? ` by ${holder}` : ''}; stop it or pass --port`;
}
