// Redaction and truncation of what the recorder writes. Pure: no I/O, so the rules are unit
// tested and the proxy applies them before anything reaches the disk (the HAR spec warns that
// HAR files hold secrets; a recording is meant to be shared and committed).

export const DEFAULT_REDACT_HEADERS = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization'];
export const DEFAULT_REDACT_FIELDS = ['password', 'token', 'secret'];
export const DEFAULT_MAX_BODY = 1024 * 1024;

/** What replaces a redacted value. Recognisable, so replay can leave such headers out. */
export const REDACTED = '__heavy_redacted__';

export interface RedactOptions {
  /** false: --keep-secrets, nothing is redacted. */
  enabled: boolean;
  /** Lower-case header names whose values are replaced. */
  headers: string[];
  /** Substrings (case-insensitive) of JSON keys whose values are replaced. */
  fields: string[];
  maxBody: number;
}

export function redactOptions(config: { redact_headers?: string[]; redact_fields?: string[]; max_body?: number } = {},
                              keepSecrets = false): RedactOptions {
  return {
    enabled: !keepSecrets,
    headers: [...DEFAULT_REDACT_HEADERS, ...(config.redact_headers ?? [])].map((h) => h.toLowerCase()),
    fields: (config.redact_fields ?? DEFAULT_REDACT_FIELDS).map((f) => f.toLowerCase()),
    maxBody: config.max_body ?? DEFAULT_MAX_BODY,
  };
}

/** Headers whose value is a URL: a secret in its query string is as secret as in the request's. */
const URL_HEADERS = new Set(['referer', 'location', 'content-location', 'origin']);

export function redactHeaderValue(name: string, value: string, options: RedactOptions): string {
  if (options.enabled && URL_HEADERS.has(name.toLowerCase())) return redactUrlText(value, options);
  if (!options.enabled || !options.headers.includes(name.toLowerCase())) return value;
  // A cookie keeps its names (replay and readers see which cookies there were), not its values.
  if (/^(set-)?cookie$/i.test(name)) return redactCookie(name, value);
  return REDACTED;
}

function redactCookie(name: string, value: string): string {
  if (name.toLowerCase() === 'set-cookie') {
    const [pair, ...attributes] = value.split(';');
    const eq = pair.indexOf('=');
    return [`${eq < 0 ? pair : pair.slice(0, eq)}=${REDACTED}`, ...attributes].join(';');
  }
  return value.split(';').map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? pair : `${pair.slice(0, eq)}=${REDACTED}`;
  }).join(';');
}

export function isSecretKey(key: string, options: RedactOptions): boolean {
  const lower = key.toLowerCase();
  // A body that carries a redacted header (an app echoing its request) carries the same secret.
  return options.fields.some((f) => lower.includes(f)) || options.headers.includes(lower);
}

/**
 * A URL with the values of secret-named query parameters (?token=..., ?password=...) replaced:
 * tokens in query strings are common (signed links, OAuth callbacks, API keys).
 */
export function redactUrl(url: URL, options: RedactOptions): URL {
  const text = redactUrlText(url.href, options);
  return text === url.href ? url : new URL(text);
}

/**
 * The same for a URL as text (absolute or not: a Location header, a Referer). Only the
 * secret values change; every other byte of the query stays as the browser sent it.
 */
export function redactUrlText(text: string, options: RedactOptions): string {
  const q = text.indexOf('?');
  if (!options.enabled || q < 0) return text;
  const hash = text.indexOf('#', q);
  const end = hash < 0 ? text.length : hash;
  let changed = false;
  const pairs = text.slice(q + 1, end).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return pair;
    let key = pair.slice(0, eq);
    try {
      key = decodeURIComponent(key.replace(/\+/g, ' '));
    } catch { /* a malformed %-escape: the key as written */ }
    if (!isSecretKey(key, options) || pair.slice(eq + 1) === REDACTED) return pair;
    changed = true;
    return `${pair.slice(0, eq)}=${REDACTED}`;
  });
  return changed ? text.slice(0, q + 1) + pairs.join('&') + text.slice(end) : text;
}

