// Rebuilds a consistent TaskState from what a lenient decode could read of a broken ConfigMap,
// or says why that cannot be done safely (the state is then quarantined). Pure: no I/O, no clock.
//
// What counts as safe:
// - Derived or log data is rebuilt: mirrors, iteration_history (padded with recovered entries),
//   status_history and error_messages (the readable entries are kept). The original of every
//   repaired object is in the snapshot store before it is replaced.
// - Data a controller decides with is never guessed: unreadable feedback (the only copy),
//   iteration or max_iterations (they enforce the maximum), metadata, feedback_archived, a task
//   id that disagrees with the name, a version newer than this reader, feedback entries that share
//   an id but differ, an unknown status with no status_history to recover it from, an entry dated
//   in the future.
// - The counter is never lowered, except to clamp it to max_iterations (then the status becomes
//   max_iterations_reached): it is what enforces the maximum.
// - last_update is left as the controller wrote it unless it breaks invariant 4 or is unreadable:
//   a repair is not task progress, and the sweeper's TTL counts from it.

import { DateTime } from 'luxon';
import type { z } from 'zod';
import { formatTimestamp } from '../../src/durations.js';
import type { ConfigMap } from '../../src/kube/types.js';
import { missingIterations, padHistory, type LenientDecode } from '../../src/state/decode.js';
import { TERMINAL_STATUSES } from '../../src/state/status.js';
import { CLOCK_SKEW_TOLERANCE_MS, DATA_KEYS, FEEDBACK_GZ_KEY, FORMAT_VERSION, taskIdFromName } from '../../src/state/labels.js';
import {
  TASK_STATUSES,
  type FeedbackEntry,
  type IterationHistoryEntry,
  type StatusHistoryEntry,
  type TaskState,
  type TaskStatus,
  iterationHistoryEntrySchema,
  statusHistoryEntrySchema,
} from '../../src/state/schema.js';

export type Reconciled = { ok: true; state: TaskState; reasons: string[] } | { ok: false; reason: string };

export function reconcileState(cm: ConfigMap, decoded: LenientDecode, now: DateTime): Reconciled {
  try {
    return { ok: true, ...rebuild(cm, decoded, now) };
  } catch (err) {
    if (err instanceof Unsafe) return { ok: false, reason: err.message };
    throw err;
  }
}

/** Thrown inside `rebuild` when a repair would have to guess. */
class Unsafe extends Error {
  override name = 'Unsafe';
}

