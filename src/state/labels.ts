// The constants of the wire format (STATE-FORMAT.md, version 1). The codec, the sweeper, the
// repair job and the metrics exporter all read them from here, so a key is spelled once.

import { taskIdSchema } from './schema.js';

export const FORMAT_VERSION = 1;

/** Label keys: selectable on the server. */
export const LABEL_STATE = 'cmstate.io/state';
export const LABEL_TASK_ID = 'cmstate.io/task-id';
export const LABEL_STATUS = 'cmstate.io/status';
export const LABEL_KEEP = 'cmstate.io/keep';
export const LABEL_SWEEP = 'cmstate.io/sweep';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';

/** Annotation keys: readable from a metadata-only list. */
export const ANNOTATION_LAST_UPDATE = 'cmstate.io/last-update';
export const ANNOTATION_TTL = 'cmstate.io/ttl';
export const ANNOTATION_MARKED_AT = 'cmstate.io/marked-at';
export const ANNOTATION_QUARANTINED = 'cmstate.io/quarantined';

/** Values of `cmstate.io/state`. */
export const STATE_VALUE_TASK = 'task';
export const STATE_VALUE_ARCHIVE = 'archive';
/** Value of `cmstate.io/sweep` on a soft-deleted state. */
export const SWEEP_VALUE_MARKED = 'marked';
/** Value of `cmstate.io/keep` that exempts a state from sweeping. */
export const KEEP_VALUE_TRUE = 'true';
/** `app.kubernetes.io/managed-by` written by this library unless the caller names itself. */
export const DEFAULT_MANAGED_BY = 'cmstate';

/** Label selectors the jobs list with. */
export const TASK_SELECTOR = `${LABEL_STATE}=${STATE_VALUE_TASK}`;
export const ARCHIVE_SELECTOR = `${LABEL_STATE}=${STATE_VALUE_ARCHIVE}`;
/** Task states and their archives: what sweep, repair and snapshot observe. */
export const STATE_SELECTOR = `${LABEL_STATE} in (${STATE_VALUE_TASK},${STATE_VALUE_ARCHIVE})`;

/** Data keys of a task state ConfigMap. */
export const DATA_KEYS = {
  version: 'version',
  task_id: 'task_id',
  iteration: 'iteration',
  max_iterations: 'max_iterations',
  status: 'status',
  last_update: 'last_update',
  iteration_history: 'iteration_history',
  status_history: 'status_history',
  error_messages: 'error_messages',
  metadata: 'metadata',
  feedback_history: 'feedback_history',
  feedback_archived: 'feedback_archived',
} as const;

/** Data keys of a feedback archive ConfigMap (plus the feedback in either form). */
export const ARCHIVE_DATA_KEYS = {
  version: 'version',
  task_id: 'task_id',
  archive_index: 'archive_index',
  feedback_history: 'feedback_history',
} as const;

/** `binaryData` key of the gzip form of `feedback_history`. */
export const FEEDBACK_GZ_KEY = 'feedback_history.json.gz';

/** What the API server accepts for one ConfigMap (data + decoded binaryData); above it answers 422. */
export const API_SIZE_LIMIT = 1_048_576;
/** Writers keep each ConfigMap below this. */
export const DEFAULT_BUDGET_BYTES = 900 * 1024;
/** Above this many UTF-8 bytes `feedback_history` is written gzipped in `binaryData`. */
export const DEFAULT_COMPRESSION_THRESHOLD = 64 * 1024;
export const DEFAULT_MAX_ITERATIONS = 10;
/** `status_history` and `error_messages` keep their last this many entries. */
export const STATUS_HISTORY_LIMIT = 50;
export const ERROR_MESSAGES_LIMIT = 50;
/** `last_update` may be this far ahead of the checker's clock before it counts as "in the future". */
export const CLOCK_SKEW_TOLERANCE_MS = 5 * 60 * 1000;

const STATE_NAME = /^task-(.+)-state$/;
const ARCHIVE_NAME = /^task-(.+)-state-archive-([1-9][0-9]*)$/;

/** `task-{id}-state`. */
export function stateConfigMapName(taskId: string): string {
  return `task-${taskId}-state`;
}

/** `task-{id}-state-archive-{n}`, n from 1. */
export function archiveConfigMapName(taskId: string, index: number): string {
  return `task-${taskId}-state-archive-${index}`;
}

/** The task id of a state ConfigMap's name, or undefined when the name is not `task-{valid id}-state`. */
export function taskIdFromName(name: string): string | undefined {
  const id = STATE_NAME.exec(name)?.[1];
  return id !== undefined && taskIdSchema.safeParse(id).success ? id : undefined;
}

/** Task id and index of an archive ConfigMap's name, or undefined when it is not `task-{valid id}-state-archive-{n}`. */
export function parseArchiveName(name: string): { taskId: string; index: number } | undefined {
  const match = ARCHIVE_NAME.exec(name);
  if (match?.[1] === undefined || match[2] === undefined || !taskIdSchema.safeParse(match[1]).success) return undefined;
  return { taskId: match[1], index: Number(match[2]) };
}

/** The name of the ConfigMap that owns an object (an archive's task state), from its owner references. */
export function ownerConfigMapName(meta: { ownerReferences?: readonly { kind: string; name: string }[] }): string | undefined {
  return meta.ownerReferences?.find((o) => o.kind === 'ConfigMap')?.name;
}

/**
 * The task state (its ConfigMap name) an archive belongs to, in one precedence for every job: the
 * owner (garbage collection follows it), then the task-id label, then the archive's name.
 */
export function taskOfArchive(archive: { name: string; labels?: Readonly<Record<string, string>>; ownerName?: string }): string | undefined {
  if (archive.ownerName !== undefined) return archive.ownerName;
  const taskId = archive.labels?.[LABEL_TASK_ID] ?? parseArchiveName(archive.name)?.taskId;
  return taskId === undefined ? undefined : stateConfigMapName(taskId);
}
