// The task state model and its JSON Schema. Field names are the wire format's snake_case keys,
// so a TaskState printed as JSON is the format itself, with no mapping layer in between.
// These schemas describe the decoded state (numbers as numbers, arrays as arrays); in the
// ConfigMap each field is one data key holding decimal text or compact JSON (see encode.ts).

import { z } from 'zod';
import { DNS1123_LABEL } from '../kube/names.js';

export const TASK_STATUSES = ['pending', 'in_progress', 'succeeded', 'failed', 'max_iterations_reached', 'cancelled'] as const;
export const FEEDBACK_SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export const ISSUE_TYPES = ['bug', 'test_failure', 'lint', 'security', 'performance', 'style', 'other'] as const;

/** RFC 3339 in UTC with a `Z` suffix and any fractional precision, e.g. `2025-01-31T12:00:00.123Z`. */
export const timestampSchema = z.iso
  .datetime({ error: (issue) => (issue.code === 'invalid_format' ? 'not an RFC 3339 UTC timestamp (expected e.g. 2025-01-31T12:00:00Z)' : undefined) })
  .describe('RFC 3339 timestamp in UTC, ending in Z');

export const taskIdSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(DNS1123_LABEL, { error: 'not a task id: 1-63 of [a-z0-9-], starting and ending with [a-z0-9]' })
  .describe('Task id: 1-63 characters [a-z0-9-], starting and ending with a letter or digit, so it fits a label value');

const countSchema = z.int().min(0);

export const taskStatusSchema = z.enum(TASK_STATUSES).meta({
  id: 'TaskStatus',
  description:
    'pending -> in_progress -> in_progress (next iteration) -> succeeded | failed | max_iterations_reached | cancelled; ' +
    'failed -> in_progress while iteration < max_iterations. succeeded, max_iterations_reached and cancelled are terminal.',
});

export const feedbackEntrySchema = z
  .strictObject({
    id: z.string().describe('Unique per task; appending an entry whose id is already present is a no-op (idempotent retries)'),
    timestamp: timestampSchema.describe('When the feedback was given (RFC 3339 UTC)'),
    iteration: countSchema.describe("The iteration the feedback belongs to; at most the task's iteration"),
    author: z.string().describe('Who or what gave the feedback'),
    severity: z.enum(FEEDBACK_SEVERITIES).describe('How serious the issue is'),
    issue_type: z.enum(ISSUE_TYPES).describe('What kind of issue it is'),
    description: z.string().describe('Free text'),
    resolved: z.boolean().describe('Whether the issue has been addressed; resolved entries are archived first'),
  })
  .meta({
    id: 'FeedbackEntry',
    description:
      'One feedback item. Stored as the JSON array data.feedback_history, or gzipped in binaryData["feedback_history.json.gz"] ' +
      'above the compression threshold, or in archive ConfigMaps task-{id}-state-archive-{n}.',
  });

export const iterationHistoryEntrySchema = z
  .strictObject({
    iteration: countSchema.describe('The iteration number'),
    started_at: timestampSchema.describe('When the iteration started (RFC 3339 UTC)'),
    recovered: z.literal(true).optional().describe('Present (true) only on entries rebuilt by repair or migration; started_at is then an estimate'),
  })
  .meta({ id: 'IterationHistoryEntry', description: 'One entry per iteration, ascending' });

export const statusHistoryEntrySchema = z
  .strictObject({
    from: taskStatusSchema,
    to: taskStatusSchema,
    at: timestampSchema.describe('When the status changed (RFC 3339 UTC)'),
    reason: z.string().describe('Why the status changed'),
  })
  .meta({ id: 'StatusHistoryEntry', description: 'One status change; the history is newest last and keeps the last 50' });

export const taskStateSchema = z
  .strictObject({
    version: z.literal(1).describe('Schema version; data.version is "1". A ConfigMap without it is legacy version 0'),
    task_id: taskIdSchema.describe('Equals the id in the ConfigMap name task-{id}-state'),
    iteration: countSchema.describe('Current iteration, 0 <= iteration <= max_iterations'),
    max_iterations: z.int().min(1).describe('Maximum number of iterations (default 10)'),
    status: taskStatusSchema,
    last_update: timestampSchema.describe('Set by every write (RFC 3339 UTC); mirrored in annotation cmstate.io/last-update'),
    iteration_history: z.array(iterationHistoryEntrySchema).describe('Exactly `iteration` entries, ascending'),
    status_history: z.array(statusHistoryEntrySchema).describe('Status changes, newest last; writers keep the last 50'),
    error_messages: z.array(z.string()).describe('Error messages, newest last; writers keep the last 50'),
    metadata: z.record(z.string(), z.string()).describe('Free string-to-string map'),
    feedback_history: z.array(feedbackEntrySchema).describe('Feedback still in the state ConfigMap, oldest first (archived entries are not included)'),
    feedback_archived: countSchema.describe('Number of entries moved to archive ConfigMaps; 0 if none'),
  })
  .meta({
    id: 'TaskState',
    title: 'cmstate task state, version 1',
    description:
      'Task state as decoded from a ConfigMap task-{id}-state. In the ConfigMap every field is one data key: integers as ' +
      'decimal text, arrays and objects as compact JSON, strings as is. Labels cmstate.io/state=task, cmstate.io/task-id and ' +
      'cmstate.io/status and the annotation cmstate.io/last-update mirror the data.',
  });

export type TaskStatus = z.infer<typeof taskStatusSchema>;
export type FeedbackSeverity = (typeof FEEDBACK_SEVERITIES)[number];
export type IssueType = (typeof ISSUE_TYPES)[number];
export type FeedbackEntry = z.infer<typeof feedbackEntrySchema>;
export type IterationHistoryEntry = z.infer<typeof iterationHistoryEntrySchema>;
export type StatusHistoryEntry = z.infer<typeof statusHistoryEntrySchema>;
export type TaskState = z.infer<typeof taskStateSchema>;

/**
 * The JSON Schema (draft 2020-12) of the decoded task state, generated from the zod schemas:
 * the root is TaskState; FeedbackEntry, the history entries and TaskStatus are in `$defs`.
 */
export function jsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(taskStateSchema, { target: 'draft-2020-12' });
}
