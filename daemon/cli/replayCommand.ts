import { UsageError } from './args';
export async function replayCommand(_argv: string[]): Promise<number> {
  throw new UsageError('not yet');
}
