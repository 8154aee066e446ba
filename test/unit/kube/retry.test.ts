import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ContentionMemory,
  DEFAULT_RETRY_POLICY,
  backoffDelay,
  deferDelay,
  fairDelay,
  isTransient,
  retryOnConflictFairly,
  withRetry,
  type Contention,
  type DeferPolicy,
  type FairRetryPolicy,
  type RetryPolicy,
} from '../../../src/kube/retry.js';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError, ThrottledError, UnavailableError, type RequestContext } from '../../../src/kube/errors.js';
import type { Timer } from '../../../src/util/timer.js';
import { FakeTimer } from '../../support/fake-timer.js';

const CTX: RequestContext = { verb: 'update', resource: 'configmaps', namespace: 'tasks', name: 'task-1-state' };
const unavailable = (retryAfterSeconds?: number) => new UnavailableError('API server error 503', 503, CTX, undefined, retryAfterSeconds);
const throttled = (retryAfterSeconds?: number) => new ThrottledError('throttled', 429, CTX, undefined, retryAfterSeconds);
const conflict = () => new ConflictError('changed since it was read', 409, CTX);
const noJitter = () => 0;

const POLICY: RetryPolicy = { maxAttempts: 6, initialDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 60_000, factor: 2, jitter: 0.5 };

/** A function that fails with `failures` in order, then returns `result`; it counts its calls. */
function failingThen<T>(failures: unknown[], result: T) {
  const attempts: number[] = [];
  const fn = async (attempt: number): Promise<T> => {
    attempts.push(attempt);
    const failure = failures[attempts.length - 1];
    if (failure !== undefined) throw failure;
    return result;
  };
  return { fn, attempts };
}

function alwaysFailing(make: () => unknown) {
  const attempts: number[] = [];
  const fn = async (attempt: number): Promise<never> => {
    attempts.push(attempt);
    throw make();
  };
  return { fn, attempts };
}

