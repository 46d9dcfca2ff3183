import * as path from 'node:path';
import { answers, startAppServer, type AppServer } from '../record/appServer';
import { clearJournalFor, finishJournal, Journal, recoverJournals } from '../record/journal';
import { defaultRecordingName, recordingsDir } from '../record/outputPath';
import { startRecordingProxy, type RecordingProxy } from '../record/proxy';
import { redactOptions } from '../record/redact';
import { readPyProject } from '../project/config';
import { canListen, portInUseMessage } from '../util/port';
import { InputError, parseArgs, rootOf, UsageError } from './args';

declare const HEAVY_VERSION: string;
const version = typeof HEAVY_VERSION === 'string' ? HEAVY_VERSION : 'dev';

export async function recordCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['--root', '--port', '--out', '--host', '--app-port'], flags: ['--keep-secrets'] });
  if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const root = rootOf(args.values);
  const config = readPyProject(root).heavy;
  const port = portOption(args.values['--port'], '--port') ?? config.serve?.port ?? 8000;
  const appPort = portOption(args.values['--app-port'], '--app-port');
  // Loopback unless the user says otherwise: the proxy serves the app to anyone who reaches it.
  const host = args.values['--host'] ?? '127.0.0.1';
  const dir = recordingsDir(root, config.record?.dir);
  const out = path.resolve(args.values['--out'] ?? path.join(dir, defaultRecordingName(root)));
  if (!out.endsWith('.har')) throw new UsageError('--out must name a .har file');
  const keepSecrets = args.flags.has('--keep-secrets');

  let leftover;
  try {
    leftover = clearJournalFor(out, version);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  for (const done of [...(leftover ? [leftover] : []), ...recoverJournals(dir, version)]) {
    process.stderr.write(`heavy: recovered an interrupted recording: ${done.requests} requests, ${done.messages} WebSocket messages in ${done.file}\n`);
  }
  try {
    await canListen(host, port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new InputError(portInUseMessage(host, port));
    throw new InputError(`cannot listen on ${host}:${port}: ${(err as Error).message}`);
  }
  // The journal before the app: a second recorder to the same file is refused now, not after
  // both started (the default name changes once a second).
  let journal: Journal;
  try {
    journal = new Journal(out, version);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new InputError(`another heavy record is recording to ${out}; stop it or pass another --out`);
    throw new InputError(`cannot write ${out}.journal: ${(err as Error).message}`);
  }
  let app: AppServer | undefined;
  if (appPort === undefined) {
    try {
      app = await startAppServer(root, { purpose: 'record', stdio: 'inherit' });
      await app.ready();
    } catch (err) {
      await app?.stop();
      await journal.discard();
      throw err;
    }
  }
  const upstream = app ? { host: app.host, port: app.port } : { host: '127.0.0.1', port: appPort! };
  if (!app) {
    // Started by the Record Traffic launcher, which starts the app after us: wait for it.
    const deadline = Date.now() + 120000;
    while (!(await answers(upstream.host, upstream.port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  }
  const live = liveLine(journal);
  let proxy: RecordingProxy;
  try {
    proxy = await startRecordingProxy({ host, port, upstream, journal, redact: redactOptions(config.record, keepSecrets), onRecord: live.update });
  } catch (err) {
    await app?.stop();
    await journal.discard();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new InputError(portInUseMessage(host, port));
    throw err;
  }
  journal.begin();
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  process.stdout.write(`Recording ${root}\n  open http://${shown.includes(':') ? `[${shown}]` : shown}:${proxy.port}/  (the app runs on ${upstream.host}:${upstream.port})\n`
    + `  ${keepSecrets ? 'secrets are KEPT (--keep-secrets)' : 'secrets are redacted'}; Ctrl+C writes ${out}\n`);

  const reason = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('interrupted'));
    process.once('SIGTERM', () => resolve('terminated'));
    app?.child.once('exit', () => resolve('the app stopped'));
    if (!app) {
      // Started by the Record Traffic launcher: stop with it.
      const parent = process.ppid;
      setInterval(() => { if (process.ppid !== parent) resolve('the app stopped'); }, 500).unref();
    }
  });
  live.stop();
  await proxy.close();
  await journal.close();
  const done = finishJournal(journal.file, version);
  await app?.stop();
  process.stdout.write(`\nRecorded ${done.requests} requests and ${done.messages} WebSocket messages (${reason}): ${done.file}\n`
    + `Replay it: heavy replay ${path.relative(process.cwd(), done.file) || done.file}\n`);
  return 0;
}

function portOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${name} must be a port number (0-65535)`);
  return n;
}

/** "recorded 12 requests, 4 WebSocket messages": in place on a terminal, a line a second otherwise. */
function liveLine(journal: Journal) {
  const tty = process.stdout.isTTY;
  let last = '';
  let timer: NodeJS.Timeout | undefined;
  const show = () => {
    timer = undefined;
    const line = `recorded ${journal.requests} requests, ${journal.messages} WebSocket messages`;
    if (line === last) return;
    last = line;
    process.stdout.write(tty ? `\r${line}` : `${line}\n`);
  };
  return {
    update: () => { timer ??= setTimeout(show, tty ? 100 : 1000); },
    stop: () => { if (timer) clearTimeout(timer); show(); },
  };
}
