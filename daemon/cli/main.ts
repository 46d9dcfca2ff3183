import { ConfigError } from '../project/config';
import { UsageError } from './args';
import { DB_HELP, dbCommand } from './dbCommand';
import { PROFILES_HELP, profilesCommand } from './profilesCommand';

declare const HEAVY_VERSION: string;

const HELP = `heavy: the Heavy Dev command line

${PROFILES_HELP}

${DB_HELP}

heavy help | --help      this text
heavy --version          the version`;

type Command = (argv: string[]) => Promise<number> | number;

const COMMANDS: Record<string, Command> = {
  profiles: profilesCommand,
  db: dbCommand,
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
    return await command(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`heavy: ${err.message}\nRun "heavy help" for usage.\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`heavy: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

// In the bundle this module is the entry point; when imported by tests it is not.
if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => {
      process.stderr.write(`heavy: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 70;
    },
  );
}
