import './launcherEnv'; // first: before any module reads process.env
import { main } from './main';

// `heavy test --help | head`: the reader is gone, so stop quietly as pytest does (leaving
// the daemon cancels the run).
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(1);
});

// Exit as soon as the command is done (once stdout has taken the last write) rather than
// after Node tears down every handle and the heap: a few ms off each `heavy test`.
const exit = (code: number) => process.stdout.write('', () => process.exit(code));

main(process.argv.slice(2)).then(exit, (err) => {
  process.stderr.write(`heavy: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
  exit(70);
});
