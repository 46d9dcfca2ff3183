// Credentials for replay: what replaces the recorder's __heavy_redacted__ placeholders. Pure
// (no I/O, no vscode), so the rules are unit tested. Values come from
// [tool.heavy.record.credentials] and may reference environment variables as ${NAME}; in the
// Artillery script those become {{ $processEnvironment.NAME }}, so a secret is read from the
// environment of whoever runs the script and never written into it.

export interface LoginConfig {
  method?: string;
  path: string;
  json?: Record<string, unknown>;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** A token from the JSON response, sent from then on in `header` (after `prefix`). */
  capture?: { json: string; header: string; prefix?: string };
}

export interface CredentialsConfig {
  /** Header name → value, for redacted (or recorded) headers of that name. */
  headers?: Record<string, string>;
  /** JSON or form field name → value, for redacted fields of that name. */
  fields?: Record<string, string>;
  login?: LoginConfig;
}

/** The Artillery variable the login's captured token goes into. */
export const TOKEN_VAR = 'heavyLoginToken';
export const CONFIG_TABLE = '[tool.heavy.record.credentials]';

const REF = /\$\{([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** "Bearer ${API_TOKEN}" → "Bearer {{ $processEnvironment.API_TOKEN }}"; the names referenced go into `used`. */
export function toTemplate(value: string, used?: Set<string>): string {
  return value.replace(REF, (_, name: string) => {
    used?.add(name);
    return `{{ $processEnvironment.${name} }}`;
  });
}

function templateDeep(value: unknown, used: Set<string>): unknown {
  if (typeof value === 'string') return toTemplate(value, used);
  if (Array.isArray(value)) return value.map((v) => templateDeep(v, used));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, templateDeep(v, used)]));
  return value;
}

/**
 * What the schema cannot say, as one line naming the key: a malformed ${...}, json and form
 * both given, a capture without its header. Undefined when the table is usable.
 */
export function credentialsProblem(c: CredentialsConfig | undefined): string | undefined {
  if (!c) return undefined;
  const key = 'tool.heavy.record.credentials';
  const strings: [string, string][] = [];
  const collect = (prefix: string, value: unknown) => {
    if (typeof value === 'string') strings.push([prefix, value]);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) collect(`${prefix}.${k}`, v);
  };
  collect(key, c);
  for (const [where, value] of strings) {
    if (where.endsWith('.capture.json') || where.endsWith('.login.path') || where.endsWith('.login.method')) continue;
    for (const m of value.matchAll(REF)) {
      if (!ENV_NAME.test(m[1])) return `"${where}": "\${${m[1]}}" is not an environment variable name (letters, digits and _, not starting with a digit)`;
    }
    if (/\$\{(?![^}]*\})/.test(value)) return `"${where}": "\${" without a closing "}"`;
  }
  if (c.login?.json && c.login.form) return `"${key}.login" has both json and form: the login sends one body`;
  return undefined;
}

/** The environment variables a template refers to that are not set (or empty). */
export function missingEnv(used: Iterable<string>, env: NodeJS.ProcessEnv): string[] {
  return [...used].filter((name) => !env[name]);
}

/** Looks credentials up by name for one script; remembers which env vars the script uses. */
export class CredentialSource {
  readonly used = new Set<string>();
  private readonly headers = new Map<string, string>();
  private readonly fields = new Map<string, string>();

  constructor(readonly config: CredentialsConfig = {}) {
    for (const [name, value] of Object.entries(config.headers ?? {})) this.headers.set(name.toLowerCase(), value);
    const capture = config.login?.capture;
    if (capture && !this.headers.has(capture.header.toLowerCase())) {
      this.headers.set(capture.header.toLowerCase(), `${capture.prefix ?? ''}{{ ${TOKEN_VAR} }}`);
    }
    // The login's own body answers for the recorded login's redacted fields (its password).
    const loginBody = config.login?.json ?? config.login?.form ?? {};
    for (const [name, value] of Object.entries(loginBody)) if (typeof value === 'string') this.fields.set(name.toLowerCase(), value);
    for (const [name, value] of Object.entries(config.fields ?? {})) this.fields.set(name.toLowerCase(), value);
  }

  /** The Artillery template for header `name`, if configured (or captured by the login). */
  header(name: string): string | undefined {
    const value = this.headers.get(name.toLowerCase());
    return value === undefined ? undefined : toTemplate(value, this.used);
  }

  field(name: string): string | undefined {
    const value = this.fields.get(name.toLowerCase());
    return value === undefined ? undefined : toTemplate(value, this.used);
  }

  /** The login as an Artillery request step, run once at the start of every virtual user. */
  loginStep(): Record<string, unknown> | undefined {
    const login = this.config.login;
    if (!login) return undefined;
    const method = (login.method ?? 'POST').toLowerCase();
    const spec: Record<string, unknown> = { url: login.path, name: `login: ${method.toUpperCase()} ${login.path}` };
    if (login.headers) spec.headers = templateDeep(login.headers, this.used);
    if (login.json) spec.json = templateDeep(login.json, this.used);
    if (login.form) spec.form = templateDeep(login.form, this.used);
    if (login.capture) spec.capture = { json: login.capture.json, as: TOKEN_VAR };
    return { [method]: spec };
  }
}

/** A placeholder the recording has and the configuration has no value for. */
export interface MissingCredential {
  kind: 'header' | 'field';
  name: string;
  /** "GET /me" of the first request that needs it. */
  where: string;
  count: number;
}

/** One line: every placeholder without a value, where it is, and the key to set. */
export function missingMessage(missing: MissingCredential[]): string {
  const parts = missing.map((m) => {
    // Recorders lower-case header names (Node does); the key reads better as the header is usually written.
    const name = m.kind === 'header' ? m.name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase()) : m.name;
    const key = m.kind === 'header' ? `headers.${keyName(name)}` : `fields.${keyName(name)}`;
    const what = m.kind === 'header' ? `the ${name} header` : `the "${name}" field`;
    const hint = m.kind === 'header' && /^authorization$/i.test(m.name) ? ' (e.g. "Bearer ${API_TOKEN}") or a login with capture' : ' (e.g. "${API_SECRET}")';
    return `${what} (${m.where}${m.count > 1 ? ` and ${m.count - 1} more` : ''}): set ${key}${hint}`;
  });
  return `the recording has redacted credentials with no value to replay them: ${parts.join('; ')}, in ${CONFIG_TABLE}`;
}

const keyName = (name: string) => (/^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name));
