/** A problem in the user's project configuration, worded for the user. */
export class ConfigError extends Error {
  constructor(readonly file: string, readonly key: string | undefined, message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
