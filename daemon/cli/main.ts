import { UsageError } from './args';
import { HELP } from './help';

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
    if (err.name === 'ConfigError' || /test daemon/.test(err.message)) {
      process.stderr.write(`heavy: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