function rebuild(cm: ConfigMap, decoded: LenientDecode, now: DateTime): { state: TaskState; reasons: string[] } {
  const { state: read, fields } = decoded;
  const data = cm.data ?? {};
  const reasons: string[] = [];

  if (fields.version === 'invalid') {
    throw new Unsafe(`data.version ${quote(data[DATA_KEYS.version])} is not version ${FORMAT_VERSION}: a newer writer's state is never rewritten by an older reader`);
  }
  const taskId = readTaskId(cm, decoded, reasons);
  const feedback = readFeedback(cm, decoded, reasons);
  const iteration = required(read.iteration, 'data.iteration', data[DATA_KEYS.iteration], 'the counter enforces max_iterations and cannot be guessed');
  const maxIterations = required(read.max_iterations, 'data.max_iterations', data[DATA_KEYS.max_iterations], 'the maximum cannot be guessed');
  const feedbackArchived = required(read.feedback_archived, 'data.feedback_archived', data[DATA_KEYS.feedback_archived], 'it counts entries in archive ConfigMaps and cannot be guessed');
  const metadata = readMetadata(read.metadata, data[DATA_KEYS.metadata], reasons);

  let history = read.iteration_history ?? salvage(data[DATA_KEYS.iteration_history], iterationHistoryEntrySchema, 'iteration_history', reasons);
  const statusHistory = normalizeStatusHistory(read.status_history ?? salvage(data[DATA_KEYS.status_history], statusHistoryEntrySchema, 'status_history', reasons), reasons);
  const errorMessages = read.error_messages ?? salvageErrorMessages(data[DATA_KEYS.error_messages], reasons);
  history = normalizeIterationHistory(history, reasons);

  const lastUpdate = reconcileLastUpdate(cm, read.last_update, [...feedback.map((e) => e.timestamp), ...history.map((e) => e.started_at), ...statusHistory.map((e) => e.at)], now, reasons);
  let status = read.status ?? recoverStatus(data[DATA_KEYS.status], statusHistory, reasons);

  // The highest of the three is the iteration the task has reached.
  const fromHistory = Math.max(0, ...history.map((e) => e.iteration));
  const fromFeedback = Math.max(0, ...feedback.map((e) => e.iteration));
  let target = Math.max(iteration, fromHistory, fromFeedback);
  if (target > iteration) {
    const sources = [fromHistory === target ? 'iteration_history' : undefined, fromFeedback === target ? 'feedback' : undefined].filter(Boolean).join(' and ');
    reasons.push(`iteration raised from ${iteration} to ${target}, the highest in ${sources} (the counter is never lowered)`);
  }
  if (status === 'max_iterations_reached' && target < maxIterations) {
    reasons.push(`status max_iterations_reached at iteration ${target} of ${maxIterations}: iteration raised to ${maxIterations}, so the task stays finished instead of being reopened`);
    target = maxIterations;
  }
  if (target > maxIterations) {
    if (fromFeedback > maxIterations) {
      throw new Unsafe(
        `feedback entries belong to iteration ${fromFeedback}, above max_iterations ${maxIterations}: clamping the counter would leave them ahead of it, and feedback is never rewritten`,
      );
    }
    const dropped = history.filter((e) => e.iteration > maxIterations).map((e) => e.iteration);
    // A finished task keeps the outcome it recorded; any other stops here.
    const finished = TERMINAL_STATUSES.has(status);
    reasons.push(
      `iteration ${target} is above max_iterations ${maxIterations}: clamped to ${maxIterations}` +
        (finished ? ` (status ${status} kept)` : ` with status max_iterations_reached`) +
        (dropped.length > 0 ? `; iteration_history ${dropped.length === 1 ? 'entry' : 'entries'} for ${iterations(dropped)} dropped (kept in the snapshot)` : ''),
    );
    history = history.filter((e) => e.iteration <= maxIterations);
    target = maxIterations;
    if (!finished) status = 'max_iterations_reached';
  }
  if (status === 'pending' && target > 0) {
    reasons.push(`status pending at iteration ${target}: set to in_progress (only in_progress iterates)`);
    status = 'in_progress';
  }
  history = padHistoryWithReason(history, target, lastUpdate, reasons);

  return {
    state: {
      version: FORMAT_VERSION,
      task_id: taskId,
      iteration: target,
      max_iterations: maxIterations,
      status,
      last_update: lastUpdate,
      iteration_history: history,
      status_history: statusHistory,
      error_messages: errorMessages,
      metadata,
      feedback_history: feedback,
      feedback_archived: feedbackArchived,
    },
    reasons,
  };
}

function readTaskId(cm: ConfigMap, decoded: LenientDecode, reasons: string[]): string {
  const fromName = taskIdFromName(cm.metadata.name);
  if (fromName === undefined) throw new Unsafe(`the name ${cm.metadata.name} is not task-{id}-state with a valid id: cannot tell which task this is`);
  const fromData = decoded.state.task_id;
  if (fromData !== undefined && fromData !== fromName) {
    throw new Unsafe(`data.task_id ${quote(fromData)} differs from the id ${quote(fromName)} in the name: the data may belong to another task`);
  }
  if (decoded.fields.task_id === 'missing' || decoded.fields.task_id === 'invalid') reasons.push(`data.task_id ${decoded.fields.task_id}: set to ${quote(fromName)} from the name`);
  return fromName;
}

function required<T>(value: T | undefined, key: string, raw: string | undefined, why: string): T {
  if (value !== undefined) return value;
  throw new Unsafe(`${key} is ${raw === undefined ? 'missing' : `unreadable (${quote(raw)})`}: ${why}`);
}

/** The feedback with identical duplicates dropped; unreadable or conflicting feedback is unsafe. */
function readFeedback(cm: ConfigMap, decoded: LenientDecode, reasons: string[]): FeedbackEntry[] {
  const entries = decoded.state.feedback_history;
  if (entries === undefined) {
    const feedbackKeys = [`data.${DATA_KEYS.feedback_history}`, `binaryData.${FEEDBACK_GZ_KEY}`];
    const problem = decoded.findings.find((f) => (f.rule === 'field-invalid' || f.rule === 'compressed-invalid') && f.key !== undefined && feedbackKeys.includes(f.key));
    throw new Unsafe(`the feedback is unreadable and this is its only copy${problem ? ` (${problem.detail})` : ''}`);
  }
  if (cm.data?.[DATA_KEYS.feedback_history] !== undefined && cm.binaryData?.[FEEDBACK_GZ_KEY] !== undefined) {
    reasons.push(`feedback_history and its gzip form merged by entry id into one form`);
  }
  const byId = new Map<string, FeedbackEntry>();
  const kept: FeedbackEntry[] = [];
  const dropped = new Set<string>();
  for (const entry of entries) {
    const first = byId.get(entry.id);
    if (first === undefined) {
      byId.set(entry.id, entry);
      kept.push(entry);
    } else if (canonical(first) === canonical(entry)) {
      dropped.add(entry.id);
    } else {
      throw new Unsafe(`feedback entries with id ${quote(entry.id)} differ: cannot tell which one is right`);
    }
  }
  if (dropped.size > 0) reasons.push(`repeated copies of feedback entries ${[...dropped].map(quote).join(', ')} dropped (identical to the first; appending a present id is a no-op)`);
  return kept;
}