describe('withRetry', () => {
  test('succeeds after transient failures', async () => {
    const timer = new FakeTimer();
    const { fn, attempts } = failingThen([unavailable(), throttled(), unavailable()], 'ok');
    const retries: [string, number, number][] = [];
    const result = await withRetry(fn, {
      policy: POLICY,
      timer,
      random: noJitter,
      onRetry: (err, attempt, delay) => retries.push([(err as Error).name, attempt, delay]),
    });
    assert.equal(result, 'ok');
    assert.deepEqual(attempts, [1, 2, 3, 4]);
    assert.deepEqual(timer.sleeps, [100, 200, 400]);
    assert.deepEqual(retries, [
      ['UnavailableError', 1, 100],
      ['ThrottledError', 2, 200],
      ['UnavailableError', 3, 400],
    ]);
  });

  test('a first success makes one attempt and never sleeps', async () => {
    const timer = new FakeTimer();
    const { fn, attempts } = failingThen([], 42);
    assert.equal(await withRetry(fn, { timer }), 42);
    assert.deepEqual(attempts, [1]);
    assert.deepEqual(timer.sleeps, []);
  });

  test('stops at maxAttempts and rethrows the last failure', async () => {
    const timer = new FakeTimer();
    const errors: Error[] = [];
    const { fn, attempts } = alwaysFailing(() => {
      const err = unavailable();
      errors.push(err);
      return err;
    });
    await assert.rejects(withRetry(fn, { policy: POLICY, timer, random: noJitter }), (err) => err === errors.at(-1));
    assert.deepEqual(attempts, [1, 2, 3, 4, 5, 6]);
    assert.equal(timer.sleeps.length, 5);
  });

  test('uses DEFAULT_RETRY_POLICY when none is given', async () => {
    const timer = new FakeTimer();
    const { fn, attempts } = alwaysFailing(() => unavailable());
    await assert.rejects(withRetry(fn, { timer, random: noJitter }), UnavailableError);
    assert.equal(attempts.length, DEFAULT_RETRY_POLICY.maxAttempts);
    assert.deepEqual(timer.sleeps, [200, 400, 800, 1600, 3200]);
  });

  const permanent: [name: string, err: Error][] = [
    ['ConflictError', conflict()],
    ['InvalidError', new InvalidError('rejected as invalid', 422, CTX)],
    ['NotFoundError', new NotFoundError('not found', 404, CTX)],
    ['ForbiddenError', new ForbiddenError('forbidden', 403, CTX)],
    ['a plain Error', new Error('bug')],
  ];
  for (const [name, failure] of permanent) {
    test(`does not retry ${name}`, async () => {
      const timer = new FakeTimer();
      const { fn, attempts } = alwaysFailing(() => failure);
      await assert.rejects(withRetry(fn, { policy: POLICY, timer }), (err) => err === failure);
      assert.deepEqual(attempts, [1]);
      assert.deepEqual(timer.sleeps, []);
    });
  }

  test('a custom retryable decides what is retried', async () => {
    const timer = new FakeTimer();
    const { fn, attempts } = failingThen([new Error('flaky'), new Error('flaky')], 'ok');
    const result = await withRetry(fn, { policy: POLICY, timer, random: noJitter, retryable: (err) => (err as Error).message === 'flaky' });
    assert.equal(result, 'ok');
    assert.deepEqual(attempts, [1, 2, 3]);
  });

  const retryAfter: [name: string, err: Error, ms: number][] = [
    ['ThrottledError retryAfterSeconds 3', throttled(3), 3000],
    ['ThrottledError retryAfterSeconds 0', throttled(0), 0],
    ['UnavailableError retryAfterSeconds 2', unavailable(2), 2000],
    // The server's word wins over maxDelayMs and jitter.
    ['ThrottledError retryAfterSeconds 30, above maxDelayMs', throttled(30), 30_000],
  ];
  for (const [name, failure, ms] of retryAfter) {
    test(`honours Retry-After exactly: ${name} → sleep ${ms} ms`, async () => {
      const timer = new FakeTimer();
      const { fn, attempts } = failingThen([failure], 'ok');
      assert.equal(await withRetry(fn, { policy: POLICY, timer, random: () => 1 }), 'ok');
      assert.deepEqual(attempts, [1, 2]);
      assert.deepEqual(timer.sleeps, [ms]);
    });
  }

  test('backoff grows exponentially and is capped at maxDelayMs', async () => {
    const timer = new FakeTimer();
    const { fn } = alwaysFailing(() => unavailable());
    const policy: RetryPolicy = { ...POLICY, maxAttempts: 10, factor: 3 };
    await assert.rejects(withRetry(fn, { policy, timer, random: noJitter }), UnavailableError);
    assert.deepEqual(timer.sleeps, [100, 300, 900, 1000, 1000, 1000, 1000, 1000, 1000]);
  });

  test('random()=1 takes the jitter share off every delay', async () => {
    const timer = new FakeTimer();
    const { fn } = alwaysFailing(() => unavailable());
    await assert.rejects(withRetry(fn, { policy: POLICY, timer, random: () => 1 }), UnavailableError);
    assert.deepEqual(timer.sleeps, [50, 100, 200, 400, 500]);
  });

  test('gives up when the next wait would pass maxElapsedMs', async () => {
    const timer = new FakeTimer();
    const { fn, attempts } = alwaysFailing(() => unavailable());
    // Waits 1000, 2000 end at 3000; the next (4000) would end at 7000 > 6999.
    const policy: RetryPolicy = { ...POLICY, maxAttempts: 100, initialDelayMs: 1000, maxDelayMs: 60_000, maxElapsedMs: 6999, jitter: 0 };
    await assert.rejects(withRetry(fn, { policy, timer }), UnavailableError);
    assert.deepEqual(timer.sleeps, [1000, 2000]);
    assert.deepEqual(attempts, [1, 2, 3]);
  });

  test('a wait that ends exactly at maxElapsedMs is still taken', async () => {
    const timer = new FakeTimer();
    const { fn, attempts } = alwaysFailing(() => unavailable());
    const policy: RetryPolicy = { ...POLICY, maxAttempts: 100, initialDelayMs: 1000, maxDelayMs: 60_000, maxElapsedMs: 7000, jitter: 0 };
    await assert.rejects(withRetry(fn, { policy, timer }), UnavailableError);
    assert.deepEqual(timer.sleeps, [1000, 2000, 4000]);
    assert.deepEqual(attempts, [1, 2, 3, 4]);
  });

  test('time spent inside attempts counts towards maxElapsedMs', async () => {
    const timer = new FakeTimer();
    const attempts: number[] = [];
    const fn = async (attempt: number): Promise<never> => {
      attempts.push(attempt);
      await timer.sleep(4000); // a slow request that then times out
      throw unavailable();
    };
    const policy: RetryPolicy = { ...POLICY, maxElapsedMs: 10_000, jitter: 0 };
    await assert.rejects(withRetry(fn, { policy, timer }), UnavailableError);
    // Attempt 3 starts at 4000 + 100 + 4000 + 200 = 8300 (within budget) and fails at 12300;
    // the next wait (400) would end at 12700 > 10000.
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(timer.sleeps, [4000, 100, 4000, 200, 4000]);
  });

  test('a Retry-After longer than the time left gives up without waiting', async () => {
    const timer = new FakeTimer();
    const { fn, attempts } = alwaysFailing(() => throttled(120));
    await assert.rejects(withRetry(fn, { policy: POLICY, timer }), ThrottledError);
    assert.deepEqual(attempts, [1]);
    assert.deepEqual(timer.sleeps, []);
  });

  test('an already aborted signal stops retrying', async () => {
    const timer = new FakeTimer();
    const controller = new AbortController();
    controller.abort();
    const { fn, attempts } = alwaysFailing(() => unavailable());
    await assert.rejects(withRetry(fn, { policy: POLICY, timer, signal: controller.signal }), UnavailableError);
    assert.deepEqual(attempts, [1]);
    assert.deepEqual(timer.sleeps, []);
  });

  test('a signal aborted during an attempt stops retrying after it', async () => {
    const timer = new FakeTimer();
    const controller = new AbortController();
    const attempts: number[] = [];
    const fn = async (attempt: number): Promise<never> => {
      attempts.push(attempt);
      if (attempt === 2) controller.abort();
      throw unavailable();
    };
    await assert.rejects(withRetry(fn, { policy: POLICY, timer, random: noJitter, signal: controller.signal }), UnavailableError);
    assert.deepEqual(attempts, [1, 2]);
    assert.deepEqual(timer.sleeps, [100]);
  });

  test('a signal aborted during the wait makes no further attempt', async () => {
    const controller = new AbortController();
    const slept: number[] = [];
    // Like realTimer: the abort ends the sleep early, without throwing.
    const timer: Timer = {
      now: () => 0,
      sleep: async (ms, signal) => {
        slept.push(ms);
        assert.equal(signal, controller.signal);
        controller.abort();
      },
    };
    const { fn, attempts } = alwaysFailing(() => unavailable());
    await assert.rejects(withRetry(fn, { policy: POLICY, timer, random: noJitter, signal: controller.signal }), UnavailableError);
    assert.deepEqual(slept, [100]);
    assert.deepEqual(attempts, [1]);
  });
});

