// Retries for transient API failures: jittered exponential backoff that honours Retry-After,
// bounded both in attempts and in elapsed time. Conflicts are not transient: only
// retryOnConflictFairly repeats them, and it re-reads before every attempt.

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
  const random = options.random ?? Math.random;
  return retryLoop(fn, policy, (attempt, _waitedMs, err) => backoffDelay(attempt, policy, random, err), options);
}

/** Attempts until success, a failure not retryable, or the policy's bounds; `delay` says how long to wait before attempt `attempt + 1`. */
async function retryLoop<T>(
  fn: (attempt: number) => Promise<T>,
  bounds: Pick<RetryPolicy, 'maxAttempts' | 'maxElapsedMs'>,
  delay: (attempt: number, waitedMs: number, err: unknown) => number,
  options: Omit<RetryOptions, 'policy'>,
): Promise<T> {
  const timer = options.timer ?? realTimer;
  const retryable = options.retryable ?? isTransient;
  const started = timer.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= bounds.maxAttempts || !retryable(err) || options.signal?.aborted) throw err;
      const waited = timer.now() - started;
      const ms = delay(attempt, waited, err);
      if (waited + ms > bounds.maxElapsedMs) throw err;
      options.onRetry?.(err, attempt, ms);
      await timer.sleep(ms, options.signal);
      if (options.signal?.aborted) throw err;
    }
  }
}


/**
 * Retries for a read-modify-write that many writers race for (one object, writers in different
 * processes that share nothing but it). Under contention one writer wins each round and the rest
 * conflict; with exponential backoff those that lost most wait longest while newcomers win, and
 * the tail is starvation. Here the bound of the (fully jittered) delay shrinks as the time already
 * waited grows: a writer that just lost its first round waits up to maxDelayMs, deferring to those
 * already waiting, who retry ever sooner, so the writer that has waited longest tends to win next.
 * Every writer's clock starts with its own operation, so this needs no coordination. The first
 * attempt is never delayed.
 */
export interface FairRetryPolicy {
  /** The bound on the wait after a writer's first lost round. */
  maxDelayMs: number;
  /** The bound once a writer has waited horizonMs: long waiters still spread out a little. */
  minDelayMs: number;
  /** Over this much waiting the bound shrinks linearly from maxDelayMs to minDelayMs. */
  horizonMs: number;
  /** Give up when the next wait would end after this much time since the first attempt. */
  maxElapsedMs: number;
}

/** The wait before the next attempt of a writer that has been at it for `waitedMs`: random in [0, bound(waitedMs)]. */
export function fairDelay(waitedMs: number, policy: FairRetryPolicy, random: () => number): number {
  const share = Math.max(0, 1 - waitedMs / policy.horizonMs);
  const bound = policy.minDelayMs + (policy.maxDelayMs - policy.minDelayMs) * share;
  return Math.round(bound * random());
}

/**
 * What a writer remembers of its recent operations on one object: whether they met contention.
 * The writer that just won a round starts its next operation at once, ahead of every writer that
 * lost to it and is waiting out fairDelay, and keeps winning; so a writer that met contention lately
 * defers its next first attempt too (deferDelay). Only the writer's own operations feed it.
 */
export interface Contention {
  /** When (timer ms) the writer last lost a round on this object. */
  lastConflictAt: number;
  /** How long its last operation that lost a round took, first attempt to success. */
  contendedMs: number;
}

export interface DeferPolicy {
  /** A conflict older than this no longer delays the first attempt. */
  windowMs: number;
  /** The bound on the delay, however long the last contended operation took. */
  maxDelayMs: number;
}

/**
 * The wait before the first attempt: none unless this writer lost a round within windowMs, else
 * random in [0, contendedMs]. Writers taking turns each wait about one turn of all the others, so
 * the last contended operation measures how many writers there are without knowing them: a few
 * writers defer a little, many defer more.
 */
export function deferDelay(contention: Contention | undefined, now: number, policy: DeferPolicy, random: () => number): number {
  if (contention === undefined || now - contention.lastConflictAt > policy.windowMs) return 0;
  return Math.round(Math.min(policy.maxDelayMs, contention.contendedMs) * random());
}

/** Per-object Contention, for one writer; entries past the window are dropped (all of them once there are many), so a long-lived writer keeps only recent ones. */
export class ContentionMemory {
  private readonly byKey = new Map<string, Contention>();
  constructor(readonly policy: DeferPolicy) {}

  get size(): number {
    return this.byKey.size;
  }

  get(key: string, now: number): Contention | undefined {
    const c = this.byKey.get(key);
    if (c !== undefined && now - c.lastConflictAt > this.policy.windowMs) this.byKey.delete(key);
    return this.byKey.get(key);
  }

  /** After an operation that took `tookMs` from its first attempt: `lostAt` is when it last lost a round (undefined: never). */
  record(key: string, lostAt: number | undefined, tookMs: number, now: number): void {
    if (lostAt === undefined) return;
    if (this.byKey.size >= 1024) for (const k of [...this.byKey.keys()]) this.get(k, now);
    this.byKey.set(key, { lastConflictAt: lostAt, contendedMs: tookMs });
  }
}

export interface FairRetryOptions extends Omit<RetryOptions, 'policy' | 'retryable'> {
  policy: FairRetryPolicy;
  /** The writer's memory of contention on `key`: consulted before the first attempt, updated after. */
  contention?: { memory: ContentionMemory; key: string };
}

/**
 * Like client-go's RetryOnConflict, with fairDelay: `fn` must re-read the object on every attempt
 * and re-apply its change, so a retry never writes stale data; conflicts are retried until maxElapsedMs.
 */
export async function retryOnConflictFairly<T>(fn: (attempt: number) => Promise<T>, options: FairRetryOptions): Promise<T> {
  const random = options.random ?? Math.random;
  const timer = options.timer ?? realTimer;
  const contention = options.contention;
  if (contention) {
    const now = timer.now();
    const first = deferDelay(contention.memory.get(contention.key, now), now, contention.memory.policy, random);
    if (first > 0) await timer.sleep(first, options.signal);
  }
  let lostAt: number | undefined;
  const started = timer.now();
  try {
    return await retryLoop(
      async (attempt) => {
        try {
          return await fn(attempt);
        } catch (err) {
          if (err instanceof ConflictError) lostAt = timer.now();
          throw err;
        }
      },
      { maxAttempts: Infinity, maxElapsedMs: options.policy.maxElapsedMs },
      (_attempt, waitedMs) => fairDelay(waitedMs, options.policy, random),
      { ...options, timer, retryable: (err) => err instanceof ConflictError },
    );
  } finally {
    contention?.memory.record(contention.key, lostAt, timer.now() - started, timer.now());
  }
}
