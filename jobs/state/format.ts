// How `cmstate state` shows a state to a person; --output json prints the wire fields instead.

import type { FieldChange } from '../../src/state/changes.js';
import type { FeedbackEntry, TaskState } from '../../src/state/schema.js';
import type { StateChange } from '../../src/state/watch.js';

export function formatState(state: TaskState, where: string): string {
  const lastStatus = state.status_history.at(-1);
  const feedback = state.feedback_history.length + state.feedback_archived;
  const unresolved = state.feedback_history.filter((e) => !e.resolved).length;
  const lines = [
    `task ${state.task_id}  (${where})`,
    `  status       ${state.status}${lastStatus ? `  (since ${lastStatus.at}: ${lastStatus.reason})` : ''}`,
    `  iteration    ${state.iteration} / ${state.max_iterations}`,
    `  last update  ${state.last_update}`,
    `  feedback     ${feedback} entries (${state.feedback_archived} archived, ${unresolved} unresolved in the state)`,
  ];
  if (state.error_messages.length) lines.push(`  last error   ${state.error_messages.at(-1)}`);
  const meta = Object.entries(state.metadata);
  if (meta.length) lines.push(`  metadata     ${meta.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  return lines.join('\n');
}

export function formatEntry(entry: FeedbackEntry): string {
  const done = entry.resolved ? 'resolved' : 'open';
  return `${entry.timestamp}  #${entry.iteration}  ${entry.severity.padEnd(8)} ${entry.issue_type.padEnd(12)} ${done.padEnd(8)} ${entry.id}  ${entry.author}: ${entry.description}`;
}

/** Fields that move with every write, or with another field already shown: left out of the one-line text. */
const QUIET_FIELDS = new Set<FieldChange['field']>(['last_update', 'iteration_history', 'status_history', 'version']);

/** One line per change, like `kubectl get -w`: `modified team-a/fix-42  iteration 2→3, status in_progress→failed (tests red)`. */
export function formatChange(change: StateChange): string {
  const where = `${change.type.padEnd(8)} ${change.namespace}/${change.taskId}`;
  const malformed = change.findings.find((f) => f.severity === 'error');
  const suffix = malformed ? `  (malformed: ${malformed.message})` : '';
  if (change.type === 'deleted') return `${where}${suffix}`;
  const state = change.state ?? change.decoded;
  if (change.type === 'added') {
    const feedback = (state?.feedback_history?.length ?? 0) + (state?.feedback_archived ?? 0);
    return `${where}  ${state?.status ?? '?'}, iteration ${state?.iteration ?? '?'}/${state?.max_iterations ?? '?'}, ${feedback} feedback${suffix}`;
  }
  const parts = change.changes.filter((c) => !QUIET_FIELDS.has(c.field)).map(describeChange);
  return `${where}  ${parts.length ? parts.join(', ') : 'touched'}${suffix}`;
}

function describeChange(change: FieldChange): string {
  switch (change.field) {
    case 'feedback_history':
      return `feedback +${change.added.length} (${change.added.map((e) => `${e.id} ${e.severity}`).join(', ')})`;
    case 'status':
      return `status ${change.old ?? '-'}→${change.new ?? '-'}${change.entry ? ` (${change.entry.reason})` : ''}`;
    case 'marked':
      return change.new !== undefined ? `marked for deletion at ${change.new}` : 'unmarked';
    case 'quarantined':
      return change.new !== undefined ? `quarantined: ${change.new}` : 'released from quarantine';
    case 'error_messages':
    case 'metadata':
      return `${change.field} changed`;
    default:
      return `${change.field} ${short(change.old)}→${short(change.new)}`;
  }
}

function short(value: unknown): string {
  return value === undefined ? '-' : typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
}
