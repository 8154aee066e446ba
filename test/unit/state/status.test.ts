import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidTransitionError } from '../../../src/state/errors.js';
import { TASK_STATUSES, type TaskStatus } from '../../../src/state/schema.js';
import { ALLOWED_TRANSITIONS, TERMINAL_STATUSES, assertTransition, canTransition } from '../../../src/state/status.js';

// The expected moves, written out independently of ALLOWED_TRANSITIONS so the table is checked, not echoed.
const belowMax = { iteration: 3, max_iterations: 10 };
const atMax = { iteration: 10, max_iterations: 10 };
const allowedBelowMax: Record<TaskStatus, TaskStatus[]> = {
  pending: ['in_progress', 'cancelled'],
  in_progress: ['in_progress', 'succeeded', 'failed', 'cancelled'],
  failed: ['in_progress'],
  succeeded: [],
  max_iterations_reached: [],
  cancelled: [],
};
const allowedAtMax: Record<TaskStatus, TaskStatus[]> = {
  pending: ['in_progress', 'cancelled', 'max_iterations_reached'],
  in_progress: ['in_progress', 'succeeded', 'failed', 'max_iterations_reached', 'cancelled'],
  failed: ['max_iterations_reached'],
  succeeded: [],
  max_iterations_reached: [],
  cancelled: [],
};

describe('canTransition over all 6x6 pairs', () => {
  for (const [label, ctx, allowed] of [
    ['below the max', belowMax, allowedBelowMax],
    ['at the max', atMax, allowedAtMax],
  ] as const) {
    for (const from of TASK_STATUSES) {
      for (const to of TASK_STATUSES) {
        const expected = allowed[from].includes(to);
        test(`${label}: ${from} -> ${to} is ${expected ? 'allowed' : 'refused'}`, () => {
          assert.equal(canTransition(from, to, ctx), expected);
          if (expected) assertTransition(from, to, { ...ctx, task_id: 't' });
          else assert.throws(() => assertTransition(from, to, { ...ctx, task_id: 't' }), InvalidTransitionError);
        });
      }
    }
  }
});

describe('the table and its messages', () => {
  test('terminal statuses have no way out', () => {
    assert.deepEqual([...TERMINAL_STATUSES].sort(), ['cancelled', 'max_iterations_reached', 'succeeded']);
    for (const status of TERMINAL_STATUSES) assert.deepEqual(ALLOWED_TRANSITIONS[status], []);
  });

  const messages = [
    { from: 'succeeded', to: 'in_progress', ctx: belowMax, message: 'cannot move task x from succeeded to in_progress: succeeded is terminal' },
    { from: 'pending', to: 'failed', ctx: belowMax, message: 'cannot move task x from pending to failed: pending may only move to in_progress, cancelled, max_iterations_reached' },
    { from: 'failed', to: 'in_progress', ctx: atMax, message: 'cannot move task x from failed to in_progress: a failed task is retried only while iteration < max_iterations (10/10)' },
    { from: 'in_progress', to: 'max_iterations_reached', ctx: belowMax, message: 'cannot move task x from in_progress to max_iterations_reached: iteration 3 is below max_iterations 10' },
  ] as const;
  for (const c of messages) {
    test(`${c.from} -> ${c.to}: ${c.message}`, () => {
      assert.throws(
        () => assertTransition(c.from, c.to, { ...c.ctx, task_id: 'x' }),
        (e: unknown) => {
          assert.ok(e instanceof InvalidTransitionError);
          assert.equal(e.message, c.message);
          assert.equal(e.taskId, 'x');
          assert.equal(e.from, c.from);
          assert.equal(e.to, c.to);
          return true;
        },
      );
    });
  }
});
