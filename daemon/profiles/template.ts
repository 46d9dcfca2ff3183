import * as fs from 'node:fs';
import * as path from 'node:path';

/** What a profile needs from the project before it is offered ("server": an app object, or a `[tool.heavy.serve] command`). */
export type Requirement = 'app' | 'server' | 'pytest' | 'alembic' | 'database';

/** "asgi" covers FastAPI and Starlette (uvicorn); "any" is framework-independent. */
export type Variant = 'asgi' | 'sanic' | 'flask' | 'any';

export interface RunSpec {
  module?: string;
  program?: string;
  args: string[];
  env?: Record<string, string>;
}

export interface ProfileTemplate {
  id: string;
  name: string;
  description: string;
  order: number;
  requires: Requirement[];
  /** A question to confirm before running (destructive profiles). */
  confirm?: string;
  run: Partial<Record<Variant, RunSpec>>;
  debug: { justMyCode: boolean; subProcess: boolean; console: 'integratedTerminal' | 'internalConsole' | 'externalTerminal' };
}

const REQUIREMENTS: Requirement[] = ['app', 'server', 'pytest', 'alembic', 'database'];
const VARIANTS: Variant[] = ['asgi', 'sanic', 'flask', 'any'];

export function loadTemplates(dir: string): ProfileTemplate[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  return files.map((f) => parseTemplate(fs.readFileSync(path.join(dir, f), 'utf8'), f)).sort((a, b) => a.order - b.order);
}

/** Templates ship with the extension; a malformed one is our bug, so fail loudly. */
export function parseTemplate(text: string, file: string): ProfileTemplate {
  const t = JSON.parse(text) as ProfileTemplate;
  const problem = (what: string): never => {
    throw new Error(`launch template ${file}: ${what}`);
  };
  if (typeof t.id !== 'string' || !/^[a-z][a-z0-9-]*$/.test(t.id)) problem('"id" must be kebab-case');
  if (typeof t.name !== 'string' || !t.name) problem('"name" is required');
  if (typeof t.order !== 'number') problem('"order" must be a number');
  if (!Array.isArray(t.requires) || t.requires.some((r) => !REQUIREMENTS.includes(r))) {
    problem(`"requires" must list some of ${REQUIREMENTS.join(', ')}`);
  }
  const variants = Object.keys(t.run ?? {});
  if (variants.length === 0 || variants.some((v) => !VARIANTS.includes(v as Variant))) {
    problem(`"run" must have variants among ${VARIANTS.join(', ')}`);
  }
  for (const [variant, spec] of Object.entries(t.run)) {
    if (!spec || !!spec.module === !!spec.program) problem(`run.${variant} needs exactly one of "module" or "program"`);
    if (!Array.isArray(spec!.args)) problem(`run.${variant}.args must be a list`);
  }
  return t;
}

export type Variables = Record<string, string | string[]>;

/**
 * Substitutes ${name} in a string. A whole element "${name...}" splices a list in place,
 * so optional extra arguments vanish when empty instead of leaving "" behind.
 */
export function expandArgs(args: string[], vars: Variables): string[] {
  const out: string[] = [];
  for (const arg of args) {
    const spread = /^\$\{(\w+)\.\.\.\}$/.exec(arg);
    if (spread) {
      const value = vars[spread[1]];
      if (value === undefined) throw new Error(`launch template variable "${spread[1]}" is not defined`);
      out.push(...(Array.isArray(value) ? value : [value]));
    } else {
      out.push(expandString(arg, vars));
    }
  }
  return out;
}

export function expandString(text: string, vars: Variables): string {
  return text.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`launch template variable "${name}" is not defined`);
    if (Array.isArray(value)) throw new Error(`launch template variable "${name}" is a list; use "\${${name}...}" as a whole argument`);
    return value;
  });
}
