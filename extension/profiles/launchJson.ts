// Pure logic for "Heavy: Add Profiles to launch.json": no vscode import, unit-tested.
import { applyEdits, modify, parse, type ParseError, printParseErrorCode } from 'jsonc-parser';

export interface LaunchEntry {
  name: string;
  type: string;
  request: string;
  profile?: string;
  [key: string]: unknown;
}

export interface MergeResult {
  text: string;
  added: string[];
  alreadyPresent: string[];
}

export class LaunchJsonError extends Error {}

const FORMAT = { insertSpaces: true, tabSize: 4, eol: '\n' };

/**
 * Adds each entry that is not there yet to "configurations", editing the text in place
 * so the user's comments, order and other entries survive.
 */
export function mergeLaunchJson(text: string | undefined, entries: LaunchEntry[]): MergeResult {
  let current = text && text.trim() ? text : '{\n    "version": "0.2.0",\n    "configurations": []\n}\n';
  const errors: ParseError[] = [];
  const doc = parse(current, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length) {
    const e = errors[0];
    const line = current.slice(0, e.offset).split('\n').length;
    throw new LaunchJsonError(`launch.json is not valid JSON (line ${line}: ${printParseErrorCode(e.error)}); fix it first, nothing was changed`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new LaunchJsonError('launch.json must hold an object with "configurations"; nothing was changed');
  }
  const existing: unknown = (doc as Record<string, unknown>).configurations;
  if (existing !== undefined && !Array.isArray(existing)) {
    throw new LaunchJsonError('"configurations" in launch.json is not a list; nothing was changed');
  }
  const configs = (existing ?? []) as Array<Record<string, unknown>>;
  if (!('version' in doc)) current = applyEdits(current, modify(current, ['version'], '0.2.0', { formattingOptions: FORMAT }));
  if (existing === undefined) current = applyEdits(current, modify(current, ['configurations'], [], { formattingOptions: FORMAT }));

  const added: string[] = [];
  const alreadyPresent: string[] = [];
  let count = configs.length;
  for (const entry of entries) {
    if (configs.some((c) => isSame(c, entry))) {
      alreadyPresent.push(entry.name);
      continue;
    }
    current = applyEdits(current, modify(current, ['configurations', count], entry, { formattingOptions: FORMAT, isArrayInsertion: true }));
    count++;
    added.push(entry.name);
  }
  return { text: current, added, alreadyPresent };
}

function isSame(existing: Record<string, unknown>, entry: LaunchEntry): boolean {
  if (existing.type === entry.type && entry.profile !== undefined && existing.profile === entry.profile) return true;
  return existing.name === entry.name;
}
