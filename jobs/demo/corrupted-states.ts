// A few corrupted task states for `cmstate demo`, one per kind of damage repair handles: the
// demo seeds them next to the healthy samples and shows `repair --dry-run` and `repair` fixing
// them (and quarantining the one that cannot be fixed safely).

import type { DateTime } from 'luxon';
import { formatTimestamp } from '../../src/durations.js';
import type { ConfigMap } from '../../src/kube/types.js';
import type { LocalApiServer } from '../../src/local-apiserver/index.js';
import { encodeState } from '../../src/state/encode.js';
import { LABEL_STATE, LABEL_STATUS, LABEL_TASK_ID, STATE_VALUE_ARCHIVE, STATE_VALUE_TASK, archiveConfigMapName, stateConfigMapName } from '../../src/state/labels.js';
import type { TaskState } from '../../src/state/schema.js';

/** Seeds the corrupted states in `namespace` (which must exist) and returns their names. */
export async function seedCorruptedStates(server: LocalApiServer, namespace: string, now: DateTime): Promise<string[]> {
  const objects = corruptedStates(namespace, now);
  server.seed(objects);
  return Promise.resolve(objects.map((cm) => cm.metadata.name));
}

/** Deterministic: the same namespace and instant give the same objects. */
export function corruptedStates(namespace: string, now: DateTime): ConfigMap[] {
  const at = (hoursAgo: number) => formatTimestamp(now.minus({ hours: hoursAgo }));
  const state = (id: string, overrides: Partial<TaskState> = {}): TaskState => ({
    version: 1,
    task_id: id,
    iteration: 2,
    max_iterations: 5,
    status: 'in_progress',
    last_update: at(2),
    iteration_history: [
      { iteration: 1, started_at: at(4) },
      { iteration: 2, started_at: at(3) },
    ],
    status_history: [{ from: 'pending', to: 'in_progress', at: at(4), reason: 'started' }],
    error_messages: [],
    metadata: { repo: 'example/checkout' },
    feedback_history: [
      { id: `${id}-1`, timestamp: at(3.5), iteration: 1, author: 'ci-bot', severity: 'low', issue_type: 'lint', description: 'unused import', resolved: true },
      { id: `${id}-2`, timestamp: at(2.5), iteration: 2, author: 'ci-bot', severity: 'high', issue_type: 'test_failure', description: 'checkout total off by one cent', resolved: false },
    ],
    feedback_archived: 0,
    ...overrides,
  });
  const encode = (s: TaskState) => encodeState(s, { namespace, managedBy: 'remediation-controller' }).configMap;
  const edit = (cm: ConfigMap, change: (data: Record<string, string>, cm: ConfigMap) => void): ConfigMap => {
    const copy = structuredClone(cm);
    copy.data ??= {};
    change(copy.data, copy);
    return copy;
  };

  // A status label left behind by a writer that updated only the data.
  const staleLabel = edit(encode(state('broken-stale-label', { status: 'succeeded' })), (_data, cm) => {
    cm.metadata.labels = { ...cm.metadata.labels, [LABEL_STATUS]: 'in_progress' };
  });
  // The counter behind the history and the feedback: repair raises it, never lowers it.
  const counterBehind = edit(encode(state('broken-counter-behind')), (data) => {
    data.iteration = '1';
  });
  // Beyond the maximum: clamped, the task stops.
  const aboveMax = encode(state('broken-above-max', { iteration: 7, iteration_history: Array.from({ length: 7 }, (_, i) => ({ iteration: i + 1, started_at: at(9 - i) })) }));
  // Written by a version 0 controller.
  const legacy: ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: stateConfigMapName('broken-legacy'), namespace, labels: { [LABEL_STATE]: STATE_VALUE_TASK } },
    data: { task_id: 'broken-legacy', iteration: '3', last_update: now.minus({ hours: 6 }).toSQL({ includeOffset: false }) ?? '', feedback_history: '[]' },
  };
  // The only copy of the feedback is cut off: quarantined, never rewritten.
  const truncated = edit(encode(state('broken-feedback')), (data) => {
    data.feedback_history = (data.feedback_history ?? '').slice(0, 120);
  });
  // An archive whose task was deleted without it.
  const orphan: ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: archiveConfigMapName('broken-gone', 1), namespace, labels: { [LABEL_STATE]: STATE_VALUE_ARCHIVE, [LABEL_TASK_ID]: 'broken-gone' } },
    data: { version: '1', task_id: 'broken-gone', archive_index: '1', feedback_history: '[]' },
  };
  return [staleLabel, counterBehind, aboveMax, legacy, truncated, orphan];
}
