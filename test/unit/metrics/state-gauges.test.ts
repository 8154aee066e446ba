import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import type { ObjectMetadata } from '../../../src/kube/types.js';
import { OutcomeTally } from '../../../src/metrics/outcomes.js';
import { computeStateGauges, stateDetailKey, stateDetailOf, stateGaugesRegistry, type NamespaceStateGauges, type StateDetail, type StateGaugeOptions } from '../../../src/metrics/state-gauges.js';
import type { TaskStatus } from '../../../src/state/schema.js';
import { configMapSize } from '../../../src/state/size.js';
import { feedbackEntries, stateConfigMap } from '../../support/states.js';
import { findSamples, parseExposition, sampleValue } from '../../support/pushgateway.js';

const NOW = DateTime.fromISO('2025-06-01T12:00:00Z', { zone: 'utc' });

interface Spec {
  name: string;
  namespace?: string;
  state?: string;
  status?: string;
  lastUpdate?: string | null;
  marked?: boolean;
  quarantined?: string;
}

function object(spec: Spec): ObjectMetadata {
  const labels: Record<string, string> = {};
  if (spec.state !== undefined) labels['cmstate.io/state'] = spec.state;
  else labels['cmstate.io/state'] = 'task';
  if (spec.status !== undefined) labels['cmstate.io/status'] = spec.status;
  if (spec.marked) labels['cmstate.io/sweep'] = 'marked';
  const annotations: Record<string, string> = {};
  if (spec.lastUpdate !== null) annotations['cmstate.io/last-update'] = spec.lastUpdate ?? '2025-06-01T11:00:00Z';
  if (spec.quarantined !== undefined) annotations['cmstate.io/quarantined'] = spec.quarantined;
  return { metadata: { name: spec.name, namespace: spec.namespace ?? 'team-a', labels, annotations } };
}

function states(counts: Partial<Record<TaskStatus, number>>): Record<TaskStatus, number> {
  return { pending: 0, in_progress: 0, succeeded: 0, failed: 0, max_iterations_reached: 0, cancelled: 0, ...counts };
}

function gauges(namespace: string, values: Partial<NamespaceStateGauges>): NamespaceStateGauges {
  return { namespace, states: states({}), oldestUpdateAgeSeconds: 0, markedForDeletion: 0, quarantined: 0, stuck: { pending: 0, in_progress: 0 }, invalid: 0, ...values };
}

function noFeedback(): NamespaceStateGauges['feedbackEntries'] {
  return (['info', 'low', 'medium', 'high', 'critical'] as const).flatMap((severity) => [false, true].map((resolved) => ({ severity, resolved, count: 0 })));
}

function details(entries: [string, StateDetail][]): Map<string, StateDetail> {
  return new Map(entries.map(([name, detail]) => [stateDetailKey({ name, namespace: 'team-a' }), detail]));
}

