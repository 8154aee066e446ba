// Sample task states for the demo and `local-apiserver --seed`: a spread of ages and statuses,
// some protected, some with their own TTL, a few written by a legacy controller.

import type { DateTime } from 'luxon';
import { formatTimestamp } from '../durations.js';
import type { ConfigMap } from '../kube/types.js';
import { encodeState } from './encode.js';
import { ANNOTATION_TTL, LABEL_KEEP, LABEL_STATE, STATE_VALUE_TASK, stateConfigMapName } from './labels.js';
import type { FeedbackEntry, StatusHistoryEntry, TaskState, TaskStatus } from './schema.js';

const STATUSES: TaskStatus[] = ['pending', 'in_progress', 'in_progress', 'succeeded', 'succeeded', 'succeeded', 'failed', 'cancelled', 'max_iterations_reached'];

/** Deterministic: the same count and instant give the same objects. */
export function sampleStates(count: number, namespace: string, now: DateTime): ConfigMap[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `demo-${String(i).padStart(4, '0')}`;
    // Ages from 1 hour to about 20 days, spread evenly.
    const lastUpdate = now.minus({ hours: 1 + ((i * 37) % 480) });
    if (i % 50 === 7) return legacyState(id, namespace, lastUpdate);
    const cm = encodeState(sampleState(id, i, STATUSES[i % STATUSES.length]!, lastUpdate), { namespace, managedBy: 'remediation-controller' }).configMap;
    if (i % 25 === 3) cm.metadata.labels = { ...cm.metadata.labels, [LABEL_KEEP]: 'true' };
    if (i % 20 === 11) cm.metadata.annotations = { ...cm.metadata.annotations, [ANNOTATION_TTL]: '30d' };
    return cm;
  });
}

/**
 * One task's life, ending at `lastUpdate`: iterations a few minutes to an hour apart, each failed
 * one retried, then the final status. A task that ran out of iterations failed every time.
 */
function sampleState(id: string, i: number, status: TaskStatus, lastUpdate: DateTime): TaskState {
  const max = 10;
  // Cancelled tasks: every other one while still pending.
  const iteration = status === 'pending' || (status === 'cancelled' && i % 2 === 0) ? 0 : status === 'max_iterations_reached' ? max : 1 + (i % 4);
  const minutesPerIteration = 5 + ((i * 13) % 55);
  const startedAt = (n: number) => lastUpdate.minus({ minutes: minutesPerIteration * (iteration - n + 1) });
  const iterationHistory = Array.from({ length: iteration }, (_, n) => ({ iteration: n + 1, started_at: formatTimestamp(startedAt(n + 1)) }));
  const statusHistory: StatusHistoryEntry[] = [];
  const change = (from: TaskStatus, to: TaskStatus, at: DateTime, reason: string) => statusHistory.push({ from, to, at: formatTimestamp(at), reason });
  for (let n = 1; n <= iteration; n++) {
    if (n === 1) change('pending', 'in_progress', startedAt(1), 'started');
    else {
      change('in_progress', 'failed', startedAt(n).minus({ minutes: 2 }), `iteration ${n - 1}: tests still red`);
      change('failed', 'in_progress', startedAt(n), `retry ${n - 1}`);
    }
  }
  const at = formatTimestamp(lastUpdate);
  if (status === 'cancelled') change(iteration === 0 ? 'pending' : 'in_progress', 'cancelled', lastUpdate, 'cancelled by a person');
  else if (status !== 'pending' && status !== 'in_progress')
    change('in_progress', status, lastUpdate, status === 'succeeded' ? 'tests green' : status === 'failed' ? 'tests still red' : 'out of iterations');
  const feedback: FeedbackEntry[] = Array.from({ length: iteration }, (_, n) => ({
    id: `${id}-fb-${n + 1}`,
    timestamp: at,
    iteration: n + 1,
    author: 'ci-bot',
    severity: n % 2 ? 'medium' : 'low',
    issue_type: n % 2 ? 'test_failure' : 'lint',
    description: `iteration ${n + 1}: ${n % 2 ? 'flaky integration test' : 'unused import'}`,
    resolved: n + 1 < iteration,
  }));
  return {
    version: 1,
    task_id: id,
    iteration,
    max_iterations: max,
    status,
    last_update: at,
    iteration_history: iterationHistory,
    status_history: statusHistory,
    error_messages: status === 'failed' ? ['remediation failed: tests still red'] : [],
    metadata: { repo: 'example/app', pr: String(1000 + i) },
    feedback_history: feedback,
    feedback_archived: 0,
  };
}

/** What the original controllers wrote: iteration and last_update only, no mirrors. */
function legacyState(id: string, namespace: string, lastUpdate: DateTime): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: stateConfigMapName(id), namespace, labels: { [LABEL_STATE]: STATE_VALUE_TASK } },
    data: { iteration: '2', last_update: formatTimestamp(lastUpdate) },
  };
}
