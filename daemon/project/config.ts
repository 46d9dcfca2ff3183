import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { parse as parseToml, TomlError } from 'smol-toml';
import { credentialsProblem, type CredentialsConfig } from '../record/credentials';
import { heavyConfigSchema } from './configSchema';

export interface HeavyConfig {
  app?: string;
  framework?: Framework;
  python?: string;
  env_file?: string;
  serve?: {
    host?: string;
    port?: number;
    args?: string[];
    watch?: string[];
    ignore?: string[];
    shutdown_timeout?: number;
    command?: string[];
  };
  tests?: { args?: string[]; workers?: number; timeout?: number; warm_contexts?: number; warm_memory_mb?: number };
  db?: {
    url_env?: string | string[];
    metadata?: string;
    seed?: string[];
    extensions?: string[];
    allow_hosts?: string[];
    migrations?: { scratch_url?: string; also_test?: string[] };
  };
  /** The traffic recorder (heavy record): extra headers and JSON fields to redact, body cap in bytes, output folder. */
  record?: { redact_headers?: string[]; redact_fields?: string[]; max_body?: number; dir?: string; credentials?: CredentialsConfig };
  time?: {
    enabled?: boolean;
    user?: string;
    ignore?: string[];
    idle_minutes?: number;
    padding_minutes?: number;
    witness_url?: string;
  };
}

export type Framework = 'fastapi' | 'starlette' | 'sanic' | 'flask';

import { ConfigError } from './configError';

export { ConfigError };

export interface PyProject {
  /** Absent when the project has no pyproject.toml. */
  file?: string;
  /** The whole parsed document, for detection (pytest options, dependencies). */
  document: Record<string, unknown>;
  heavy: HeavyConfig;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(heavyConfigSchema);

export function readPyProject(root: string): PyProject {
  const file = path.join(root, 'pyproject.toml');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { document: {}, heavy: {} };
    throw err;
  }
  return parsePyProject(text, file);
}

export function parsePyProject(text: string, file = 'pyproject.toml'): PyProject {
  let document: Record<string, unknown>;
  try {
    document = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : '';
    const first = String((err as Error).message).split('\n')[0];
    throw new ConfigError(file, undefined, `${file}${where}: not valid TOML: ${first}`);
  }
  const tool = document.tool as Record<string, unknown> | undefined;
  const raw = tool?.heavy;
  if (raw === undefined) return { file, document, heavy: {} };
  if (!validate(raw)) {
    const errors = (validate.errors ?? []).filter(isReportable);
    const first = errors[0];
    const messages = errors.map((e) => describe(e));
    throw new ConfigError(file, first ? keyOf(first) : 'tool.heavy', `${file}: ${messages.join('; ')}`);
  }
  const heavy = raw as HeavyConfig;
  // What a JSON schema cannot say about credentials (a malformed "${...}"), still one line.
  const credentials = credentialsProblem(heavy.record?.credentials);
  if (credentials) throw new ConfigError(file, 'tool.heavy.record.credentials', `${file}: ${credentials}`);
  return { file, document, heavy };
}

// anyOf reports one error per branch plus its own; the branch errors are noise to a user.
function isReportable(e: ErrorObject): boolean {
  return !(e.schemaPath.includes('/anyOf/') && e.keyword !== 'anyOf');
}

function keyOf(e: ErrorObject): string {
  const parts = e.instancePath.split('/').filter(Boolean);
  if (e.keyword === 'additionalProperties') parts.push(String(e.params.additionalProperty));
  return ['tool', 'heavy', ...parts].join('.');
}

function describe(e: ErrorObject): string {
  const key = keyOf(e);
  const table = key.split('.').slice(0, -1).join('.');
  switch (e.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys(schemaAt(e.instancePath)?.properties ?? {});
      return `unknown key "${key}" (allowed in [${table}]: ${allowed.join(', ')})`;
    }
    case 'type':
      return `"${key}" must be ${article(String(e.params.type))}`;
    case 'enum':
      return `"${key}" must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      if (key.endsWith('.user')) return `"${key}" must be a plain name (letters, digits, ".", "_", "-"), usable as a file name`;
      if (key.endsWith('.login.path')) return `"${key}" must be a path starting with "/", e.g. "/login"`;
      if (key.endsWith('.capture.json')) return `"${key}" must be a JSONPath into the login's response, e.g. "$.token"`;
      return `"${key}" must look like "package.module:attribute"`;
    case 'required':
      return `"${key}.${String(e.params.missingProperty)}" is required`;
    case 'anyOf':
      return `"${key}" must be a string or a list of strings`;
    case 'minItems':
      return `"${key}" must not be empty`;
    case 'minLength':
      return `"${key}" must not be empty`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
      // Ajv's message already reads "must be >= 1".
      return `"${key}" ${e.message}`;
    default:
      return `"${key}" ${e.message}`;
  }
}

function article(type: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'true or false',
    object: 'a table',
    array: 'a list',
  };
  return names[type] ?? type;
}

function schemaAt(instancePath: string): { properties?: Record<string, unknown> } | undefined {
  let node: any = heavyConfigSchema;
  for (const part of instancePath.split('/').filter(Boolean)) node = node?.properties?.[part];
  return node;
}
