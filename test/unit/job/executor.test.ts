import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { runBounded } from '../../../src/job/executor.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every pending promise chain run: one turn of the event loop, no timers. */
const settle = () => nextTurn();

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * A worker that holds each item until the test releases it, and records what it saw; how many
 * items are in flight at once is tracked, and the maximum kept.
 */
function heldWorker() {
  const held: { item: number; gate: Deferred }[] = [];
  const started: number[] = [];
  const finished: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const worker = async (item: number) => {
    started.push(item);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const gate = deferred();
    held.push({ item, gate });
    await gate.promise;
    inFlight--;
    finished.push(item);
  };
  const releaseOldest = () => {
    const next = held.shift();
    assert.ok(next, 'no item is held');
    next.gate.resolve();
  };
  return {
    worker,
    held,
    started,
    finished,
    releaseOldest,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

/** An async generator over 0..n-1 that counts how many items it has handed out and whether it was closed. */
function countingSource(n: number) {
  const state = { pulled: 0, closed: false };
  async function* generate() {
    try {
      for (let i = 0; i < n; i++) {
        state.pulled++;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  }
  return { items: generate(), state };
}

describe('runBounded', () => {
  for (const concurrency of [1, 3, 8]) {
    test(`never more than ${concurrency} in flight, and exactly ${concurrency} while work remains`, async () => {
      const w = heldWorker();
      const run = runBounded(range(20), concurrency, w.worker);
      let releases = 0;
      for (;;) {
        await settle();
        const remaining = 20 - w.finished.length;
        assert.equal(w.inFlight, Math.min(concurrency, remaining), `after ${releases} releases`);
        if (w.held.length === 0) break;
        w.releaseOldest();
        releases++;
      }
      assert.deepEqual(await run, { started: 20, interrupted: false });
      assert.equal(w.maxInFlight, concurrency);
      assert.equal(releases, 20);
    });
  }

  test('more workers than items: each item once, no idle lane fails', async () => {
    const seen: string[] = [];
    const result = await runBounded(['a', 'b'], 10, async (item) => void seen.push(item));
    assert.deepEqual(result, { started: 2, interrupted: false });
    assert.deepEqual(seen.sort(), ['a', 'b']);
  });

  test('an empty input starts nothing', async () => {
    let calls = 0;
    assert.deepEqual(await runBounded([], 4, async () => void calls++), { started: 0, interrupted: false });
    assert.equal(calls, 0);
  });

  // Workers finish out of order (item i takes i % 5 event-loop turns), so lanes interleave.
  const uneven = async (item: number, seen: number[]) => {
    for (let t = 0; t < item % 5; t++) await settle();
    seen.push(item);
  };

  const sources: [name: string, make: () => Iterable<number> | AsyncIterable<number>][] = [
    ['an array', () => range(50)],
    ['a Set', () => new Set(range(50))],
    [
      'a sync generator',
      function* () {
        for (let i = 0; i < 50; i++) yield i;
      },
    ],
    ['an async generator', () => countingSource(50).items],
  ];
  for (const [name, make] of sources) {
    test(`processes every item of ${name} exactly once`, async () => {
      const seen: number[] = [];
      const result = await runBounded(make(), 4, (item) => uneven(item, seen));
      assert.deepEqual(result, { started: 50, interrupted: false });
      assert.equal(seen.length, 50);
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        range(50),
      );
    });
  }

  test('pulls lazily: the async generator is never more than `concurrency` items ahead of the workers', async () => {
    const source = countingSource(30);
    const w = heldWorker();
    const run = runBounded(source.items, 3, w.worker);
    await settle();
    assert.equal(source.state.pulled, 3);
    while (w.held.length > 0) {
      assert.ok(source.state.pulled - w.finished.length <= 3, `pulled ${source.state.pulled}, finished ${w.finished.length}`);
      w.releaseOldest();
      await settle();
    }
    assert.deepEqual(await run, { started: 30, interrupted: false });
    assert.equal(source.state.pulled, 30);
  });

  test('an abort starts no new items while the running ones finish', async () => {
    const source = countingSource(10);
    const controller = new AbortController();
    const w = heldWorker();
    const run = runBounded(source.items, 2, w.worker, controller.signal);
    await settle();
    w.releaseOldest(); // item 0 done, item 2 starts
    await settle();
    assert.deepEqual(w.started, [0, 1, 2]);
    controller.abort();
    w.releaseOldest();
    w.releaseOldest();
    const result = await run;
    assert.deepEqual(result, { started: 3, interrupted: true });
    assert.deepEqual(w.started, [0, 1, 2]);
    assert.deepEqual([...w.finished].sort(), [0, 1, 2]);
    assert.equal(source.state.closed, true, 'the generator was closed (its finally ran)');
  });

  test('an item pulled while the abort came is not started', async () => {
    const gate = deferred();
    const controller = new AbortController();
    const state = { closed: false };
    async function* slowSource() {
      try {
        yield 0;
        await gate.promise; // the next page is still loading when SIGTERM arrives
        yield 1;
        yield 2;
      } finally {
        state.closed = true;
      }
    }
    const seen: number[] = [];
    const run = runBounded(slowSource(), 1, async (item) => void seen.push(item), controller.signal);
    await settle();
    controller.abort();
    gate.resolve();
    assert.deepEqual(await run, { started: 1, interrupted: true });
    assert.deepEqual(seen, [0]);
    assert.equal(state.closed, true);
  });

  test('an already aborted signal starts nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    let calls = 0;
    const result = await runBounded(range(5), 2, async () => void calls++, controller.signal);
    assert.deepEqual(result, { started: 0, interrupted: true });
    assert.equal(calls, 0);
  });

  test('a signal that never aborts does not interrupt', async () => {
    const controller = new AbortController();
    const result = await runBounded(range(5), 2, async () => undefined, controller.signal);
    assert.deepEqual(result, { started: 5, interrupted: false });
  });

  /** A hand-written async iterator, to see exactly which of its methods the executor calls. */
  function spyIterator(n: number) {
    const calls = { next: 0, return: 0 };
    let i = 0;
    const iterable: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          calls.next++;
          return i < n ? { done: false, value: i++ } : { done: true, value: undefined };
        },
        return: async () => {
          calls.return++;
          return { done: true, value: undefined };
        },
      }),
    };
    return { iterable, calls };
  }

  test('calls the iterator return() once when interrupted', async () => {
    const { iterable, calls } = spyIterator(100);
    const controller = new AbortController();
    let started = 0;
    const result = await runBounded(
      iterable,
      2,
      async () => {
        if (++started === 5) controller.abort();
      },
      controller.signal,
    );
    assert.equal(result.interrupted, true);
    assert.equal(result.started, 5);
    assert.equal(calls.return, 1);
    assert.ok(calls.next < 100);
  });

  test('does not call return() when the input was exhausted', async () => {
    const { iterable, calls } = spyIterator(7);
    const result = await runBounded(iterable, 3, async () => undefined);
    assert.deepEqual(result, { started: 7, interrupted: false });
    assert.equal(calls.return, 0);
  });

  test('never advances the iterator concurrently', async () => {
    let pending = 0;
    let overlapped = false;
    let i = 0;
    const iterable: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          if (++pending > 1) overlapped = true;
          await settle();
          pending--;
          return i < 20 ? { done: false, value: i++ } : { done: true, value: undefined };
        },
      }),
    };
    const result = await runBounded(iterable, 5, async () => undefined);
    assert.deepEqual(result, { started: 20, interrupted: false });
    assert.equal(overlapped, false);
  });

  for (const concurrency of [0, -1, 0.5, Number.NaN]) {
    test(`concurrency ${concurrency} throws RangeError`, async () => {
      let calls = 0;
      await assert.rejects(
        runBounded(range(3), concurrency, async () => void calls++),
        {
          name: 'RangeError',
          message: `concurrency must be >= 1, got ${concurrency}`,
        },
      );
      assert.equal(calls, 0);
    });
  }
});
