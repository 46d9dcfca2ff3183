import * as fs from 'node:fs';
import type { Har, HarEntry } from './har';

// Reading a HAR to replay: ours or a browser's export. Anything unusable is one line naming
// the file and the entry (the CLI prints it and exits 2), never a stack trace.

export class HarInputError extends Error {
  override name = 'InputError';
}

export function readHar(file: string): Har {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new HarInputError(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a HAR file' : (err as Error).message}`);
  }
  if (!text.trim()) throw new HarInputError(`${file}: empty file, not a HAR recording`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new HarInputError(`${file}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const log = (doc as Har | undefined)?.log;
  if (!log || typeof log !== 'object' || !Array.isArray(log.entries)) throw new HarInputError(`${file}: not a HAR file (no log.entries)`);
  log.entries.forEach((entry, i) => {
    const problem = entryProblem(entry);
    if (problem) throw new HarInputError(`${file}: entry ${i + 1}: ${problem}`);
  });
  return doc as Har;
}

function entryProblem(entry: HarEntry): string | undefined {
  if (!entry || typeof entry !== 'object') return 'not an object';
  if (typeof entry.startedDateTime !== 'string' || Number.isNaN(Date.parse(entry.startedDateTime))) return 'startedDateTime is missing or not a date';
  if (!entry.request || typeof entry.request !== 'object') return 'request is missing';
  if (typeof entry.request.method !== 'string' || !entry.request.method) return 'request.method is missing';
  if (typeof entry.request.url !== 'string') return 'request.url is missing';
  try {
    new URL(entry.request.url);
  } catch {
    return `request.url is not a URL: ${JSON.stringify(entry.request.url).slice(0, 80)}`;
  }
  return undefined;
}
