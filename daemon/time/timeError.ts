/** A time-tracking failure worded for the user (the CLI prints it without a stack). */
export class TimeError extends Error {}
