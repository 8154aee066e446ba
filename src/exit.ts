// Exit codes of the CLI contract (DESIGN.md) and the errors that choose them.

export const ExitCode = {
  /** Done. */
  ok: 0,
  /** Failed: API unreachable, unexpected error, some objects failed. */
  failed: 1,
  /** Usage: a bad flag or value. */
  usage: 2,
  /** Refused by a safety rule: max iterations, circuit breaker, another run holds the lock. */
  refused: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A bad flag, env var or value; the message names the option. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = ExitCode.usage;
}

/** A safety rule said no (circuit breaker, ...). */
export class RefusedError extends Error {
  override name = 'RefusedError';
  readonly exitCode = ExitCode.refused;
}

const EXIT_CODES = new Set<unknown>(Object.values(ExitCode));

/**
 * The exit code an error ends the CLI with: its own `exitCode` (every error that is not a plain
 * failure carries one), usage for yargs' parse errors, else failed.
 */
export function exitCodeFor(err: unknown): ExitCode {
  if (!(err instanceof Error)) return ExitCode.failed;
  if ('exitCode' in err && EXIT_CODES.has(err.exitCode)) return err.exitCode as ExitCode;
  if (err.name === 'YError') return ExitCode.usage;
  return ExitCode.failed;
}

/** One line a person can act on: the message, and its cause when that adds something. */
export function oneLine(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const text = err.message.replace(/\s+/g, ' ').trim();
  return text || err.name;
}
