// Builders shared by the state unit tests: a valid state and its entries, overridable per test.

import type { FeedbackEntry, TaskState } from '../../../src/state/schema.js';

export function entry(i: number, overrides: Partial<FeedbackEntry> = {}): FeedbackEntry {
  return {
    id: `fb-${i}`,
    timestamp: '2025-03-01T10:00:00Z',
    iteration: 1,
    author: 'reviewer',
    severity: 'medium',
    issue_type: 'lint',
    description: `finding number ${i} in src/module${i % 17}.ts: unused variable`,
    resolved: false,
    ...overrides,
  };
}

export function makeState(overrides: Partial<TaskState> = {}): TaskState {
  return {
    version: 1,
    task_id: 'a',
    iteration: 2,
    max_iterations: 10,
    status: 'in_progress',
    last_update: '2025-03-01T12:00:00Z',
    iteration_history: [
      { iteration: 1, started_at: '2025-03-01T09:00:00Z' },
      { iteration: 2, started_at: '2025-03-01T11:00:00Z' },
    ],
    status_history: [{ from: 'pending', to: 'in_progress', at: '2025-03-01T09:00:00Z', reason: 'started' }],
    error_messages: [],
    metadata: {},
    feedback_history: [entry(1), entry(2, { iteration: 2, resolved: true })],
    feedback_archived: 0,
    ...overrides,
  };
}
