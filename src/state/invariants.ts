// The invariants of STATE-FORMAT.md, checked on one ConfigMap without I/O. The repair job
// decides what to do with the findings; orphaned archives need other objects and are its job.
//
// Decisions where the format is silent:
// - Mirrors are compared with the decoded data; `cmstate.io/last-update` mirrors when it is the
//   same instant, whatever the spelling. A missing label or annotation is a mismatch.
// - `iteration_history` must be exactly the iterations 1..iteration, in order.
// - "not before any entry's timestamp" covers feedback `timestamp`, `iteration_history.started_at`
//   and `status_history.at`: each is written together with `last_update`.
// - `pending` with iteration > 0 cannot arise from the status machine (only in_progress
//   iterates) but harms no reader: it is a status-inconsistent *warning*; a
//   max_iterations_reached below the max is an error.

import { DateTime } from 'luxon';
import type { ConfigMap } from '../kube/types.js';
import { decodeArchive, decodeStateLenient } from './decode.js';
import { StateDecodeError } from './errors.js';
import { ANNOTATION_LAST_UPDATE, CLOCK_SKEW_TOLERANCE_MS, DEFAULT_BUDGET_BYTES, LABEL_STATE, LABEL_STATUS, LABEL_TASK_ID, STATE_VALUE_ARCHIVE, STATE_VALUE_TASK, taskIdFromName } from './labels.js';
import { finding, type Finding } from './findings.js';
import type { TaskState } from './schema.js';
import { configMapSize } from './size.js';

export interface InvariantOptions {
  budgetBytes?: number;
}

function instant(timestamp: string): number {
  return DateTime.fromISO(timestamp, { zone: 'utc' }).toMillis();
}

function listed(values: readonly (string | number)[], max = 5): string {
  const shown = values
    .slice(0, max)
    .map((v) => JSON.stringify(v))
    .join(', ');
  return values.length > max ? `${shown} and ${values.length - max} more` : shown;
}

function mirrorFindings(cm: ConfigMap, state: Partial<TaskState>): Finding[] {
  const name = cm.metadata.name;
  const labels = cm.metadata.labels ?? {};
  const out: Finding[] = [];
  const nameId = taskIdFromName(name);
  if (nameId === undefined) out.push(finding('mirror-mismatch', name, `name is not task-{id}-state with a valid id`));
  else if (state.task_id !== undefined && state.task_id !== nameId)
    out.push(finding('mirror-mismatch', name, `data.task_id ${JSON.stringify(state.task_id)} differs from the id ${JSON.stringify(nameId)} in the name`));
  const expect = (what: string, actual: string | undefined, wanted: string | undefined): void => {
    if (wanted !== undefined && actual !== wanted)
      out.push(finding('mirror-mismatch', name, `${what} is ${actual === undefined ? 'absent' : JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`));
  };
  expect(`label ${LABEL_STATE}`, labels[LABEL_STATE], STATE_VALUE_TASK);
  expect(`label ${LABEL_TASK_ID}`, labels[LABEL_TASK_ID], state.task_id);
  expect(`label ${LABEL_STATUS}`, labels[LABEL_STATUS], state.status);
  const annotation = cm.metadata.annotations?.[ANNOTATION_LAST_UPDATE];
  if (state.last_update !== undefined && (annotation === undefined || instant(annotation) !== instant(state.last_update))) {
    expect(`annotation ${ANNOTATION_LAST_UPDATE}`, annotation, state.last_update);
  }
  return out;
}

