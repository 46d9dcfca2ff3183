/**
 * The variables a profile should set on top of the environment it is launched from.
 * Variables the user already exported win over the project's .env, as with dotenv.
 */
export function envToApply(profileEnv: Record<string, string>, base: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(profileEnv).filter(([key]) => base[key] === undefined));
}
