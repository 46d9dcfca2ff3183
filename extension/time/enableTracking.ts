// Turning tracking on in pyproject.toml as one small text edit, so the user's comments,
// order and formatting stay exactly as they were. Pure: text in, edit out.

export interface TextEdit {
  offset: number;
  /** Characters to replace at offset (0: a pure insertion). */
  length: number;
  text: string;
}

const HEADER = /^[ \t]*\[[ \t]*tool[ \t]*\.[ \t]*heavy[ \t]*\.[ \t]*time[ \t]*\][ \t]*(#.*)?$/m;

/** The edit that makes `[tool.heavy.time] enabled = true`; undefined when it already is. */
export function enableTimeTrackingEdit(text: string): TextEdit | undefined {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const header = HEADER.exec(text);
  if (!header) {
    // A new table at the end, after one blank line.
    const prefix = !text.length ? '' : /\n[ \t]*\r?\n$/.test(text) ? '' : text.endsWith('\n') ? eol : eol + eol;
    return { offset: text.length, length: 0, text: `${prefix}[tool.heavy.time]${eol}enabled = true${eol}` };
  }
  const bodyStart = header.index + header[0].length;
  const next = /^[ \t]*\[/m.exec(text.slice(bodyStart));
  const body = text.slice(bodyStart, next ? bodyStart + next.index : text.length);
  const enabled = /^([ \t]*enabled[ \t]*=[ \t]*)(true|false)\b/m.exec(body);
  if (enabled) {
    if (enabled[2] === 'true') return undefined;
    return { offset: bodyStart + enabled.index + enabled[1].length, length: 'false'.length, text: 'true' };
  }
  // Right under the table's header, before its other keys.
  const lineEnd = text.indexOf('\n', header.index);
  const at = lineEnd < 0 ? text.length : lineEnd + 1;
  return { offset: at, length: 0, text: `${lineEnd < 0 ? eol : ''}enabled = true${eol}` };
}

export function applyEdit(text: string, edit: TextEdit): string {
  return text.slice(0, edit.offset) + edit.text + text.slice(edit.offset + edit.length);
}

/** `[tool.heavy.time] enabled = true`, found by a line scan: cheap enough for activation. */
export function trackingEnabledInText(text: string): boolean {
  let inTable = false;
  for (const line of text.split('\n')) {
    const header = /^\s*\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) inTable = header[1].replace(/\s+/g, '') === 'tool.heavy.time';
    else if (inTable && /^\s*enabled\s*=\s*true\s*(#.*)?\r?$/.test(line)) return true;
  }
  return false;
}
