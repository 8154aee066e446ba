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
}

/** A safety rule said no (circuit breaker, ...). */
export class RefusedError extends Error {
  override name = 'RefusedError';
}

const REFUSALS = new Set(['RefusedError', 'LockHeldError', 'MaxIterationsError', 'InvalidTransitionError']);
const USAGE = new Set(['UsageError', 'KubeConfigError', 'DurationParseError', 'TimestampParseError', 'InvalidFeedbackError', 'YError']);

/** By name, so modules need not import each other's error classes to be classified. */
export function exitCodeFor(err: unknown): ExitCode {
  const name = err instanceof Error ? err.name : '';
  if (REFUSALS.has(name)) return ExitCode.refused;
  if (USAGE.has(name)) return ExitCode.usage;
  return ExitCode.failed;
}

/** One line a person can act on: the message, and its cause when that adds something. */
export function oneLine(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const text = err.message.replace(/\s+/g, ' ').trim();
  return text || err.name;
}
