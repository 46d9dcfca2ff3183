import { UsageError } from './args';
import { HELP, RECORD_HELP, SERVE_HELP } from './help';

declare const HEAVY_VERSION: string;


type Command = (argv: string[]) => Promise<number> | number;

// Loaded on demand, each from its own bundle (dist/cli/): `heavy test`, run all day, should
// not pay for parsing what `heavy db` or the daemon needs.
const COMMANDS: Record<string, () => Promise<Command>> = {
  profiles: async () => (await import('./profilesCommand')).profilesCommand,
  db: async () => (await import('./dbCommand')).dbCommand,
  test: async () => (await import('./testCommand')).testCommand,
  watch: async () => (await import('./testCommand')).watchCommand,
  daemon: async () => (await import('./daemonCommand')).daemonCommand,
  time: async () => (await import('./timeCommand')).timeCommand,
  record: async () => (await import('./recordCommand')).recordCommand,
  replay: async () => (await import('./replayCommand')).replayCommand,
  serve: async () => (await import('./serveCommand')).serveCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [noun, ...rest] = argv;
  if (!noun || noun === 'help' || noun === '--help' || noun === '-h') {
    process.stdout.write(HELP + '\n');
    return noun ? 0 : 2;
  }
  if (noun === '--version') {
    process.stdout.write(`${typeof HEAVY_VERSION === 'string' ? HEAVY_VERSION : 'dev'}\n`);
    return 0;
  }
  // `heavy record --help`, `heavy serve --help` (before any `--`: after it, the server's own).
  // Not `heavy test --help`: its arguments are pytest's.
  const own = { record: RECORD_HELP, serve: SERVE_HELP }[noun];
  const mine = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (own && (mine.includes('--help') || mine.includes('-h'))) {
    process.stdout.write(own + '\n');
    return 0;
  }
  const command = COMMANDS[noun];
  try {
    if (!command) throw new UsageError(`unknown command "${noun}"`);
    return await (await command())(rest);
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    // By name: a command's bundle has its own copies of these classes.
    if (err.name === 'UsageError') {
      process.stderr.write(`heavy: ${err.message}\nRun "heavy help" for usage.\n`);
      return 2;
    }
    if (['ConfigError', 'InputError', 'DaemonStartError'].includes(err.name) || /test daemon/.test(err.message)) {
      process.stderr.write(`heavy: ${err.message}\n`);
      return 2;
    }
    // A file of the user's that cannot be read or written (permissions, a folder where a file
    // should be): one line naming it, not a stack trace.
    const fsError = fileProblem(err);
    if (fsError) {
      process.stderr.write(`heavy: ${fsError}\n`);
      return 2;
    }
    throw err;
  }
}

const FILE_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a file is in the way of a folder',
  EISDIR: 'is a folder, not a file',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
};

function fileProblem(err: Error): string | undefined {
  const { code, path: file, syscall } = err as NodeJS.ErrnoException;
  if (!code || !file || !FILE_ERRORS[code]) return undefined;
  return `${file}: ${FILE_ERRORS[code]} (${syscall ?? code})`;
}