/** Replaces the values of secret-looking keys anywhere in a JSON document. */
export function redactJson(value: unknown, options: RedactOptions): unknown {
  if (Array.isArray(value)) return value.map((v) => redactJson(v, options));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isSecretKey(k, options) ? REDACTED : redactJson(v, options)]));
  }
  return value;
}

export interface RecordedBody {
  text: string;
  /** "base64" for bodies that are not UTF-8 text. */
  encoding?: 'base64';
  /** Bytes on the wire before truncation. */
  size: number;
  truncated: boolean;
  redacted: boolean;
}

/**
 * A body as it goes into the HAR: cut at maxBody (and marked), JSON bodies with their secret
 * fields replaced, form bodies likewise, binary bodies in base64.
 */
export function recordBody(bytes: Buffer, size: number, mimeType: string, options: RedactOptions): RecordedBody {
  const truncated = size > options.maxBody || bytes.length > options.maxBody;
  const kept = bytes.length > options.maxBody ? bytes.subarray(0, options.maxBody) : bytes;
  if (/^multipart\/form-data/i.test(mimeType)) {
    const { bytes: clean, redacted } = options.enabled ? redactMultipart(kept, options) : { bytes: kept, redacted: false };
    return { text: clean.toString('base64'), encoding: 'base64', size, truncated, redacted };
  }
  if (!isText(mimeType, kept)) return { text: kept.toString('base64'), encoding: 'base64', size, truncated, redacted: false };
  let text = kept.toString('utf8');
  let redacted = false;
  if (options.enabled && !truncated && /json/i.test(mimeType)) {
    try {
      const parsed = JSON.parse(text) as unknown;
      const clean = JSON.stringify(redactJson(parsed, options));
      if (clean !== JSON.stringify(parsed)) {
        text = clean;
        redacted = true;
      }
    } catch { /* not JSON after all: kept as text */ }
  } else if (options.enabled && /x-www-form-urlencoded/i.test(mimeType)) {
    const params = new URLSearchParams(text);
    for (const key of [...params.keys()]) {
      if (isSecretKey(key, options)) {
        params.set(key, REDACTED);
        redacted = true;
      }
    }
    if (redacted) text = params.toString();
  } else if (options.enabled && truncated && /json/i.test(mimeType)) {
    // A cut JSON body cannot be parsed; scrub "key": "value" pairs by pattern instead.
    text = text.replace(/"([^"\\]{1,100})"\s*:\s*"(?:[^"\\]|\\.)*"/g, (whole, key: string) => {
      if (!isSecretKey(key, options)) return whole;
      redacted = true;
      return `"${key}":"${REDACTED}"`;
    });
  }
  return { text, size, truncated, redacted };
}

function isText(mimeType: string, bytes: Buffer): boolean {
  if (/^text\/|json|xml|javascript|x-www-form-urlencoded|event-stream|graphql/i.test(mimeType)) return true;
  if (mimeType) return false;
  // No content type: text when it decodes as UTF-8 without replacement characters.
  return !bytes.toString('utf8').includes('\uFFFD');
}

/**
 * The multipart part holding a field's value: its headers (with the field's name, no
 * filename: a file is data, not a credential) and the value up to the next boundary line, or
 * to the end of a body cut at max_body.
 * Matched over latin1 text, which maps each byte to one character, so the file parts around
 * come back byte for byte. Shared with replay, which puts credentials where these were.
 */
export const MULTIPART_FIELD = /(Content-Disposition:[ \t]*form-data;[^\r\n]*?\bname="([^"]*)"(?![^\r\n]*filename)[^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n)([\s\S]*?)(?=\r\n--|$)/gi;

/** Field values of a multipart/form-data body whose names are secret become the placeholder. */
export function redactMultipart(bytes: Buffer, options: RedactOptions): { bytes: Buffer; redacted: boolean } {
  let redacted = false;
  const text = bytes.toString('latin1').replace(MULTIPART_FIELD, (whole, head: string, name: string) => {
    if (!isSecretKey(name, options)) return whole;
    redacted = true;
    return head + REDACTED;
  });
  return { bytes: redacted ? Buffer.from(text, 'latin1') : bytes, redacted };
}