describe('backoffDelay', () => {
  const policy: RetryPolicy = { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 60_000, factor: 2, jitter: 0.5 };
  const delays: [attempt: number, jitter: number, random: number, ms: number][] = [
    [1, 0.5, 0, 100],
    [1, 0.5, 1, 50],
    [2, 0.5, 0, 200],
    [2, 0.5, 1, 100],
    [3, 0.5, 0.5, 300],
    [4, 0.5, 0, 800],
    [5, 0.5, 0, 1000],
    [5, 0.5, 1, 500],
    [20, 0.5, 0, 1000],
    [3, 0, 1, 400],
    [3, 1, 0, 400],
    [3, 1, 1, 0],
  ];
  for (const [attempt, jitter, random, ms] of delays) {
    test(`attempt ${attempt}, jitter ${jitter}, random ${random} → ${ms} ms`, () => {
      assert.equal(
        backoffDelay(attempt, { ...policy, jitter }, () => random),
        ms,
      );
    });
  }

  test('stays within [base × (1 − jitter), base] for any random in [0, 1]', () => {
    for (let i = 0; i <= 100; i++) {
      const r = i / 100;
      const ms = backoffDelay(3, policy, () => r);
      assert.ok(ms >= 200 && ms <= 400, `random ${r} → ${ms}`);
    }
  });

  test('Retry-After replaces the backoff', () => {
    assert.equal(
      backoffDelay(5, policy, () => 1, throttled(4)),
      4000,
    );
    assert.equal(
      backoffDelay(1, policy, () => 0, unavailable(0)),
      0,
    );
    assert.equal(
      backoffDelay(2, policy, () => 0, unavailable()),
      200,
    );
  });
});

describe('isTransient', () => {
  const cases: [name: string, err: unknown, transient: boolean][] = [
    ['UnavailableError', unavailable(), true],
    ['ThrottledError', throttled(), true],
    ['ConflictError', conflict(), false],
    ['InvalidError', new InvalidError('invalid', 422, CTX), false],
    ['a plain Error', new Error('x'), false],
    ['a string', 'x', false],
  ];
  for (const [name, err, transient] of cases) {
    test(`${name} → ${transient}`, () => assert.equal(isTransient(err), transient));
  }
});

