import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LATE_TOLERANCE_MS, QpsLimiter } from '../../../src/kube/limiter.js';
import { jobConfigSchema } from '../../../src/config.js';
import type { Timer } from '../../../src/util/timer.js';
import { FakeTimer } from '../../support/fake-timer.js';

/** Acquires `count` times in sequence and returns the clock reading when each was granted. */
async function grantTimes(limiter: QpsLimiter, timer: FakeTimer, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    await limiter.acquire();
    times.push(timer.now());
  }
  return times;
}

describe('QpsLimiter', () => {
  test('a burst passes without waiting, then requests are spaced 1000/qps ms', async () => {
    const timer = new FakeTimer();
    const limiter = new QpsLimiter(10, 5, timer);
    const times = await grantTimes(limiter, timer, 9);
    assert.deepEqual(times, [0, 0, 0, 0, 0, 100, 200, 300, 400]);
    assert.deepEqual(timer.sleeps, [100, 100, 100, 100]);
  });

  test('the burst defaults to ceil(qps)', async () => {
    const timer = new FakeTimer();
    const limiter = new QpsLimiter(2.5, undefined, timer);
    assert.equal(limiter.burst, 3);
    const times = await grantTimes(limiter, timer, 5);
    assert.deepEqual(times, [0, 0, 0, 400, 800]);
  });

  test('burst 1 spaces every request after the first', async () => {
    const timer = new FakeTimer();
    const limiter = new QpsLimiter(0.5, 1, timer);
    assert.deepEqual(await grantTimes(limiter, timer, 4), [0, 2000, 4000, 6000]);
  });

  const rates: [qps: number, burst: number][] = [
    [10, 10],
    [20, 1],
    [50, 25],
  ];
  for (const [qps, burst] of rates) {
    test(`100 acquisitions at qps ${qps}, burst ${burst} take (100 − burst) × 1000/qps ms`, async () => {
      const timer = new FakeTimer();
      const limiter = new QpsLimiter(qps, burst, timer);
      const times = await grantTimes(limiter, timer, 100);
      const interval = 1000 / qps;
      assert.equal(times.at(-1), (100 - burst) * interval);
      // After the burst, the rate is exactly qps: every gap is one interval.
      const gaps = times.slice(burst).map((t, i) => t - (times[burst - 1 + i] ?? NaN));
      assert.deepEqual(gaps, Array<number>(100 - burst).fill(interval));
    });
  }

  test('an idle period refills the burst, but no further than burst', async () => {
    const timer = new FakeTimer();
    const limiter = new QpsLimiter(10, 3, timer);
    await grantTimes(limiter, timer, 3); // the burst is spent at t=0
    await timer.sleep(10_000); // idle long enough to refill far more than 3
    const start = timer.now();
    const times = await grantTimes(limiter, timer, 5);
    assert.deepEqual(
      times.map((t) => t - start),
      [0, 0, 0, 100, 200],
    );
  });

  test('requests arriving slower than the rate never wait', async () => {
    const timer = new FakeTimer();
    const limiter = new QpsLimiter(10, 1, timer);
    for (let i = 0; i < 5; i++) {
      await limiter.acquire();
      await timer.sleep(150);
    }
    assert.deepEqual(timer.sleeps, [150, 150, 150, 150, 150]);
  });

  test('concurrent callers reserve slots in call order', async () => {
    // FakeTimer moves its clock as soon as anyone sleeps; here every reservation is made at t=0,
    // as when five workers ask at once, so the clock must stay put while they wait.
    const waits: number[] = [];
    const frozen: Timer = { now: () => 0, sleep: async (ms) => void waits.push(ms) };
    const limiter = new QpsLimiter(10, 2, frozen);
    await Promise.all(Array.from({ length: 5 }, () => limiter.acquire()));
    assert.deepEqual(waits, [100, 200, 300]);
  });

  test('a timer that fires late does not lower the rate: the late caller keeps its slot', async () => {
    // Every sleep overshoots by 2 ms, twice the interval at qps 1000: restarting the schedule at
    // each late wake-up would deliver 2 requests per 3 ms (67%).
    const clock = new FakeTimer();
    const late: Timer = { now: () => clock.now(), sleep: (ms) => clock.sleep(ms + 2) };
    const limiter = new QpsLimiter(1000, 1, late);
    const times: number[] = [];
    for (let i = 0; i < 1000; i++) {
      await limiter.acquire();
      times.push(clock.now());
    }
    // 999 intervals of 1 ms, plus at most one overshoot.
    assert.ok((times.at(-1) ?? NaN) <= 999 + 2, `the 1000th request was granted at ${times.at(-1)} ms`);
    assert.ok(1000 / ((times.at(-1) ?? NaN) / 1000) >= 0.9 * 1000);
  });

  // Burst 2 at qps 10: two grants at t=0 put the schedule's next slot at 200 ms.
  const lateness: [idleMs: number, grants: number[]][] = [
    // Within the tolerance: the schedule holds, the late caller catches up its missed slot.
    [200 + LATE_TOLERANCE_MS, [0, 0, 100 - LATE_TOLERANCE_MS, 200 - LATE_TOLERANCE_MS]],
    // Beyond it: idle, so the schedule restarts with a full burst, no catching up on top.
    [200 + LATE_TOLERANCE_MS + 1, [0, 0, 100, 200]],
  ];
  for (const [idleMs, grants] of lateness) {
    test(`a caller ${idleMs - 200} ms late for its slot is granted at ${grants.join(', ')}`, async () => {
      const timer = new FakeTimer();
      const limiter = new QpsLimiter(10, 2, timer);
      await grantTimes(limiter, timer, 2);
      await timer.sleep(idleMs);
      const start = timer.now();
      const times = await grantTimes(limiter, timer, 4);
      assert.deepEqual(
        times.map((t) => t - start),
        grants,
      );
    });
  }

  test('qps 0 is no limit: thousands of requests at once, never a sleep', async () => {
    const timer = new FakeTimer();
    const limiter = new QpsLimiter(0, 1, timer);
    assert.equal(limiter.unlimited, true);
    await Promise.all(Array.from({ length: 5000 }, () => limiter.acquire()));
    assert.deepEqual(timer.sleeps, []);
    assert.equal(timer.now(), 0);
  });

  const invalid = [-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY];
  for (const qps of invalid) {
    test(`qps ${qps} throws RangeError`, () => {
      assert.throws(() => new QpsLimiter(qps), { name: 'RangeError', message: `qps must be >= 0 (0: no limit), got ${qps}` });
    });
  }
});

describe('--qps', () => {
  const base = { allNamespaces: false, concurrency: 8, pageSize: 500, pageBytes: '32Mi', shardCount: 1, requirePush: false, leaseDuration: 60 };
  const cases: [qps: number, valid: boolean][] = [
    [0, true],
    [0.5, true],
    [20, true],
    [10_000, true],
    [-1, false],
    [10_001, false],
    [Number.NaN, false],
  ];
  for (const [qps, valid] of cases) {
    test(`--qps ${qps} is ${valid ? 'accepted' : 'rejected'}`, () => {
      const result = jobConfigSchema.safeParse({ ...base, qps });
      assert.equal(result.success, valid, JSON.stringify(result.error?.issues));
      if (result.success) assert.equal(result.data.qps, qps);
    });
  }
});
