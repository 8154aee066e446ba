import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { readAhead } from '../../../src/util/read-ahead.js';

/** A source of `count` items that records when each is asked for and whether it was closed. */
function source(count: number, failAt?: number) {
  const log: string[] = [];
  async function* items(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < count; i++) {
        log.push(`fetch ${i}`);
        await tick();
        if (i === failAt) throw new Error(`page ${i} failed`);
        yield i;
      }
    } finally {
      log.push('closed');
    }
  }
  return { items: items(), log };
}

describe('readAhead', () => {
  test('yields every item in order, fetching the next while the consumer works on the current one', async () => {
    const { items, log } = source(3);
    const seen: number[] = [];
    for await (const item of readAhead(items)) {
      // By the time the consumer has item i, item i + 1 is already being fetched.
      await tick();
      log.push(`work ${item}`);
      seen.push(item);
    }
    assert.deepEqual(seen, [0, 1, 2]);
    // The source is found exhausted while the consumer still works on the last item.
    assert.deepEqual(log, ['fetch 0', 'fetch 1', 'work 0', 'fetch 2', 'work 1', 'closed', 'work 2']);
  });

  test('a failure of the source reaches the consumer after the items before it', async () => {
    const { items } = source(5, 2);
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const item of readAhead(items)) seen.push(item);
      })(),
      /page 2 failed/,
    );
    assert.deepEqual(seen, [0, 1]);
  });

  test('a consumer that stops early closes the source, and the failure of the item on its way is not thrown at anyone', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { items, log } = source(5, 1);
      for await (const item of readAhead(items)) {
        assert.equal(item, 0);
        break;
      }
      await tick();
      await tick();
      assert.equal(log.at(-1), 'closed');
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