describe('fairDelay', () => {
  const fair: FairRetryPolicy = { queueShare: 0.7, spreadMs: 3, maxElapsedMs: 10_000 };
  const cases: [name: string, waitedMs: number, turnMs: number | undefined, ms: number][] = [
    ['turn not known yet: only the spread', 10, undefined, 0],
    ['lost its first round of a 300 ms turn: sleeps until 0.7 of it', 10, 300, 200],
    ['half-way through the turn', 150, 300, 60],
    ['past 0.7 of the turn: retries at once', 210, 300, 0],
    ['long past it', 5000, 300, 0],
  ];
  for (const [name, waitedMs, turnMs, ms] of cases) {
    test(`${name} → ${ms} ms (random 0), ${ms + 3} ms (random 1)`, () => {
      assert.equal(
        fairDelay(waitedMs, turnMs, fair, () => 0),
        ms,
      );
      assert.equal(
        fairDelay(waitedMs, turnMs, fair, () => 1),
        ms + 3,
      );
    });
  }

  test('whatever the turn, a writer that joined earlier is due no later than one that joined after it', () => {
    for (const turnMs of [20, 90, 300, 800]) {
      for (let waited = 0; waited < 1000; waited += 7) {
        // Asked at the same moment: the earlier writer has waited 7 ms more.
        const earlierDue = fairDelay(waited + 7, turnMs, fair, () => 0);
        const laterDue = fairDelay(waited, turnMs, fair, () => 0);
        assert.ok(earlierDue <= laterDue, `turn ${turnMs} ms, waited ${waited} ms`);
      }
    }
  });
});

describe('retryOnConflictFairly', () => {
  const fair: FairRetryPolicy = { queueShare: 0.7, spreadMs: 3, maxElapsedMs: 1000 };

  test('the first attempt is not delayed, and a first success never sleeps', async () => {
    const timer = new FakeTimer();
    const { fn, attempts } = failingThen([], 'ok');
    assert.equal(await retryOnConflictFairly(fn, { policy: fair, timer, random: () => 1 }), 'ok');
    assert.deepEqual(attempts, [1]);
    assert.deepEqual(timer.sleeps, []);
  });

  test('without a known turn a loser retries after the spread at most', async () => {
    const timer = new FakeTimer();
    const { fn, attempts } = failingThen([conflict(), conflict()], 'ok');
    assert.equal(await retryOnConflictFairly(fn, { policy: fair, timer, random: () => 1 }), 'ok');
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(timer.sleeps, [3, 3]);
  });

  test('retries conflicts until the next wait would pass maxElapsedMs, and nothing else', async () => {
    const timer = new FakeTimer();
    const attempts: number[] = [];
    const fn = async (attempt: number): Promise<never> => {
      attempts.push(attempt);
      await timer.sleep(50); // the request: read and conflicting write
      throw conflict();
    };
    await assert.rejects(retryOnConflictFairly(fn, { policy: { ...fair, maxElapsedMs: 200 }, timer, random: () => 1 }), ConflictError);
    // Rounds of 50 ms, waits of 3: the 4th round ends at 209; its wait would end at 212.
    assert.deepEqual(attempts, [1, 2, 3, 4]);

    const failure = unavailable();
    const other = alwaysFailing(() => failure);
    await assert.rejects(retryOnConflictFairly(other.fn, { policy: fair, timer: new FakeTimer() }), (err) => err === failure);
    assert.deepEqual(other.attempts, [1]);
  });
});

describe('deferDelay', () => {
  const defer: DeferPolicy = { windowMs: 1000, maxDelayMs: 500, minShare: 0.9, smoothing: 0.3 };
  const cases: [name: string, contention: Contention | undefined, now: number, lowMs: number, highMs: number][] = [
    ['never lost a round (a writer alone)', undefined, 5000, 0, 0],
    ['lost one just now, turns of 90 ms (a few writers)', { lastConflictAt: 5000, turnMs: 90 }, 5000, 81, 90],
    ['turns of 300 ms (many writers)', { lastConflictAt: 5000, turnMs: 300 }, 5000, 270, 300],
    ['lost one 1 s ago: still within the window', { lastConflictAt: 4000, turnMs: 90 }, 5000, 81, 90],
    ['lost one 1.001 s ago: past the window', { lastConflictAt: 3999, turnMs: 90 }, 5000, 0, 0],
    ['very long turns: capped at maxDelayMs', { lastConflictAt: 5000, turnMs: 2000 }, 5000, 450, 500],
  ];
  for (const [name, contention, now, lowMs, highMs] of cases) {
    test(`${name} → ${lowMs} ms (random 0) to ${highMs} ms (random 1)`, () => {
      assert.equal(
        deferDelay(contention, now, defer, () => 0),
        lowMs,
      );
      assert.equal(
        deferDelay(contention, now, defer, () => 1),
        highMs,
      );
    });
  }
});