const cases: { name: string; objects: Spec[]; options?: StateGaugeOptions; want: NamespaceStateGauges[] }[] = [
  {
    name: 'no objects: nothing, unless the namespace is named',
    objects: [],
    want: [],
  },
  {
    name: 'a named namespace without states reports zeros',
    objects: [],
    options: { namespaces: ['team-a'] },
    want: [gauges('team-a', {})],
  },
  {
    name: 'counts by status label, oldest age from the last-update annotation',
    objects: [
      { name: 'task-a-state', status: 'pending', lastUpdate: '2025-06-01T11:59:00Z' },
      { name: 'task-b-state', status: 'in_progress', lastUpdate: '2025-05-31T12:00:00Z' },
      { name: 'task-c-state', status: 'in_progress', lastUpdate: '2025-06-01T13:00:00+02:00' },
      { name: 'task-d-state', status: 'max_iterations_reached', lastUpdate: '2025-06-01T11:59:59.5Z' },
    ],
    want: [gauges('team-a', { states: states({ pending: 1, in_progress: 2, max_iterations_reached: 1 }), oldestUpdateAgeSeconds: 86_400, stuck: { pending: 0, in_progress: 1 } })],
  },
  {
    name: 'archives and unlabelled objects are not task states',
    objects: [
      { name: 'task-a-state', status: 'succeeded' },
      { name: 'task-a-state-archive-1', state: 'archive', status: 'succeeded', lastUpdate: '2020-01-01T00:00:00Z' },
      { name: 'other', state: 'something-else', status: 'pending' },
    ],
    want: [gauges('team-a', { states: states({ succeeded: 1 }), oldestUpdateAgeSeconds: 3600 })],
  },
  {
    name: 'marked for deletion and quarantined still count by status',
    objects: [
      { name: 'task-a-state', status: 'succeeded', marked: true },
      { name: 'task-b-state', status: 'failed', quarantined: 'iteration_history does not parse' },
      { name: 'task-c-state', status: 'cancelled', marked: true, quarantined: '' },
    ],
    want: [gauges('team-a', { states: states({ succeeded: 1, failed: 1, cancelled: 1 }), oldestUpdateAgeSeconds: 3600, markedForDeletion: 2, quarantined: 2 })],
  },
  {
    name: 'mirrors that do not parse are invalid, counted once per object',
    objects: [
      { name: 'task-a-state', status: 'done' },
      { name: 'task-b-state' },
      { name: 'task-c-state', status: 'pending', lastUpdate: 'yesterday' },
      { name: 'task-d-state', status: 'pending', lastUpdate: '2025-06-01 11:00:00' },
      { name: 'task-e-state', status: 'pending', lastUpdate: null },
      { name: 'task-f-state', status: 'bogus', lastUpdate: 'bogus' },
      { name: 'task-g-state', status: 'pending', lastUpdate: '2025-02-30T11:00:00Z' },
    ],
    want: [gauges('team-a', { states: states({ pending: 4 }), oldestUpdateAgeSeconds: 3600, invalid: 7 })],
  },
  {
    name: 'a last update in the future gives age 0, not a negative age',
    objects: [{ name: 'task-a-state', status: 'pending', lastUpdate: '2025-06-01T12:10:00Z' }],
    want: [gauges('team-a', { states: states({ pending: 1 }) })],
  },
  {
    name: 'one entry per namespace, sorted',
    objects: [
      { name: 'task-a-state', namespace: 'zeta', status: 'pending' },
      { name: 'task-a-state', namespace: 'alpha', status: 'failed', marked: true },
      { name: 'task-b-state', namespace: 'zeta', status: 'pending', lastUpdate: '2025-06-01T10:00:00Z' },
    ],
    options: { namespaces: ['mid'] },
    want: [
      gauges('alpha', { states: states({ failed: 1 }), oldestUpdateAgeSeconds: 3600, markedForDeletion: 1 }),
      gauges('mid', {}),
      gauges('zeta', { states: states({ pending: 2 }), oldestUpdateAgeSeconds: 7200 }),
    ],
  },
  {
    name: 'full-read details: iterations, bytes, near the size limit, feedback',
    objects: [
      { name: 'task-a-state', status: 'in_progress' },
      { name: 'task-b-state', status: 'in_progress' },
      { name: 'task-c-state', status: 'succeeded' },
      { name: 'task-d-state', status: 'pending' },
    ],
    options: {
      details: details([
        [
          'task-a-state',
          {
            iteration: 2,
            bytes: 1000,
            feedback: [
              { severity: 'high', resolved: false, count: 1 },
              { severity: 'high', resolved: true, count: 1 },
            ],
          },
        ],
        [
          'task-b-state',
          {
            iteration: 2,
            bytes: 838_861,
            feedback: [
              { severity: 'high', resolved: false, count: 1 },
              { severity: 'info', resolved: true, count: 1 },
            ],
          },
        ],
        ['task-c-state', { bytes: 838_860, feedback: [] }],
      ]),
    },
    want: [
      gauges('team-a', {
        states: states({ in_progress: 2, succeeded: 1, pending: 1 }),
        oldestUpdateAgeSeconds: 3600,
        byIteration: { '2': 2 },
        bytes: 1000 + 838_861 + 838_860,
        nearSizeLimit: 1,
        feedbackEntries: noFeedback()?.map((c) =>
          c.severity === 'high' && !c.resolved ? { ...c, count: 2 } : (c.severity === 'high' || c.severity === 'info') && c.resolved ? { ...c, count: 1 } : c,
        ),
        outcomes: new OutcomeTally(),
      }),
    ],
  },
  {
    name: 'details given but empty: the full-read gauges are zero, not absent',
    objects: [{ name: 'task-a-state', status: 'pending' }],
    options: { details: new Map() },
    want: [
      gauges('team-a', { states: states({ pending: 1 }), oldestUpdateAgeSeconds: 3600, byIteration: {}, bytes: 0, nearSizeLimit: 0, feedbackEntries: noFeedback(), outcomes: new OutcomeTally() }),
    ],
  },
  {
    name: 'stuck: pending or in_progress and not updated for longer than --stuck-after (6h by default); other statuses never',
    objects: [
      { name: 'task-a-state', status: 'pending', lastUpdate: '2025-06-01T05:59:59Z' },
      { name: 'task-b-state', status: 'in_progress', lastUpdate: '2025-06-01T06:00:00Z' },
      { name: 'task-c-state', status: 'in_progress', lastUpdate: '2025-05-30T12:00:00Z' },
      { name: 'task-d-state', status: 'failed', lastUpdate: '2025-05-01T12:00:00Z' },
      { name: 'task-e-state', status: 'in_progress', lastUpdate: 'bogus' },
    ],
    want: [gauges('team-a', { states: states({ pending: 1, in_progress: 3, failed: 1 }), oldestUpdateAgeSeconds: 31 * 86_400, stuck: { pending: 1, in_progress: 1 }, invalid: 1 })],
  },
  {
    name: '--stuck-after 1h: an in_progress state updated 2 hours ago is stuck',
    objects: [{ name: 'task-a-state', status: 'in_progress', lastUpdate: '2025-06-01T10:00:00Z' }],
    options: { stuckAfterSeconds: 3600 },
    want: [gauges('team-a', { states: states({ in_progress: 1 }), oldestUpdateAgeSeconds: 7200, stuck: { pending: 0, in_progress: 1 } })],
  },
];

