// Writing a TaskState as its ConfigMap (STATE-FORMAT.md, version 1): the one entry point every
// writer goes through, so bounds, labels and the keys kept from the existing object are the same
// for all. Which feedback stays, in which form, and the archives that take the rest are
// archive-packing.ts's job. Pure: no I/O, no clock.
//
// Decisions where the format is silent:
// - Data and binaryData keys the format does not know are never touched: encodeState copies
//   them from `base` unchanged. A legacy (version 0) map is migrated by
//   `encodeState(decodeStateWithInfo(cm).state, { base: cm, ... })`: its known keys are read into
//   the state, its unknown keys stay as they were, so no value is lost.

import type { ConfigMap, ObjectMeta } from '../kube/types.js';
import { buildArchives, decimalBytes, EntryTexts, type FeedbackForm, type Plan, planArchiving, withFeedback } from './archive-packing.js';
import { describeIssues } from './decode.js';
import { StateEncodeError } from './errors.js';
import {
  ANNOTATION_LAST_UPDATE,
  DATA_KEYS,
  DEFAULT_BUDGET_BYTES,
  DEFAULT_COMPRESSION_THRESHOLD,
  DEFAULT_MANAGED_BY,
  ERROR_MESSAGES_LIMIT,
  FEEDBACK_GZ_KEY,
  FORMAT_VERSION,
  LABEL_MANAGED_BY,
  LABEL_STATE,
  LABEL_STATUS,
  LABEL_TASK_ID,
  STATE_VALUE_TASK,
  STATUS_HISTORY_LIMIT,
  stateConfigMapName,
} from './labels.js';
import { type FeedbackEntry, type TaskState, taskStateSchema } from './schema.js';
import { configMapSize } from './size.js';

export interface EncodeOptions {
  namespace: string;
  /** `app.kubernetes.io/managed-by`; default: the base's value, else `cmstate`. */
  managedBy?: string;
  compressionThreshold?: number;
  budgetBytes?: number;
  /** Once archiving is needed, archive until the state is at most this size; default half the budget. */
  archiveTargetBytes?: number;
  /** The existing object: its other labels, annotations, resourceVersion, uid, ownerReferences and unknown data keys are kept. */
  base?: ConfigMap;
  /** Archives the task already has; new ones are numbered from existingArchiveCount + 1. */
  existingArchiveCount?: number;
  /** uid of the task's ConfigMap, for the archives' owner reference; default the base's uid. */
  parentUid?: string;
}

export interface EncodedState {
  configMap: ConfigMap;
  /** New archive ConfigMaps to create, in order, before writing `configMap`. */
  archives: ConfigMap[];
  archivedEntries: number;
  /** The state as written: bounded histories, the feedback left in the ConfigMap, the new feedback_archived. */
  state: TaskState;
}

/**
 * Encodes a state as its ConfigMap, moving feedback to new archive ConfigMaps when the
 * ConfigMap would exceed the budget. Throws StateEncodeError when the state fails the schema
 * or cannot fit even with all its feedback archived.
 */
export function encodeState(input: TaskState, options: EncodeOptions): EncodedState {
  const parsed = taskStateSchema.safeParse(input);
  if (!parsed.success) throw new StateEncodeError(String(input.task_id), `invalid state: ${describeIssues(parsed.error)}`);
  const state: TaskState = {
    ...parsed.data,
    status_history: parsed.data.status_history.slice(-STATUS_HISTORY_LIMIT),
    error_messages: parsed.data.error_messages.slice(-ERROR_MESSAGES_LIMIT),
  };
  const budget = options.budgetBytes ?? DEFAULT_BUDGET_BYTES;
  const target = Math.min(budget, options.archiveTargetBytes ?? Math.floor(budget / 2));
  const threshold = options.compressionThreshold ?? DEFAULT_COMPRESSION_THRESHOLD;
  const base = options.base;
  const id = state.task_id;
  const name = stateConfigMapName(id);

  const knownData = new Set<string>(Object.values(DATA_KEYS));
  const data: Record<string, string> = {
    [DATA_KEYS.version]: String(FORMAT_VERSION),
    [DATA_KEYS.task_id]: id,
    [DATA_KEYS.iteration]: String(state.iteration),
    [DATA_KEYS.max_iterations]: String(state.max_iterations),
    [DATA_KEYS.status]: state.status,
    [DATA_KEYS.last_update]: state.last_update,
    [DATA_KEYS.iteration_history]: JSON.stringify(state.iteration_history),
    [DATA_KEYS.status_history]: JSON.stringify(state.status_history),
    [DATA_KEYS.error_messages]: JSON.stringify(state.error_messages),
    [DATA_KEYS.metadata]: JSON.stringify(state.metadata),
  };
  for (const [key, value] of Object.entries(base?.data ?? {})) if (!knownData.has(key)) data[key] = value;
  const binaryData: Record<string, string> = {};
  for (const [key, value] of Object.entries(base?.binaryData ?? {})) if (key !== FEEDBACK_GZ_KEY) binaryData[key] = value;
  const fixedBytes = configMapSize({ data, binaryData });

  const entries = state.feedback_history;
  const texts = new EntryTexts(entries);
  const all = entries.map((_, i) => i);
  const sizeWith = (form: FeedbackForm, moved: number): number => fixedBytes + form.bytes + decimalBytes(state.feedback_archived + moved);

  let plan: Plan = { kept: all, keptForm: texts.form(all, threshold), moved: [] };
  if (sizeWith(plan.keptForm, 0) > budget) plan = planArchiving(state, texts, { budget, target, threshold, fixedBytes, sizeWith, allForm: plan.keptForm });

  withFeedback(data, binaryData, plan.keptForm);
  data[DATA_KEYS.feedback_archived] = String(state.feedback_archived + plan.moved.length);

  const managedBy = options.managedBy ?? base?.metadata.labels?.[LABEL_MANAGED_BY] ?? DEFAULT_MANAGED_BY;
  const metadata: ObjectMeta = {
    ...base?.metadata,
    name,
    namespace: options.namespace,
    labels: { ...base?.metadata.labels, [LABEL_STATE]: STATE_VALUE_TASK, [LABEL_TASK_ID]: id, [LABEL_STATUS]: state.status, [LABEL_MANAGED_BY]: managedBy },
    annotations: { ...base?.metadata.annotations, [ANNOTATION_LAST_UPDATE]: state.last_update },
  };
  const configMap: ConfigMap = { ...base, apiVersion: 'v1', kind: 'ConfigMap', metadata, data };
  if (Object.keys(binaryData).length > 0) configMap.binaryData = binaryData;
  else delete configMap.binaryData;

  const movedSorted = [...plan.moved].sort((a, b) => a - b);
  const archives = buildArchives(texts, movedSorted, {
    taskId: id,
    namespace: options.namespace,
    managedBy,
    firstIndex: (options.existingArchiveCount ?? 0) + 1,
    parentUid: options.parentUid ?? base?.metadata.uid,
    budget,
    threshold,
    ratio: plan.keptForm.ratio ?? 1,
  });
  return {
    configMap,
    archives,
    archivedEntries: plan.moved.length,
    state: { ...state, feedback_history: plan.kept.map((p) => entries[p] as FeedbackEntry), feedback_archived: state.feedback_archived + plan.moved.length },
  };
}
