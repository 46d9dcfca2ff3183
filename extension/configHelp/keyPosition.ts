// Where in pyproject.toml a configuration error points: the offending key's line, else its
// table's header, else the line a TOML syntax error names. Pure: text in, position out.

export interface Position { line: number; column: number }

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function keyPosition(text: string, key: string | undefined, message: string): Position {
  const syntax = /\(line (\d+), column (\d+)\)/.exec(message);
  if (syntax) return { line: Number(syntax[1]) - 1, column: Math.max(0, Number(syntax[2]) - 1) };
  if (!key) return { line: 0, column: 0 };
  const lines = text.split(/\r?\n/);
  const parts = key.split('.');
  for (let i = parts.length; i >= 1; i--) {
    const table = parts.slice(0, i).map((p) => `[ \\t]*${escape(p)}[ \\t]*`).join('\\.');
    const header = new RegExp(`^[ \\t]*\\[${table}\\][ \\t]*(#.*)?$`);
    const at = lines.findIndex((l) => header.test(l));
    if (at < 0) continue;
    if (i < parts.length) {
      const name = new RegExp(`^([ \\t]*)("?)${escape(parts[i])}\\2[ \\t]*[=.]`);
      for (let n = at + 1; n < lines.length && !/^[ \t]*\[/.test(lines[n]); n++) {
        const m = name.exec(lines[n]);
        if (m) return { line: n, column: m[1].length };
      }
    }
    return { line: at, column: 0 };
  }
  return { line: 0, column: 0 };
}