function readMetadata(value: Record<string, string> | undefined, raw: string | undefined, reasons: string[]): Record<string, string> {
  if (value !== undefined) return value;
  const parsed = parseJson(raw);
  if (parsed === undefined || typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Unsafe(`data.metadata is ${raw === undefined ? 'missing' : `not a JSON object (${quote(raw)})`}: it holds the controllers' own keys and cannot be rebuilt`);
  }
  // Values that are not strings are kept as their JSON text: nothing is lost.
  const metadata = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  reasons.push(`data.metadata values that were not strings written as their JSON text`);
  return metadata;
}

/** The entries of a broken JSON array that still validate; the rest is named in the reason. */
function salvage<T>(raw: string | undefined, schema: z.ZodType<T>, key: string, reasons: string[]): T[] {
  const parsed = parseJson(raw);
  if (!Array.isArray(parsed)) {
    reasons.push(`data.${key} ${raw === undefined ? 'missing' : 'is not a JSON array'}: rebuilt from an empty list`);
    return [];
  }
  const valid = parsed.flatMap((item: unknown) => {
    const result = schema.safeParse(item);
    return result.success ? [result.data] : [];
  });
  reasons.push(`data.${key}: ${parsed.length - valid.length} of ${parsed.length} entries do not validate and were dropped`);
  return valid;
}

/** A log of strings: whatever text is there is kept as messages. */
function salvageErrorMessages(raw: string | undefined, reasons: string[]): string[] {
  const parsed = parseJson(raw);
  if (raw === undefined) {
    reasons.push(`data.error_messages missing: set to []`);
    return [];
  }
  const messages = Array.isArray(parsed) ? parsed.map((m: unknown) => (typeof m === 'string' ? m : JSON.stringify(m))) : [typeof parsed === 'string' ? parsed : raw];
  reasons.push(`data.error_messages was not a JSON array of strings: its content kept as ${count(messages.length, 'message', 'messages')}`);
  return messages;
}

/** One entry per iteration, ascending, without iteration 0 (it has no start). */
function normalizeIterationHistory(history: IterationHistoryEntry[], reasons: string[]): IterationHistoryEntry[] {
  const best = new Map<number, IterationHistoryEntry>();
  let zero = 0;
  let repeated = 0;
  for (const entry of history) {
    if (entry.iteration === 0) {
      zero++;
      continue;
    }
    const current = best.get(entry.iteration);
    if (current !== undefined) repeated++;
    if (current === undefined || better(entry, current)) best.set(entry.iteration, entry);
  }
  const numbers = history.map((e) => e.iteration).filter((n) => n > 0);
  if (zero > 0) reasons.push(`iteration_history: ${count(zero, 'entry', 'entries')} for iteration 0 dropped (iterations start at 1)`);
  if (repeated > 0) reasons.push(`iteration_history: ${count(repeated, 'repeated entry', 'repeated entries')} dropped, keeping the earliest recorded start of each iteration`);
  if (numbers.some((n, i) => i > 0 && n < (numbers[i - 1] ?? 0))) reasons.push(`iteration_history sorted by iteration`);
  return [...best.values()].sort((a, b) => a.iteration - b.iteration);
}

/** A recorded start beats a recovered one; then the earlier start wins. */
function better(a: IterationHistoryEntry, b: IterationHistoryEntry): boolean {
  if ((a.recovered === true) !== (b.recovered === true)) return b.recovered === true;
  return instant(a.started_at) < instant(b.started_at);
}

