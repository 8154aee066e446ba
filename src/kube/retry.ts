// Retries for transient API failures: jittered exponential backoff that honours Retry-After,
// bounded both in attempts and in elapsed time. Conflicts are not transient: only
// retryOnConflict repeats them, and it re-reads before every attempt.

import { ConflictError, KubeError, ThrottledError, UnavailableError } from './errors.js';
import { realTimer, type Timer } from '../util/timer.js';

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up when the next wait would end after this much time since the first attempt. */
  maxElapsedMs: number;
  factor: number;
  /** 0..1: the share of each delay that is randomised (full jitter at 1). */
  jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  initialDelayMs: 200,
  maxDelayMs: 10_000,
  maxElapsedMs: 60_000,
  factor: 2,
  jitter: 0.5,
};

/** client-go's DefaultRetry for conflicts: short, a handful of steps. */
export const CONFLICT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  initialDelayMs: 10,
  maxDelayMs: 500,
  maxElapsedMs: 10_000,
  factor: 2,
  jitter: 1,
};

export interface RetryOptions {
  policy?: RetryPolicy;
  timer?: Timer;
  random?: () => number;
  signal?: AbortSignal;
  /** Which failures are worth another attempt; transient KubeErrors by default. */
  retryable?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export function isTransient(err: unknown): boolean {
  return err instanceof KubeError && err.transient;
}

/** The wait before attempt `attempt + 1`: the server's Retry-After if it gave one, else backoff. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number, err?: unknown): number {
  const retryAfterSeconds = err instanceof ThrottledError || err instanceof UnavailableError ? err.retryAfterSeconds : undefined;
  if (retryAfterSeconds !== undefined) return retryAfterSeconds * 1000;
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** (attempt - 1));
  return Math.round(base * (1 - policy.jitter * random()));
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const timer = options.timer ?? realTimer;
  const random = options.random ?? Math.random;
  const retryable = options.retryable ?? isTransient;
  const started = timer.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.maxAttempts || !retryable(err) || options.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, policy, random, err);
      if (timer.now() - started + delay > policy.maxElapsedMs) throw err;
      options.onRetry?.(err, attempt, delay);
      await timer.sleep(delay, options.signal);
      if (options.signal?.aborted) throw err;
    }
  }
}

/**
 * Like client-go's RetryOnConflict: `fn` must re-read the object on every attempt and re-apply
 * its change, so a retry never writes stale data.
 */
export function retryOnConflict<T>(fn: (attempt: number) => Promise<T>, options: Omit<RetryOptions, 'retryable'> = {}): Promise<T> {
  return withRetry(fn, { policy: CONFLICT_RETRY_POLICY, ...options, retryable: (err) => err instanceof ConflictError });
}
