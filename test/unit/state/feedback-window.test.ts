// A page of the feedback history chosen source by source must be the page a sort of the whole
// history gives: same entries, same "more", same total, with duplicates counted once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareEntries, FeedbackWindow } from '../../../src/state/feedback-window.js';
import type { FeedbackEntry } from '../../../src/state/schema.js';

function entry(id: string, second: number): FeedbackEntry {
  return { id, timestamp: new Date(Date.UTC(2026, 10, 1, 0, 0, second)).toISOString(), iteration: 1, category: 'note', description: id } as unknown as FeedbackEntry;
}

/** The whole history sorted, the first copy of an id counting: the reference. */
function wholeSort(sources: FeedbackEntry[][], limit: number, after?: FeedbackEntry) {
  const byId = new Map<string, FeedbackEntry>();
  for (const source of sources) for (const e of source) if (!byId.has(e.id)) byId.set(e.id, e);
  const all = [...byId.values()].sort(compareEntries);
  const start = after === undefined ? 0 : all.findIndex((e) => compareEntries(e, after) > 0);
  const entries = start < 0 ? [] : all.slice(start, start + limit);
  return { entries, more: start >= 0 && start + limit < all.length, total: all.length };
}

test('pages match a sort of the whole history, for every limit and cursor, out-of-order sources and duplicates included', () => {
  // The state first, then archives mostly older than it: one entry out of order, one id in an
  // archive and the state, and ids whose later copies carry other timestamps (the first counts).
  const sources = [
    [entry('s1', 6), entry('b3', 5), entry('s2', 7), entry('s0', 0), entry('x', 1), entry('y', 2)],
    [entry('a1', 1), entry('a2', 2), entry('a3', 40), entry('x', 50)],
    [entry('b1', 3), entry('b2', 3), entry('b3', 5), entry('y', 55)],
  ];
  const everything = wholeSort(sources, 100).entries;
  for (const limit of [1, 2, 3, 5, 100]) {
    for (const after of [undefined, ...everything]) {
      const window = new FeedbackWindow(limit, after);
      for (const source of sources) window.add(source);
      assert.deepEqual(window.result(), wholeSort(sources, limit, after), `limit ${limit} after ${after?.id}`);
    }
  }
});

test('only the page is kept: a long history adds nothing beyond limit + 1 entries', () => {
  const window = new FeedbackWindow(10, undefined);
  for (let source = 0; source < 50; source++) window.add(Array.from({ length: 1000 }, (_, i) => entry(`e${source}-${i}`, (source * 1000 + i) % 3600)));
  const { entries, more, total } = window.result();
  assert.equal(entries.length, 10);
  assert.equal(more, true);
  assert.equal(total, 50_000);
});
