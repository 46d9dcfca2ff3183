import * as path from 'node:path';
import type { ProjectInfo } from '../project/detect';
import { expandArgs, expandString, type ProfileTemplate, type Requirement, type Variant } from './template';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8000;

/** A launch configuration as VS Code and `heavy profiles --json` show it. */
export interface LaunchProfile {
  name: string;
  type: 'heavy';
  request: 'launch';
  profile: string;
  description: string;
  python: string;
  module?: string;
  program?: string;
  args: string[];
  cwd: string;
  /** The project's .env plus the template's own variables. */
  env: Record<string, string>;
  envFile?: string;
  justMyCode: boolean;
  subProcess: boolean;
  console: ProfileTemplate['debug']['console'];
  confirm?: string;
  /** The exact command line, for people outside VS Code. */
  command: string[];
}

export interface Unavailable {
  profile: string;
  name: string;
  reason: string;
}

export interface ProfileOverrides {
  host?: string;
  port?: number;
  args?: string[];
}

export function missingRequirement(req: Requirement, project: ProjectInfo): string | undefined {
  switch (req) {
    case 'app':
      return project.app ? undefined
        : 'no app object found: set app = "package.module:app" under [tool.heavy] in pyproject.toml';
    case 'server':
      // Any other server is served through its own command, restarted on each save.
      return project.app || project.config.serve?.command ? undefined
        : 'no app object found: set app = "package.module:app" under [tool.heavy] in pyproject.toml, or a server command = [...] under [tool.heavy.serve]';
    case 'pytest':
      return project.pytest ? undefined : 'no pytest configuration or tests folder found';
    case 'alembic':
      return project.alembicIni ? undefined : 'no alembic.ini in the project root';
    case 'database':
      return project.usesSqlAlchemy || project.alembicIni ? undefined
        : 'no database found: set metadata = "module:attribute" under [tool.heavy.db] in pyproject.toml';
  }
}

export function variantFor(template: ProfileTemplate, project: ProjectInfo): Variant {
  if (template.run.any) return 'any';
  switch (project.app?.framework) {
    case 'sanic': return 'sanic';
    case 'flask': return 'flask';
    default: return 'asgi';
  }
}

export function resolveProfiles(templates: ProfileTemplate[], project: ProjectInfo, helpers: string,
                                overrides: ProfileOverrides = {}): { profiles: LaunchProfile[]; unavailable: Unavailable[] } {
  const profiles: LaunchProfile[] = [];
  const unavailable: Unavailable[] = [];
  for (const template of templates) {
    const reason = template.requires.map((r) => missingRequirement(r, project)).find(Boolean);
    if (reason) unavailable.push({ profile: template.id, name: template.name, reason });
    else profiles.push(resolveProfile(template, project, helpers, overrides));
  }
  return { profiles, unavailable };
}

export function resolveProfile(template: ProfileTemplate, project: ProjectInfo, helpers: string,
                               overrides: ProfileOverrides = {}): LaunchProfile {
  const serve = project.config.serve ?? {};
  const vars = {
    root: project.root,
    helpers,
    python: project.python.path,
    app: project.app?.ref ?? '',
    host: overrides.host ?? serve.host ?? DEFAULT_HOST,
    port: String(overrides.port ?? serve.port ?? DEFAULT_PORT),
    serveArgs: serve.args ?? [],
    framework: project.app?.framework ?? '',
    // heavy_serve.py gets [tool.heavy.serve] already validated, as dbConfig below.
    serveConfig: JSON.stringify({ watch: serve.watch, ignore: serve.ignore, shutdown_timeout: serve.shutdown_timeout, command: serve.command }),
    // Record Traffic starts `heavy record` beside the debugged app (in VS Code: Electron as Node).
    node: process.execPath,
    // The Python helpers get [tool.heavy.db] already validated, so there is one config parser.
    dbConfig: JSON.stringify(project.config.db ?? {}),
  };
  const variant = variantFor(template, project);
  const spec = template.run[variant] ?? template.run.asgi;
  if (!spec) throw new Error(`launch template ${template.id} has no "${variant}" variant`);
  const args = [...expandArgs(spec.args, vars), ...(overrides.args ?? [])];
  const templateEnv = Object.fromEntries(Object.entries(spec.env ?? {}).map(([k, v]) => [k, expandString(v, vars)]));
  const program = spec.program ? path.normalize(expandString(spec.program, vars)) : undefined;
  const module = spec.module ? expandString(spec.module, vars) : undefined;
  return {
    name: template.name,
    type: 'heavy',
    request: 'launch',
    profile: template.id,
    description: template.description,
    python: project.python.path,
    ...(module ? { module } : { program }),
    args,
    cwd: project.root,
    env: { ...project.env, ...templateEnv },
    ...(project.envFile ? { envFile: project.envFile } : {}),
    justMyCode: template.debug.justMyCode,
    subProcess: template.debug.subProcess,
    console: template.debug.console,
    ...(template.confirm ? { confirm: template.confirm } : {}),
    command: [project.python.path, ...(module ? ['-m', module] : [program!]), ...args],
  };
}

/** Quotes a command for display in a POSIX shell. Never used to run anything. */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
