import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { ConfigMap } from '../../../src/kube/types.js';
import { OutcomeTally, registerOutcomeMetrics, taskOutcomeOf, type OutcomeInput } from '../../../src/metrics/outcomes.js';
import type { StatusHistoryEntry } from '../../../src/state/schema.js';
import { findSamples, parseExposition, sampleValue } from '../../support/pushgateway.js';

function state(data: { iteration_history?: unknown; status_history?: unknown }): ConfigMap {
  const raw = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'task-a-state', namespace: 'team-a' },
    data: {
      ...(data.iteration_history !== undefined ? { iteration_history: raw(data.iteration_history) } : {}),
      ...(data.status_history !== undefined ? { status_history: raw(data.status_history) } : {}),
    },
  };
}

const change = (from: string, to: string, at: string): StatusHistoryEntry => ({ from, to, at, reason: 'test' }) as StatusHistoryEntry;
const started = (iteration: number, at: string) => ({ iteration, started_at: at });
const input = (values: Partial<OutcomeInput>): OutcomeInput => ({ status: undefined, iteration: undefined, flappingAfter: 3, ...values });

describe('taskOutcomeOf', () => {
  test('a finished task: iterations taken, first start to the terminal change, every completed stay', () => {
    const cm = state({
      iteration_history: [started(1, '2025-06-01T10:00:00Z'), started(2, '2025-06-01T10:30:00Z')],
      status_history: [
        change('pending', 'in_progress', '2025-06-01T10:00:00Z'),
        change('in_progress', 'failed', '2025-06-01T10:20:00Z'),
        change('failed', 'in_progress', '2025-06-01T10:30:00Z'),
        change('in_progress', 'succeeded', '2025-06-01T11:00:00Z'),
      ],
    });
    assert.deepEqual(taskOutcomeOf(cm, input({ status: 'succeeded', iteration: 2 })), {
      finished: { status: 'succeeded', iterations: 2, seconds: 3600 },
      stays: [
        { status: 'in_progress', seconds: 1200 },
        { status: 'failed', seconds: 600 },
        { status: 'in_progress', seconds: 1800 },
      ],
      flapping: false,
      invalid: { iteration: 0, status: 0 },
    });
  });

  test('not finished: no outcome, only stays; failed and in_progress are not terminal', () => {
    const cm = state({
      iteration_history: [started(1, '2025-06-01T10:00:00Z')],
      status_history: [change('pending', 'in_progress', '2025-06-01T10:00:00Z'), change('in_progress', 'failed', '2025-06-01T10:05:00Z')],
    });
    const outcome = taskOutcomeOf(cm, input({ status: 'failed', iteration: 1 }));
    assert.equal(outcome.finished, undefined);
    assert.deepEqual(outcome.stays, [{ status: 'in_progress', seconds: 300 }]);
  });

  test('cancelled while pending: finished without a duration (no iteration ever started)', () => {
    const cm = state({ iteration_history: [], status_history: [change('pending', 'cancelled', '2025-06-01T10:00:00Z')] });
    assert.deepEqual(taskOutcomeOf(cm, input({ status: 'cancelled', iteration: 0 })).finished, { status: 'cancelled', iterations: 0 });
  });

  test('flapping: more failed -> in_progress changes than --flapping-after', () => {
    const cycles = (n: number) =>
      Array.from({ length: n }, (_, i) => [
        change('in_progress', 'failed', `2025-06-01T10:${String(2 * i).padStart(2, '0')}:00Z`),
        change('failed', 'in_progress', `2025-06-01T10:${String(2 * i + 1).padStart(2, '0')}:00Z`),
      ]).flat();
    assert.equal(taskOutcomeOf(state({ status_history: cycles(3) }), input({ flappingAfter: 3 })).flapping, false);
    assert.equal(taskOutcomeOf(state({ status_history: cycles(4) }), input({ flappingAfter: 3 })).flapping, true);
    assert.equal(taskOutcomeOf(state({ status_history: cycles(1) }), input({ flappingAfter: 0 })).flapping, true);
  });

  test('malformed entries are counted and skipped; the rest of the history still counts', () => {
    const cm = state({
      iteration_history: [started(1, '2025-06-01T10:00:00Z'), { iteration: 'two' }, 7],
      status_history: [
        change('pending', 'in_progress', '2025-06-01T10:00:00Z'),
        { from: 'pending', to: 'done', at: '2025-06-01T10:10:00Z', reason: '' },
        change('in_progress', 'succeeded', '2025-06-01T10:30:00Z'),
      ],
    });
    const outcome = taskOutcomeOf(cm, input({ status: 'succeeded', iteration: 1 }));
    assert.deepEqual(outcome.invalid, { iteration: 2, status: 1 });
    assert.deepEqual(outcome.finished, { status: 'succeeded', iterations: 1, seconds: 1800 });
    assert.deepEqual(outcome.stays, [{ status: 'in_progress', seconds: 1800 }]);
  });

  test('an impossible date (February 30) is an invalid entry, not rolled over into March', () => {
    const cm = state({
      iteration_history: [started(1, '2025-02-28T10:00:00Z')],
      status_history: [change('pending', 'in_progress', '2025-02-28T10:00:00Z'), change('in_progress', 'failed', '2025-02-30T10:00:00Z'), change('failed', 'in_progress', '2025-03-02T11:00:00Z')],
    });
    const outcome = taskOutcomeOf(cm, input({ status: 'in_progress', iteration: 1 }));
    assert.deepEqual(outcome.invalid, { iteration: 0, status: 1 });
    assert.deepEqual(outcome.stays, [{ status: 'in_progress', seconds: 2 * 86_400 + 3600 }]);
  });

  test('a history that is not a JSON array is one invalid history, never a throw', () => {
    for (const raw of ['{"iteration":1}', '[{"iteration":', 'null']) {
      const outcome = taskOutcomeOf(state({ iteration_history: raw, status_history: raw }), input({ status: 'succeeded', iteration: 3 }));
      assert.deepEqual(outcome.invalid, { iteration: 1, status: 1 }, raw);
      assert.deepEqual(outcome.finished, { status: 'succeeded', iterations: 3 }, raw);
    }
  });

  test('out-of-order timestamps (writers with skewed clocks) give no negative stay or duration', () => {
    const cm = state({
      iteration_history: [started(1, '2025-06-01T12:00:00Z')],
      status_history: [change('pending', 'in_progress', '2025-06-01T11:00:00Z'), change('in_progress', 'succeeded', '2025-06-01T10:00:00Z')],
    });
    const outcome = taskOutcomeOf(cm, input({ status: 'succeeded', iteration: 1 }));
    assert.deepEqual(outcome.stays, []);
    assert.deepEqual(outcome.finished, { status: 'succeeded', iterations: 1 });
  });
});

