// JSON schema for [tool.heavy] in pyproject.toml. Every key is documented in README.md;
// keep the two in step. additionalProperties is false everywhere so that a typo is an
// error instead of a silently ignored setting.

const stringList = { type: 'array', items: { type: 'string' } } as const;
const command = { type: 'array', items: { type: 'string' }, minItems: 1 } as const;
// A TOML table of strings whose keys are the user's (header or field names).
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;

export const heavyConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    app: { type: 'string', pattern: '^[A-Za-z_][\\w.]*:[A-Za-z_][\\w.]*$', description: '"package.module:attribute" of the web app object' },
    framework: { enum: ['fastapi', 'starlette', 'sanic', 'flask'] },
    python: { type: 'string', minLength: 1 },
    env_file: { type: 'string', minLength: 1 },
    serve: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        args: stringList,
        // The Hot Reload Server (heavy serve): globs relative to the root.
        watch: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
        ignore: { type: 'array', items: { type: 'string', minLength: 1 } },
        shutdown_timeout: { type: 'number', exclusiveMinimum: 0, maximum: 600 },
        // Any other server, restarted on each save; "${host}", "${port}", "${app}" and "${python}" are filled in (inside arguments too).
        command,
      },
    },
    tests: {
      type: 'object',
      additionalProperties: false,
      properties: {
        args: stringList,
        workers: { type: 'integer', minimum: 1, maximum: 64 },
        timeout: { type: 'number', exclusiveMinimum: 0 },
        warm_contexts: { type: 'integer', minimum: 1, maximum: 16 },
        warm_memory_mb: { type: 'integer', minimum: 64 },
      },
    },
    db: {
      type: 'object',
      additionalProperties: false,
      properties: {
        url_env: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }] },
        metadata: { type: 'string', pattern: '^[A-Za-z_][\\w.]*:[A-Za-z_][\\w.]*$' },
        seed: command,
        extensions: stringList,
        allow_hosts: stringList,
        migrations: {
          type: 'object',
          additionalProperties: false,
          properties: {
            scratch_url: { type: 'string', minLength: 1 },
            also_test: stringList,
          },
        },
      },
    },
    record: {
      type: 'object',
      additionalProperties: false,
      properties: {
        redact_headers: stringList,
        redact_fields: stringList,
        max_body: { type: 'integer', minimum: 0 },
        dir: { type: 'string', minLength: 1 },
        // heavy replay: values for the placeholders of redacted credentials; "${NAME}" in a value
        // is read from the environment when the load runs (daemon/record/credentials.ts).
        credentials: {
          type: 'object',
          additionalProperties: false,
          properties: {
            headers: stringMap,
            fields: stringMap,
            login: {
              type: 'object',
              additionalProperties: false,
              required: ['path'],
              properties: {
                method: { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] },
                path: { type: 'string', pattern: '^/' },
                json: { type: 'object' },
                form: stringMap,
                headers: stringMap,
                capture: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['json', 'header'],
                  properties: {
                    json: { type: 'string', pattern: '^\\$' },
                    header: { type: 'string', minLength: 1 },
                    prefix: { type: 'string' },
                  },
                },
              },
            },
          },
        },
      },
    },
    time: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        user: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
        ignore: stringList,
        idle_minutes: { type: 'number', exclusiveMinimum: 0 },
        padding_minutes: { type: 'number', minimum: 0 },
        witness_url: { type: 'string', minLength: 1 },
      },
    },
  },
} as const;