describe('computeStateGauges', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(computeStateGauges(c.objects.map(object), NOW, c.options), c.want);
    });
  }
});

describe('stateGaugesRegistry', () => {
  test('metadata-only values: every series labelled with namespace, no full-read gauges', async () => {
    const values = computeStateGauges([object({ name: 'task-a-state', status: 'pending', marked: true }), object({ name: 'task-b-state', namespace: 'team-b', status: 'nope' })], NOW);
    const samples = parseExposition(await stateGaugesRegistry(values).metrics());
    assert.equal(sampleValue(samples, 'cmstate_task_states', { namespace: 'team-a', status: 'pending' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_states', { namespace: 'team-a', status: 'failed' }), 0);
    assert.equal(findSamples(samples, 'cmstate_task_states', { namespace: 'team-b' }).length, 6);
    assert.equal(sampleValue(samples, 'cmstate_task_states_invalid', { namespace: 'team-b' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_states_marked_for_deletion', { namespace: 'team-a' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_state_oldest_update_age_seconds', { namespace: 'team-a' }), 3600);
    assert.equal(sampleValue(samples, 'cmstate_task_states_quarantined', { namespace: 'team-a' }), 0);
    assert.equal(sampleValue(samples, 'cmstate_task_states_stuck', { namespace: 'team-a', status: 'pending' }), 0);
    assert.equal(findSamples(samples, 'cmstate_task_states_stuck', { namespace: 'team-b' }).length, 2);
    assert.ok(samples.every((s) => s.labels.namespace === 'team-a' || s.labels.namespace === 'team-b'));
    for (const name of [
      'cmstate_task_states_by_iteration',
      'cmstate_task_state_bytes',
      'cmstate_task_states_near_size_limit',
      'cmstate_feedback_entries',
      'cmstate_task_outcome_iterations_count',
      'cmstate_task_states_flapping',
      'cmstate_task_history_entries_invalid',
    ]) {
      assert.deepEqual(findSamples(samples, name), [], name);
    }
  });

  test('with details: iteration, bytes, size-limit and feedback series', async () => {
    const values = computeStateGauges([object({ name: 'task-a-state', status: 'in_progress' })], NOW, {
      details: details([['task-a-state', { iteration: 3, bytes: 900_000, feedback: [{ severity: 'critical', resolved: false, count: 1 }] }]]),
    });
    const samples = parseExposition(await stateGaugesRegistry(values).metrics());
    assert.equal(sampleValue(samples, 'cmstate_task_states_by_iteration', { namespace: 'team-a', iteration: '3' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_state_bytes', { namespace: 'team-a' }), 900_000);
    assert.equal(sampleValue(samples, 'cmstate_task_states_near_size_limit', { namespace: 'team-a' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_feedback_entries', { namespace: 'team-a', severity: 'critical', resolved: 'false' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_feedback_entries', { namespace: 'team-a', severity: 'critical', resolved: 'true' }), 0);
    assert.equal(findSamples(samples, 'cmstate_feedback_entries').length, 10);
  });
});

describe('stateDetailOf', () => {
  test('iteration, size as the API server counts it, and the feedback entries counted by severity and resolved', () => {
    const cm = stateConfigMap({ id: 'a', namespace: 'team-a', lastUpdate: '2025-06-01T11:00:00Z', status: 'in_progress', iteration: 4, feedback: feedbackEntries(3) });
    assert.deepEqual(stateDetailOf(cm), {
      status: 'in_progress',
      iteration: 4,
      bytes: configMapSize(cm),
      feedback: [
        { severity: 'info', resolved: true, count: 1 },
        { severity: 'low', resolved: false, count: 1 },
        { severity: 'medium', resolved: false, count: 1 },
      ],
    });
  });

  test('a long history is kept as at most ten counts, not as its entries', () => {
    const cm = stateConfigMap({ id: 'long', namespace: 'team-a', lastUpdate: '2025-06-01T11:00:00Z', iteration: 9, feedback: feedbackEntries(400) });
    const { feedback } = stateDetailOf(cm);
    assert.ok(feedback.length <= 10, `${feedback.length} counts`);
    assert.equal(
      feedback.reduce((sum, c) => sum + c.count, 0),
      400,
    );
  });

  test('a state with broken keys still counts its size; what did not decode is left out', () => {
    const cm = stateConfigMap({ id: 'b', namespace: 'team-a', lastUpdate: '2025-06-01T11:00:00Z' });
    cm.data = { ...cm.data, iteration: 'three', feedback_history: '[{"id":' };
    const detail = stateDetailOf(cm);
    assert.equal(detail.iteration, undefined);
    assert.equal(detail.bytes, configMapSize(cm));
    assert.deepEqual(detail.feedback, []);
  });
});
