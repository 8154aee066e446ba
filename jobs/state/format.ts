// How `cmstate state` shows a state to a person; --output json prints the wire fields instead.

import type { FeedbackEntry, TaskState } from '../../src/state/schema.js';

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
