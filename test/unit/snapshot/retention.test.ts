// Retention under every combination of --keep-last, --max-age and --keep-min-good.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DateTime, Duration } from 'luxon';
import { planRetention, type RetentionPolicy } from '../../../src/snapshot/retention.js';

const NOW = DateTime.fromISO('2026-11-22T12:00:00Z', { zone: 'utc' });

/** Oldest first, as listSnapshots returns them: name, hours old, verifies? */
const DIR: [string, number, boolean][] = [
  ['a', 50, true],
  ['b', 40, true],
  ['c', 30, false],
  ['d', 20, true],
  ['e', 10, false],
  ['f', 1, false],
];
const snapshots = (spec = DIR) => spec.map(([file, hours, verified]) => ({ file, time: NOW.minus({ hours }), verified }));
const hours = (h: number) => Duration.fromObject({ hours: h });

const cases: { name: string; policy: RetentionPolicy; keep: string; input?: [string, number, boolean][] }[] = [
  { name: 'no limits: nothing is deleted', policy: { keepMinGood: 1 }, keep: 'fedcba' },
  { name: 'keep-last alone, no protection', policy: { keepLast: 3, keepMinGood: 0 }, keep: 'fed' },
  { name: 'keep-last already keeps the newest good one', policy: { keepLast: 3, keepMinGood: 1 }, keep: 'fed' },
  { name: 'keep-last would drop every good one: the newest good is kept', policy: { keepLast: 2, keepMinGood: 1 }, keep: 'fed' },
  { name: 'keep-last with keep-min-good 2 keeps the two newest good', policy: { keepLast: 2, keepMinGood: 2 }, keep: 'fedb' },
  { name: 'keep-last with keep-min-good 0 may leave no good snapshot', policy: { keepLast: 2, keepMinGood: 0 }, keep: 'fe' },
  { name: 'keep-last larger than the directory', policy: { keepLast: 10, keepMinGood: 1 }, keep: 'fedcba' },
  { name: 'max-age alone, no protection', policy: { maxAge: hours(25), keepMinGood: 0 }, keep: 'fed' },
  { name: 'max-age would drop every good one: the newest good is kept', policy: { maxAge: hours(15), keepMinGood: 1 }, keep: 'fed' },
  { name: 'max-age with keep-min-good above the good count keeps every good one', policy: { maxAge: hours(15), keepMinGood: 3 }, keep: 'fedba' },
  { name: 'max-age longer than the oldest', policy: { maxAge: hours(100), keepMinGood: 1 }, keep: 'fedcba' },
  { name: 'both limits: the stricter one decides each snapshot (age)', policy: { keepLast: 4, maxAge: hours(35), keepMinGood: 1 }, keep: 'fedc' },
  { name: 'both limits: age deletes within keep-last, protection keeps the newest good', policy: { keepLast: 5, maxAge: hours(15), keepMinGood: 1 }, keep: 'fed' },
  { name: 'both limits: keep-last deletes within max-age', policy: { keepLast: 1, maxAge: hours(100), keepMinGood: 1 }, keep: 'fd' },
  { name: 'both limits drop all: only the protected good ones stay', policy: { keepLast: 1, maxAge: Duration.fromObject({ minutes: 30 }), keepMinGood: 2 }, keep: 'db' },
  { name: 'both limits drop all, no protection', policy: { keepLast: 1, maxAge: Duration.fromObject({ minutes: 30 }), keepMinGood: 0 }, keep: '' },
  {
    name: 'nothing verifies: nothing to protect',
    policy: { maxAge: hours(5), keepMinGood: 1 },
    keep: 'f',
    input: [
      ['x', 30, false],
      ['y', 20, false],
      ['f', 1, false],
    ],
  },
  { name: 'exactly max-age old is kept; older is not', policy: { maxAge: hours(20), keepMinGood: 0 }, keep: 'fed' },
  {
    name: 'same time: the later in the listing is the newer',
    policy: { keepLast: 1, keepMinGood: 0 },
    keep: 'q',
    input: [
      ['p', 5, true],
      ['q', 5, true],
    ],
  },
  { name: 'an empty directory', policy: { keepLast: 1, maxAge: hours(1), keepMinGood: 1 }, keep: '', input: [] },
];

describe('planRetention', () => {
  for (const c of cases) {
    test(c.name, () => {
      const input = snapshots(c.input);
      const plan = planRetention(input, c.policy, NOW);
      assert.equal(plan.keep.map((s) => s.file).join(''), c.keep, 'kept, newest first');
      const expectedDeleted = input
        .map((s) => s.file)
        .filter((f) => !c.keep.includes(f))
        .reverse()
        .join('');
      assert.equal(plan.delete.map((s) => s.file).join(''), expectedDeleted, 'deleted, newest first');
    });
  }

  test('the newest keep-min-good verified snapshots are never deleted, whatever the limits', () => {
    for (const keepLast of [undefined, 1, 2, 3, 6]) {
      for (const maxAge of [undefined, hours(0), hours(5), hours(25), hours(45)]) {
        for (const keepMinGood of [0, 1, 2, 3, 4]) {
          const plan = planRetention(snapshots(), { keepLast, maxAge, keepMinGood }, NOW);
          const deleted = new Set(plan.delete.map((s) => s.file));
          const newestGood = ['d', 'b', 'a'].slice(0, keepMinGood);
          for (const file of newestGood) assert.ok(!deleted.has(file), `${file} deleted with ${JSON.stringify({ keepLast, maxAge: maxAge?.toISO(), keepMinGood })}`);
          assert.equal(plan.keep.length + plan.delete.length, DIR.length);
        }
      }
    }
  });
});
