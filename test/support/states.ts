// Realistic task-state ConfigMaps for tests and benchmarks, built with the real codec.

import { encodeState } from '../../src/state/encode.js';
import type { ConfigMap } from '../../src/kube/types.js';
import type { FeedbackEntry, TaskState, TaskStatus } from '../../src/state/schema.js';

export interface StateSpec {
  id: string;
  namespace: string;
  lastUpdate: string;
  status?: TaskStatus;
  iteration?: number;
  maxIterations?: number;
  feedback?: FeedbackEntry[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function taskState(spec: Omit<StateSpec, 'namespace'>): TaskState {
  const iteration = spec.iteration ?? (spec.status === 'pending' ? 0 : 1);
  return {
    version: 1,
    task_id: spec.id,
    iteration,
    max_iterations: spec.maxIterations ?? 10,
    status: spec.status ?? (iteration === 0 ? 'pending' : 'in_progress'),
    last_update: spec.lastUpdate,
    iteration_history: Array.from({ length: iteration }, (_, i) => ({ iteration: i + 1, started_at: spec.lastUpdate })),
    status_history: [],
    error_messages: [],
    metadata: { source: 'test' },
    feedback_history: spec.feedback ?? [],
    feedback_archived: 0,
  };
}

/** The ConfigMap a controller would have written for this state. */
export function stateConfigMap(spec: StateSpec): ConfigMap {
  const { configMap } = encodeState(taskState(spec), { namespace: spec.namespace });
  configMap.metadata.labels = { ...configMap.metadata.labels, ...spec.labels };
  configMap.metadata.annotations = { ...configMap.metadata.annotations, ...spec.annotations };
  return configMap;
}

export function feedbackEntries(count: number, options: { iteration?: number; descriptionBytes?: number; start?: string; prefix?: string } = {}): FeedbackEntry[] {
  const start = Date.parse(options.start ?? '2026-11-01T00:00:00Z');
  const pad = 'x'.repeat(options.descriptionBytes ?? 100);
  return Array.from({ length: count }, (_, i) => ({
    id: `${options.prefix ?? 'fb'}-${i}`,
    timestamp: new Date(start + i * 1000).toISOString().replace('.000Z', 'Z'),
    iteration: options.iteration ?? 1,
    author: 'reviewer',
    severity: (['info', 'low', 'medium', 'high', 'critical'] as const)[i % 5]!,
    issue_type: (['bug', 'test_failure', 'lint', 'security', 'performance', 'style', 'other'] as const)[i % 7]!,
    description: `finding ${i} ${pad}`,
    resolved: i % 3 === 0,
  }));
}