function iterationFindings(name: string, state: Partial<TaskState>): Finding[] {
  const out: Finding[] = [];
  const { iteration, max_iterations: max, iteration_history: history, feedback_history: feedback } = state;
  if (iteration !== undefined && max !== undefined && iteration > max) {
    out.push(finding('iteration-out-of-bounds', name, `iteration ${iteration} is above max_iterations ${max}`));
  }
  if (iteration !== undefined && history !== undefined) {
    const numbers = history.map((e) => e.iteration);
    const notOneToN = numbers.findIndex((n, i) => n !== i + 1);
    if (numbers.length !== iteration) {
      out.push(finding('iteration-history-mismatch', name, `iteration_history has ${numbers.length} entries for iteration ${iteration}`));
    } else if (notOneToN !== -1) {
      out.push(finding('iteration-history-mismatch', name, `iteration_history[${notOneToN}] is iteration ${numbers[notOneToN]}, expected ${notOneToN + 1} (one per iteration, ascending)`));
    }
  }
  if (feedback !== undefined) {
    if (iteration !== undefined) {
      const ahead = feedback.filter((e) => e.iteration > iteration);
      if (ahead.length > 0) out.push(finding('feedback-iteration-ahead', name, `${ahead.length} feedback entries belong to an iteration above ${iteration}: ${listed(ahead.map((e) => e.id))}`));
    }
    const seen = new Set<string>();
    const duplicates = new Set<string>();
    for (const { id } of feedback) (seen.has(id) ? duplicates : seen).add(id);
    if (duplicates.size > 0) out.push(finding('feedback-duplicate-id', name, `feedback ids used more than once: ${listed([...duplicates])}`));
  }
  return out;
}

function timeFindings(name: string, state: Partial<TaskState>, now: DateTime): Finding[] {
  if (state.last_update === undefined) return [];
  const out: Finding[] = [];
  const lastUpdate = instant(state.last_update);
  if (lastUpdate > now.toMillis() + CLOCK_SKEW_TOLERANCE_MS) {
    out.push(finding('last-update-in-future', name, `last_update ${state.last_update} is more than 5 minutes ahead of ${now.toUTC().toISO()}`));
  }
  const stamps: { what: string; at: string }[] = [
    ...(state.feedback_history ?? []).map((e) => ({ what: `feedback ${JSON.stringify(e.id)}`, at: e.timestamp })),
    ...(state.iteration_history ?? []).map((e) => ({ what: `iteration ${e.iteration} start`, at: e.started_at })),
    ...(state.status_history ?? []).map((e) => ({ what: `status change to ${e.to}`, at: e.at })),
  ];
  let latest: { what: string; at: string; ms: number } | undefined;
  for (const stamp of stamps) {
    const ms = instant(stamp.at);
    if (latest === undefined || ms > latest.ms) latest = { ...stamp, ms };
  }
  if (latest !== undefined && latest.ms > lastUpdate) {
    out.push(finding('last-update-before-entry', name, `last_update ${state.last_update} is before ${latest.what} at ${latest.at}`));
  }
  return out;
}

function statusFindings(name: string, state: Partial<TaskState>): Finding[] {
  const { status, iteration, max_iterations: max } = state;
  if (status === 'max_iterations_reached' && iteration !== undefined && max !== undefined && iteration < max) {
    return [finding('status-inconsistent', name, `status max_iterations_reached at iteration ${iteration} of ${max}`)];
  }
  if (status === 'pending' && iteration !== undefined && iteration > 0) {
    return [finding('status-inconsistent', name, `status pending at iteration ${iteration} (only in_progress iterates)`, { severity: 'warning' })];
  }
  return [];
}

/**
 * Every finding for one ConfigMap, in the order of the invariants. A task state is checked
 * against all seven; an archive (label cmstate.io/state=archive) only for decodability.
 */
export function checkInvariants(cm: ConfigMap, now: DateTime, options: InvariantOptions = {}): Finding[] {
  const name = cm.metadata.name;
  if (cm.metadata.labels?.[LABEL_STATE] === STATE_VALUE_ARCHIVE) {
    try {
      decodeArchive(cm);
      return [];
    } catch (error) {
      if (error instanceof StateDecodeError) return [finding(error.rule, error.configMapName, `${error.key}: ${error.problem}`, { key: error.key })];
      throw error;
    }
  }
  const { state, findings } = decodeStateLenient(cm);
  const budget = options.budgetBytes ?? DEFAULT_BUDGET_BYTES;
  const size = configMapSize(cm);
  const sizeFindings = size > budget ? [finding('over-budget', name, `${size} bytes exceed the budget of ${budget} bytes`)] : [];
  const all = [...mirrorFindings(cm, state), ...iterationFindings(name, state), ...timeFindings(name, state, now), ...statusFindings(name, state), ...findings, ...sizeFindings];
  return all.sort((a, b) => (a.invariant ?? 8) - (b.invariant ?? 8));
}