describe('ContentionMemory', () => {
  const defer: DeferPolicy = { windowMs: 1000, maxDelayMs: 500, minShare: 0.9, smoothing: 0.5 };

  test('remembers nothing of operations that never lost a round', () => {
    const memory = new ContentionMemory(defer);
    memory.record('a', undefined, 12, 100);
    assert.equal(memory.get('a', 100), undefined);
    assert.equal(memory.size, 0);
  });

  test('a lost round is remembered per key for the window; an operation that lost none leaves it as it was', () => {
    const memory = new ContentionMemory(defer);
    memory.record('a', 100, 80, 130);
    assert.deepEqual(memory.get('a', 200), { lastConflictAt: 100, turnMs: 80 });
    assert.equal(memory.get('b', 200), undefined);
    memory.record('a', undefined, 12, 600);
    assert.deepEqual(memory.get('a', 1100), { lastConflictAt: 100, turnMs: 80 });
    assert.equal(memory.get('a', 1101), undefined);
    // Past the window: the next contended operation starts afresh.
    memory.record('a', 1500, 40, 1510);
    assert.deepEqual(memory.get('a', 1510), { lastConflictAt: 1500, turnMs: 40 });
  });

  test('within the window the turn is smoothed: smoothing × the newest + the rest × the turn before', () => {
    const memory = new ContentionMemory(defer);
    memory.record('a', 100, 80, 130);
    memory.record('a', 300, 200, 320);
    assert.deepEqual(memory.get('a', 320), { lastConflictAt: 300, turnMs: 140 });
    memory.record('a', 500, 20, 520);
    assert.deepEqual(memory.get('a', 520), { lastConflictAt: 500, turnMs: 80 });
  });

  test('keeps no more than the recent entries of a writer that met contention on many keys', () => {
    const memory = new ContentionMemory(defer);
    for (let i = 0; i < 2000; i++) memory.record(`k${i}`, i * 10, 15, i * 10);
    assert.equal(memory.get('k1000', 19_990), undefined);
    assert.deepEqual(memory.get('k1999', 19_990), { lastConflictAt: 19_990, turnMs: 15 });
    assert.ok(memory.size <= 1024, `${memory.size} entries`);
  });
});

describe('retryOnConflictFairly with contention memory', () => {
  const fair: FairRetryPolicy = { queueShare: 0.7, spreadMs: 3, maxElapsedMs: 10_000 };
  const defer: DeferPolicy = { windowMs: 1000, maxDelayMs: 500, minShare: 0.9, smoothing: 0.5 };
  /** An operation whose rounds take 10 ms and that loses `losses` of them. */
  const operation = (timer: FakeTimer, losses: number) => async (attempt: number) => {
    await timer.sleep(10);
    if (attempt <= losses) throw conflict();
    return 'ok';
  };

  test('a writer that never loses a round never waits before its first attempt', async () => {
    const timer = new FakeTimer();
    const memory = new ContentionMemory(defer);
    for (let i = 0; i < 3; i++) await retryOnConflictFairly(operation(timer, 0), { policy: fair, timer, random: () => 1, contention: { memory, key: 'a' } });
    assert.deepEqual(timer.sleeps, [10, 10, 10]);
  });

  test('after losing rounds, the next operation on that key goes to the back of the turn and sleeps until its share of it; other keys do not', async () => {
    const timer = new FakeTimer();
    const memory = new ContentionMemory(defer);
    const options = (key: string) => ({ policy: fair, timer, random: () => 0, contention: { memory, key } });
    // No turn known: rounds of 10 ms, retried at once; the fourth wins, 40 ms in all.
    await retryOnConflictFairly(operation(timer, 3), options('a'));
    assert.deepEqual(timer.sleeps, [10, 0, 10, 0, 10, 0, 10]);
    timer.sleeps.length = 0;
    await retryOnConflictFairly(operation(timer, 0), options('b'));
    assert.deepEqual(timer.sleeps, [10]);
    timer.sleeps.length = 0;
    // Turns of 40 ms: defers 0.9 × 40 = 36; after its lost round (10 ms in) it sleeps until 0.7 × 40 = 28.
    await retryOnConflictFairly(operation(timer, 1), options('a'));
    assert.deepEqual(timer.sleeps, [36, 10, 18, 10]);
    // This one took 38 ms: the turn is now 0.5 × 38 + 0.5 × 40 = 39.
    assert.equal(memory.get('a', timer.now())?.turnMs, 39);
  });
});
