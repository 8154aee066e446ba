import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { QpsLimiter } from '../../src/kube/limiter.js';
import { FakeTimer, type Timer } from '../../src/util/timer.js';

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

  const invalid = [0, -1, -0.5, Number.NaN];
  for (const qps of invalid) {
    test(`qps ${qps} throws RangeError`, () => {
      assert.throws(() => new QpsLimiter(qps), { name: 'RangeError', message: `qps must be > 0, got ${qps}` });
    });
  }
});