describe('registerOutcomeMetrics', () => {
  test('histograms per terminal status, the give-up share, flapping and invalid entries, per namespace', async () => {
    const tally = new OutcomeTally();
    const finished = (status: 'succeeded' | 'max_iterations_reached', iterations: number, seconds: number) => ({
      finished: { status, iterations, seconds },
      stays: [{ status: 'in_progress' as const, seconds: 600 }],
      flapping: iterations > 5,
      invalid: { iteration: 0, status: 1 },
    });
    tally.add(finished('succeeded', 2, 1200));
    tally.add(finished('succeeded', 3, 5000));
    tally.add(finished('max_iterations_reached', 10, 90_000));
    tally.add({ stays: [], flapping: false, invalid: { iteration: 2, status: 0 } });
    const registry = new Registry();
    registerOutcomeMetrics(
      registry,
      new Map([
        ['team-a', tally],
        ['team-b', new OutcomeTally()],
      ]),
    );
    const samples = parseExposition(await registry.metrics());
    const a = { namespace: 'team-a' };
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_iterations_count', { ...a, status: 'succeeded' }), 2);
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_iterations_sum', { ...a, status: 'succeeded' }), 5);
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_iterations_bucket', { ...a, status: 'succeeded', le: '2' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_iterations_bucket', { ...a, status: 'max_iterations_reached', le: '8' }), 0);
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_iterations_bucket', { ...a, status: 'max_iterations_reached', le: '10' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_iterations_count', { ...a, status: 'cancelled' }), 0);
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_duration_seconds_bucket', { ...a, status: 'succeeded', le: '3600' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_duration_seconds_sum', { ...a, status: 'max_iterations_reached' }), 90_000);
    assert.equal(sampleValue(samples, 'cmstate_task_status_duration_seconds_count', { ...a, status: 'in_progress' }), 3);
    assert.equal(sampleValue(samples, 'cmstate_task_status_duration_seconds_count', { ...a, status: 'pending' }), 0);
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_gave_up_ratio', a), 1 / 3);
    assert.equal(sampleValue(samples, 'cmstate_task_states_flapping', a), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_history_entries_invalid', { ...a, history: 'iteration' }), 2);
    assert.equal(sampleValue(samples, 'cmstate_task_history_entries_invalid', { ...a, history: 'status' }), 3);
    // No finished state in team-b: zeros, and no ratio of nothing.
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_iterations_count', { namespace: 'team-b', status: 'succeeded' }), 0);
    assert.deepEqual(findSamples(samples, 'cmstate_task_outcome_gave_up_ratio', { namespace: 'team-b' }), []);
    assert.equal(sampleValue(samples, 'cmstate_task_states_flapping', { namespace: 'team-b' }), 0);
  });
});
