// What changed between two versions of a task state, in wire-format fields, for watchers. A
// watcher keeps a StateMemo per task, not the state: every field but the feedback (small and
// bounded: histories keep the last 50 entries), and of the feedback only the entry ids, so what a
// watch of thousands of states near 1 MiB holds is its ids, not its descriptions.

import type { ConfigMap } from '../kube/types.js';
import { decodeStateLenient, strictStateOf } from './decode.js';
import type { Finding } from './findings.js';
import { ANNOTATION_MARKED_AT, ANNOTATION_QUARANTINED, LABEL_SWEEP, SWEEP_VALUE_MARKED, taskIdFromName } from './labels.js';
import type { FeedbackEntry, StatusHistoryEntry, TaskState, TaskStatus } from './schema.js';

/** The fields compared as values, in wire order (feedback_history is compared by entry id). */
const VALUE_FIELDS = [
  'version',
  'task_id',
  'iteration',
  'max_iterations',
  'status',
  'last_update',
  'iteration_history',
  'status_history',
  'error_messages',
  'metadata',
  'feedback_archived',
] as const satisfies readonly (keyof TaskState)[];
type ValueField = (typeof VALUE_FIELDS)[number];

/** One field that changed. Absent `old`: the field is new (or the state is); absent `new`: it is gone or no longer decodes. */
export type FieldChange =
  | { field: Exclude<ValueField, 'status'>; old?: unknown; new?: unknown }
  /** With the status_history entry that recorded the move, when there is one. */
  | { field: 'status'; old?: TaskStatus; new?: TaskStatus; entry?: StatusHistoryEntry }
  /** Entries whose id was not there before, in the state's order (entries moved to archives are not changes). */
  | { field: 'feedback_history'; added: FeedbackEntry[] }
  /** The sweeper's soft delete: the cmstate.io/marked-at time (or "marked" without one); absent when not marked. */
  | { field: 'marked'; old?: string; new?: string }
  /** Repair's quarantine: the cmstate.io/quarantined reason; absent when not quarantined. */
  | { field: 'quarantined'; old?: string; new?: string };

/** What a watcher keeps of one task state. */
export interface StateMemo {
  resourceVersion: string;
  fields: Partial<Pick<TaskState, ValueField>>;
  feedbackIds: ReadonlySet<string>;
  marked?: string;
  quarantined?: string;
}

/** One version of a task state ConfigMap, read for a watcher. */
export interface ReadState {
  taskId: string;
  /** Strictly decoded; absent when the ConfigMap is malformed. */
  state?: TaskState;
  /** Malformed: what did decode (the changes are computed from it). */
  decoded?: Partial<TaskState>;
  /** Why it is malformed (and warnings such as a legacy version); never a throw. */
  findings: Finding[];
  memo: StateMemo;
  feedback: readonly FeedbackEntry[];
}

/** Reads one ConfigMap: decoded strictly when it can be, leniently otherwise; never throws. */
export function readState(cm: ConfigMap): ReadState {
  const lenient = decodeStateLenient(cm);
  const state = strictStateOf(lenient);
  const fields = state ?? lenient.state;
  const feedback = fields.feedback_history ?? [];
  const annotations = cm.metadata.annotations ?? {};
  const marked = cm.metadata.labels?.[LABEL_SWEEP] === SWEEP_VALUE_MARKED ? (annotations[ANNOTATION_MARKED_AT] ?? SWEEP_VALUE_MARKED) : undefined;
  const quarantined = annotations[ANNOTATION_QUARANTINED];
  const memo: StateMemo = {
    resourceVersion: cm.metadata.resourceVersion ?? '',
    fields: Object.fromEntries(VALUE_FIELDS.flatMap((field) => (fields[field] !== undefined ? [[field, fields[field]]] : []))),
    feedbackIds: new Set(feedback.map((entry) => entry.id)),
    ...(marked !== undefined ? { marked } : {}),
    ...(quarantined !== undefined ? { quarantined } : {}),
  };
  return {
    taskId: fields.task_id ?? taskIdFromName(cm.metadata.name) ?? cm.metadata.name,
    ...(state ? { state } : { decoded: lenient.state }),
    findings: lenient.findings,
    memo,
    feedback,
  };
}

/** The fields that differ from `before` (undefined: the state is new, every field it has is a change). */
export function diffState(before: StateMemo | undefined, after: ReadState): FieldChange[] {
  const changes: FieldChange[] = [];
  const now = after.memo;
  for (const field of VALUE_FIELDS) {
    const old = before?.fields[field];
    const value = now.fields[field];
    if (JSON.stringify(old) === JSON.stringify(value)) continue;
    if (field === 'status') {
      const entry = (now.fields.status_history ?? []).at(-1);
      const recorded = entry !== undefined && entry.to === value;
      changes.push({ field, ...defined('old', old as TaskStatus | undefined), ...defined('new', value as TaskStatus | undefined), ...(recorded ? { entry } : {}) });
    } else {
      changes.push({ field, ...defined('old', old), ...defined('new', value) });
    }
  }
  const added = after.feedback.filter((entry) => !before?.feedbackIds.has(entry.id));
  if (added.length > 0) changes.push({ field: 'feedback_history', added });
  for (const field of ['marked', 'quarantined'] as const) {
    if (before?.[field] !== now[field]) changes.push({ field, ...defined('old', before?.[field]), ...defined('new', now[field]) });
  }
  return changes;
}

function defined<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