function padHistoryWithReason(history: IterationHistoryEntry[], iteration: number, startedAt: string, reasons: string[]): IterationHistoryEntry[] {
  const missing = missingIterations(history, iteration);
  if (missing.length === 0) return history;
  reasons.push(`iteration_history: ${missing.length === 1 ? 'an entry' : 'entries'} for ${iterations(missing)} added as recovered, started_at = last_update ${startedAt}`);
  return padHistory(history, iteration, startedAt);
}

/** Newest last (stable by `at`), exact repeats dropped. */
function normalizeStatusHistory(history: StatusHistoryEntry[], reasons: string[]): StatusHistoryEntry[] {
  const seen = new Set<string>();
  const unique = history.filter((e) => {
    const text = canonical(e);
    if (seen.has(text)) return false;
    seen.add(text);
    return true;
  });
  const sorted = unique
    .map((e, i) => ({ e, i }))
    .sort((a, b) => instant(a.e.at) - instant(b.e.at) || a.i - b.i)
    .map(({ e }) => e);
  if (unique.length < history.length) reasons.push(`status_history: ${history.length - unique.length} repeated entries dropped`);
  if (sorted.some((e, i) => e !== unique[i])) reasons.push(`status_history sorted oldest first`);
  return sorted;
}

function recoverStatus(raw: string | undefined, statusHistory: StatusHistoryEntry[], reasons: string[]): TaskStatus {
  const spelled = raw
    ?.trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  const known = TASK_STATUSES.find((s) => s === spelled);
  if (known !== undefined) {
    reasons.push(`status ${quote(raw)} read as ${known}`);
    return known;
  }
  const last = statusHistory.at(-1);
  if (last !== undefined) {
    reasons.push(`status ${raw === undefined ? 'missing' : quote(raw)}: set to ${last.to}, the latest status in status_history (${last.at})`);
    return last.to;
  }
  throw new Unsafe(`status ${raw === undefined ? 'is missing' : `${quote(raw)} is unknown`} and there is no status_history to recover it from`);
}

/**
 * Keeps last_update unless it is unreadable, in the future, or before an entry; then it becomes
 * the latest entry's time (a write happened then), or `now` when that is all there is.
 */
function reconcileLastUpdate(cm: ConfigMap, current: string | undefined, stamps: string[], now: DateTime, reasons: string[]): string {
  const limit = now.toMillis() + CLOCK_SKEW_TOLERANCE_MS;
  let latest: { at: string; ms: number } | undefined;
  for (const at of stamps) {
    const ms = instant(at);
    if (latest === undefined || ms > latest.ms) latest = { at, ms };
  }
  if (latest !== undefined && latest.ms > limit) {
    throw new Unsafe(`an entry is dated ${latest.at}, more than 5 minutes ahead of ${formatTimestamp(now)}: a writer's clock is wrong, and entries are never rewritten`);
  }
  const nowText = formatTimestamp(now);
  if (current === undefined) {
    const created = cm.metadata.creationTimestamp;
    const chosen = latest?.at ?? (created !== undefined && instant(created) <= limit ? created : nowText);
    const source = latest !== undefined ? 'the latest entry' : chosen === created ? 'the creation time' : 'now';
    reasons.push(`data.last_update unreadable: set to ${chosen}, ${source}`);
    return chosen;
  }
  const ms = instant(current);
  if (ms > limit) {
    const chosen = latest !== undefined && latest.ms > now.toMillis() ? latest.at : nowText;
    reasons.push(`last_update ${current} is in the future: set to ${chosen}`);
    return chosen;
  }
  if (latest !== undefined && latest.ms > ms) {
    reasons.push(`last_update ${current} is before an entry dated ${latest.at}: set to ${latest.at}`);
    return latest.at;
  }
  return current;
}

function instant(timestamp: string): number {
  return DateTime.fromISO(timestamp, { zone: 'utc' }).toMillis();
}

function parseJson(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** JSON with sorted keys, to compare decoded objects whatever order their keys came in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

/** `iteration 3`, `iterations 1-3, 5`. */
function iterations(numbers: number[]): string {
  return `${numbers.length === 1 ? 'iteration' : 'iterations'} ${ranges(numbers)}`;
}

function count(n: number, one: string, many: string): string {
  return n === 1 ? `one ${one}` : `${n} ${many}`;
}

/** `1-3, 5`. */
function ranges(numbers: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < numbers.length;) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === (numbers[j] ?? 0) + 1) j++;
    parts.push(i === j ? String(numbers[i]) : `${numbers[i]}-${numbers[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

function quote(text: string | undefined): string {
  if (text === undefined) return 'undefined';
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
