import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import { envToApply } from '../profiles/env';
import { profilesFor } from '../profiles';
import { freePort } from '../util/net';

export { freePort };

// How the recorder and replay start the project's own server on a private port: the one
// place that decides. Record runs the serve engine (`heavy serve`, the Hot Reload Server
// profile's command), so the app reloads while you click through it; replay runs the Run
// Server profile's command (no reload, no debugger) so a save cannot restart it under load.

export interface AppServer {
  host: string;
  port: number;
  command: string[];
  child: ChildProcess;
  /** Output so far, for error messages when the server does not come up. */
  output(): string;
  /** Resolves when the server answers HTTP; rejects when it exits first or after timeoutMs. */
  ready(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface AppServerOptions {
  /** record: the server the user works with; replay: a plain server under load. */
  purpose: 'record' | 'replay';
  /** Pass the server's output through (record) or keep it (replay). */
  stdio: 'inherit' | 'pipe';
}

export async function startAppServer(root: string, options: AppServerOptions): Promise<AppServer> {
  const host = '127.0.0.1';
  const port = await freePort(host);
  const { profiles, unavailable } = profilesFor(root, {}, { host, port });
  const id = options.purpose === 'record' ? 'hot-reload-server' : 'run-server';
  const profile = profiles.find((p) => p.profile === id);
  if (!profile) {
    const why = unavailable.find((u) => u.profile === id)?.reason ?? `no ${id} profile`;
    // Replay can still run against a server the user started (a [tool.heavy.serve] command, say).
    const instead = options.purpose === 'replay' ? '; or start it yourself and pass --target URL' : '';
    throw Object.assign(new Error(`cannot start the app: ${why}${instead}`), { name: 'InputError' });
  }
  const [file, ...args] = profile.command;
  const child = spawn(file, args, {
    cwd: profile.cwd,
    env: { ...process.env, ...envToApply(profile.env, process.env) },
    stdio: options.stdio === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d) => { text = (text + d).slice(-8000); });
  child.stderr?.on('data', (d) => { text = (text + d).slice(-8000); });
  let exited: string | undefined;
  child.once('exit', (code, signal) => { exited = signal ? `signal ${signal}` : `exit code ${code}`; });
  child.once('error', (err) => { exited = err.message; });
  return {
    host,
    port,
    command: profile.command,
    child,
    output: () => text,
    async ready(timeoutMs = 30000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (exited) throw Object.assign(new Error(`the app stopped before it answered (${exited}): ${profile.command.join(' ')}\n${text.trim()}`), { name: 'InputError' });
        if (await answers(host, port)) return;
        if (Date.now() > deadline) throw Object.assign(new Error(`the app did not answer on ${host}:${port} within ${timeoutMs / 1000} s`), { name: 'InputError' });
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop: () => stopChild(child),
  };
}

/** True when something at host:port answers an HTTP request (any status). */
export function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ host, port, method: 'HEAD', path: '/', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
