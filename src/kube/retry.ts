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
 * conflict. With exponential backoff those that lost most wait longest while newcomers win, and
 * the tail is starvation; with random waits the object sits idle between rounds and the order is
 * a lottery. Here writers take turns without talking to each other, from what each measured of its
 * own recent operations on the object (Contention):
 *  - a turn: writers taking turns each wait about one turn of all the others, so a writer's
 *    contended operations (first attempt to success) measure how long a turn is, without knowing
 *    how many writers there are;
 *  - a loser sleeps until queueShare of a turn has passed since its first attempt (its place in
 *    the queue is about where it joined it), then retries at once after every lost round: the
 *    round that beat it has just been committed, so the object is free now, and the writers that
 *    joined first reach that point first;
 *  - the writer that just won goes to the back: it defers its next first attempt by about a turn
 *    (deferDelay), where without it it would start at once, ahead of every writer it beat.
 * A writer alone never loses a round and never waits. The first attempt is never delayed by
 * fairDelay; spreadMs of randomness keeps writers that lost the same round out of step.
 */
export interface FairRetryPolicy {
  /** After a lost round, wait until this share of a turn has passed since the first attempt. */
  queueShare: number;
  /** Each wait gets random(0, spreadMs) more. */
  spreadMs: number;
  /** Give up when the next wait would end after this much time since the first attempt. */
  maxElapsedMs: number;
}

/** The wait after a lost round of a writer that has been at it for `waitedMs`, turns taking `turnMs` (undefined: not known yet). */
export function fairDelay(waitedMs: number, turnMs: number | undefined, policy: FairRetryPolicy, random: () => number): number {
  const untilTurn = turnMs === undefined ? 0 : Math.max(0, policy.queueShare * turnMs - waitedMs);
  return Math.round(untilTurn + policy.spreadMs * random());
}

/** What a writer remembers of its recent operations on one object that met contention. */
export interface Contention {
  /** When (timer ms) the writer last lost a round on this object. */
  lastConflictAt: number;
  /** How long one turn of all the writers takes: its contended operations' durations, first attempt to success, smoothed. */
  turnMs: number;
}

export interface DeferPolicy {
  /** A conflict older than this no longer delays the first attempt (the memory of it is dropped). */
  windowMs: number;
  /** The bound on the delay, however long a turn took. */
  maxDelayMs: number;
  /** The deferral is random in [minShare, 1] of a turn. */
  minShare: number;
  /** The weight of the newest contended operation in turnMs (the rest: the operations before). */
  smoothing: number;
}

/** The wait before the first attempt: none unless this writer lost a round within windowMs, else about one turn. */
export function deferDelay(contention: Contention | undefined, now: number, policy: DeferPolicy, random: () => number): number {
  if (contention === undefined || now - contention.lastConflictAt > policy.windowMs) return 0;
  return Math.round(Math.min(policy.maxDelayMs, contention.turnMs) * (policy.minShare + (1 - policy.minShare) * random()));
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
    const before = this.get(key, now);
    const turnMs = before === undefined ? tookMs : this.policy.smoothing * tookMs + (1 - this.policy.smoothing) * before.turnMs;
    this.byKey.set(key, { lastConflictAt: lostAt, turnMs });
  }
}

export interface FairRetryOptions extends Omit<RetryOptions, 'policy' | 'retryable'> {
  policy: FairRetryPolicy;
  /** The writer's memory of contention on `key`: it sets the waits, and is updated after. Without it a loser retries after spreadMs at most. */
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
  const known = contention?.memory.get(contention.key, timer.now());
  if (contention) {
    const first = deferDelay(known, timer.now(), contention.memory.policy, random);
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
      (_attempt, waitedMs) => fairDelay(waitedMs, known?.turnMs, options.policy, random),
      { ...options, timer, retryable: (err) => err instanceof ConflictError },
    );
  } finally {
    contention?.memory.record(contention.key, lostAt, timer.now() - started, timer.now());
  }
}
