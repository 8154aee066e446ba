// The state gauges `cmstate metrics` exports: pure figures from the observed ConfigMaps.
//
// What the metadata-only list carries (labels and annotations) gives the status counts, the
// oldest update, soft-deleted, quarantined and invalid counts. Iteration, size and feedback
// live in `data`/`binaryData`, which a metadata-only list does not download: those gauges
// need full reads (`--with-feedback`) and come from `options.details`, one StateDetail per
// object the caller read in full, and `options.outcomes` (src/metrics/outcomes.ts). Without
// `details` they are left out, not reported as 0.
import { Gauge, Registry } from 'prom-client';
import type { DateTime } from 'luxon';
import { parseInstant } from '../durations.js';
import type { ConfigMap, ObjectMeta, ObjectMetadata } from '../kube/types.js';
import { decodeStateLenient } from '../state/decode.js';
import { ANNOTATION_LAST_UPDATE, ANNOTATION_QUARANTINED, API_SIZE_LIMIT, LABEL_STATE, LABEL_STATUS, LABEL_SWEEP, STATE_VALUE_TASK, SWEEP_VALUE_MARKED } from '../state/labels.js';
import { FEEDBACK_SEVERITIES, TASK_STATUSES, type FeedbackSeverity, type TaskStatus } from '../state/schema.js';
import { configMapSize } from '../state/size.js';
import { OutcomeTally, registerOutcomeMetrics } from './outcomes.js';

/** A state counts as near the limit above this share of the API server's 1 MiB (API_SIZE_LIMIT). */
export const NEAR_SIZE_LIMIT_RATIO = 0.8;

/** The statuses in which a task can be stuck: waiting to start, or started and not heard of since. */
export const STUCK_STATUSES = ['pending', 'in_progress'] as const satisfies readonly TaskStatus[];
export type StuckStatus = (typeof STUCK_STATUSES)[number];

/** `--stuck-after`'s default: a pending or in_progress state not updated for 6 hours is stuck. */
export const DEFAULT_STUCK_AFTER_SECONDS = 6 * 3600;

/** What only a full read of a task's ConfigMap tells. */
export interface StateDetail {
  /** `data.status`; absent when it did not parse. */
  status?: TaskStatus;
  /** `data.iteration`; absent when it did not parse. */
  iteration?: number;
  /** Size as the API server counts it: data values as UTF-8 plus binaryData raw bytes. */
  bytes: number;
  /**
   * The task's feedback entries counted by severity and resolved (pairs without entries left out):
   * counts, not entries, so that what a run keeps per state does not grow with its history.
   */
  feedback: readonly FeedbackCount[];
}

export interface StateGaugeOptions {
  /** Full-read figures by `stateDetailKey(metadata)`; given only with --with-feedback. */
  details?: ReadonlyMap<string, StateDetail>;
  /** Outcome figures by namespace; given only with --with-feedback. */
  outcomes?: ReadonlyMap<string, OutcomeTally>;
  /** Namespaces to report even when they hold no state (zeros, so absence never hides them). */
  namespaces?: readonly string[];
  /** `--stuck-after` in seconds (default DEFAULT_STUCK_AFTER_SECONDS). */
  stuckAfterSeconds?: number;
}

export interface FeedbackCount {
  severity: FeedbackSeverity;
  resolved: boolean;
  count: number;
}

/** One namespace's gauge values. */
export interface NamespaceStateGauges {
  namespace: string;
  /** Every known status, 0 when none; states with an unknown status count in `invalid` only. */
  states: Record<TaskStatus, number>;
  /** Seconds since the least recently updated state's last-update annotation; 0 without states. */
  oldestUpdateAgeSeconds: number;
  markedForDeletion: number;
  quarantined: number;
  /** pending or in_progress states whose last update is older than --stuck-after. */
  stuck: Record<StuckStatus, number>;
  /** States whose mirrors do not parse: missing/bad last-update annotation, missing/unknown status label. */
  invalid: number;
  /** Present with `details` only: states by `data.iteration` (states without a detail or an iteration are left out). */
  byIteration?: Record<string, number>;
  /** Present with `details` only: sum of the sizes of the states read in full. */
  bytes?: number;
  /** Present with `details` only. */
  nearSizeLimit?: number;
  /** Present with `details` only: every severity × resolved pair, 0 when none. */
  feedbackEntries?: FeedbackCount[];
  /** Present with `details` only (empty when no state of the namespace was read in full). */
  outcomes?: OutcomeTally;
}

/** The key of an object in `StateGaugeOptions.details`. */
export function stateDetailKey(metadata: ObjectMeta): string {
  return `${metadata.namespace ?? ''}/${metadata.name}`;
}

/**
 * The full-read figures of a task state ConfigMap. Decoded leniently: a state with broken keys
 * still counts its size and whatever feedback decoded (entries in archive ConfigMaps are not read).
 */
export function stateDetailOf(cm: ConfigMap): StateDetail {
  const { state } = decodeStateLenient(cm);
  return {
    ...(state.status !== undefined ? { status: state.status } : {}),
    ...(state.iteration !== undefined ? { iteration: state.iteration } : {}),
    bytes: configMapSize(cm),
    feedback: countFeedback(state.feedback_history ?? []),
  };
}

/**
 * The gauge values per namespace, sorted by namespace. Only task states
 * (`cmstate.io/state=task`) count; feedback archives and unrelated objects are ignored.
 */
export function computeStateGauges(objects: Iterable<ObjectMetadata>, now: DateTime, options: StateGaugeOptions = {}): NamespaceStateGauges[] {
  const withDetails = options.details !== undefined;
  const byNamespace = new Map<string, NamespaceStateGauges>();
  const entryFor = (namespace: string): NamespaceStateGauges => {
    let entry = byNamespace.get(namespace);
    if (!entry) {
      entry = emptyGauges(namespace, withDetails);
      if (withDetails) entry.outcomes = options.outcomes?.get(namespace) ?? new OutcomeTally();
      byNamespace.set(namespace, entry);
    }
    return entry;
  };
  for (const namespace of options.namespaces ?? []) entryFor(namespace);

  const nowMs = now.toMillis();
  const stuckAfterMs = (options.stuckAfterSeconds ?? DEFAULT_STUCK_AFTER_SECONDS) * 1000;
  for (const { metadata } of objects) {
    const labels = metadata.labels ?? {};
    if (labels[LABEL_STATE] !== STATE_VALUE_TASK) continue;
    const annotations = metadata.annotations ?? {};
    const gauges = entryFor(metadata.namespace ?? '');

    const status = labels[LABEL_STATUS];
    const knownStatus = isTaskStatus(status);
    if (knownStatus) gauges.states[status] += 1;

    const lastUpdateMs = parseRfc3339Ms(annotations[ANNOTATION_LAST_UPDATE]);
    if (lastUpdateMs !== undefined) {
      gauges.oldestUpdateAgeSeconds = Math.max(gauges.oldestUpdateAgeSeconds, (nowMs - lastUpdateMs) / 1000);
      if (isStuckStatus(status) && nowMs - lastUpdateMs > stuckAfterMs) gauges.stuck[status] += 1;
    }
    if (!knownStatus || lastUpdateMs === undefined) gauges.invalid += 1;
    if (labels[LABEL_SWEEP] === SWEEP_VALUE_MARKED) gauges.markedForDeletion += 1;
    if (annotations[ANNOTATION_QUARANTINED] !== undefined) gauges.quarantined += 1;

    const detail = options.details?.get(stateDetailKey(metadata));
    if (detail) addDetail(gauges, detail);
  }
  return [...byNamespace.values()].sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
}

function emptyGauges(namespace: string, withDetails: boolean): NamespaceStateGauges {
  const gauges: NamespaceStateGauges = {
    namespace,
    states: Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>,
    oldestUpdateAgeSeconds: 0,
    markedForDeletion: 0,
    quarantined: 0,
    stuck: { pending: 0, in_progress: 0 },
    invalid: 0,
  };
  if (withDetails) {
    gauges.byIteration = {};
    gauges.bytes = 0;
    gauges.nearSizeLimit = 0;
    gauges.feedbackEntries = FEEDBACK_SEVERITIES.flatMap((severity) => [false, true].map((resolved) => ({ severity, resolved, count: 0 })));
  }
  return gauges;
}

function addDetail(gauges: NamespaceStateGauges, detail: StateDetail): void {
  if (detail.iteration !== undefined && gauges.byIteration) {
    const key = String(detail.iteration);
    gauges.byIteration[key] = (gauges.byIteration[key] ?? 0) + 1;
  }
  gauges.bytes = (gauges.bytes ?? 0) + detail.bytes;
  if (detail.bytes > NEAR_SIZE_LIMIT_RATIO * API_SIZE_LIMIT) gauges.nearSizeLimit = (gauges.nearSizeLimit ?? 0) + 1;
  for (const entry of detail.feedback) {
    const count = gauges.feedbackEntries?.find((c) => c.severity === entry.severity && c.resolved === entry.resolved);
    if (count) count.count += entry.count;
  }
}

function countFeedback(entries: readonly { severity: FeedbackSeverity; resolved: boolean }[]): FeedbackCount[] {
  const counts: FeedbackCount[] = [];
  for (const { severity, resolved } of entries) {
    const count = counts.find((c) => c.severity === severity && c.resolved === resolved);
    if (count) count.count++;
    else counts.push({ severity, resolved, count: 1 });
  }
  return counts;
}

function isTaskStatus(value: string | undefined): value is TaskStatus {
  return (TASK_STATUSES as readonly (string | undefined)[]).includes(value);
}

function isStuckStatus(value: string | undefined): value is StuckStatus {
  return (STUCK_STATUSES as readonly (string | undefined)[]).includes(value);
}

function parseRfc3339Ms(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseInstant(value);
  } catch {
    return undefined;
  }
}

/**
 * A registry of its own holding the gauges, every series labelled with `namespace`. Push
 * one namespace's values per group (the grouping key's `namespace` overrides the label).
 */
export function stateGaugesRegistry(values: readonly NamespaceStateGauges[]): Registry {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Gauge({ name, help, labelNames: ['namespace', ...labelNames], registers: [registry] });

  const states = gauge('cmstate_task_states', 'Task states by status (cmstate.io/status label).', ['status']);
  const oldest = gauge('cmstate_task_state_oldest_update_age_seconds', 'Seconds since the least recently updated task state was written (cmstate.io/last-update); 0 without states.', []);
  const marked = gauge('cmstate_task_states_marked_for_deletion', 'Task states soft-deleted by the sweeper (cmstate.io/sweep=marked), deleted after the grace period unless updated.', []);
  const quarantined = gauge('cmstate_task_states_quarantined', 'Task states that repair could not fix safely and quarantined (cmstate.io/quarantined); they need a person.', []);
  const stuck = gauge('cmstate_task_states_stuck', 'Task states pending or in_progress whose last update (cmstate.io/last-update) is older than --stuck-after.', ['status']);
  const invalid = gauge(
    'cmstate_task_states_invalid',
    'Task states whose label/annotation mirrors do not parse (missing or bad cmstate.io/last-update, unknown cmstate.io/status); repair fixes them.',
    [],
  );

  const withDetails = values.some((v) => v.bytes !== undefined);
  const byIteration = withDetails
    ? gauge('cmstate_task_states_by_iteration', 'Task states by current iteration (data.iteration; only with --with-feedback, which reads full objects).', ['iteration'])
    : undefined;
  const bytes = withDetails ? gauge('cmstate_task_state_bytes', 'Total size of task state ConfigMaps in bytes, as the API server counts it (only with --with-feedback).', []) : undefined;
  const nearLimit = withDetails
    ? gauge('cmstate_task_states_near_size_limit', `Task states larger than ${NEAR_SIZE_LIMIT_RATIO * 100}% of the 1 MiB ConfigMap limit: writes will soon be refused (only with --with-feedback).`, [])
    : undefined;
  const feedback = withDetails
    ? gauge('cmstate_feedback_entries', 'Feedback entries in task state ConfigMaps by severity and resolved; entries moved to archive ConfigMaps are not counted (only with --with-feedback).', [
        'severity',
        'resolved',
      ])
    : undefined;

  for (const v of values) {
    const namespace = v.namespace;
    for (const status of TASK_STATUSES) states.set({ namespace, status }, v.states[status]);
    oldest.set({ namespace }, v.oldestUpdateAgeSeconds);
    marked.set({ namespace }, v.markedForDeletion);
    quarantined.set({ namespace }, v.quarantined);
    for (const status of STUCK_STATUSES) stuck.set({ namespace, status }, v.stuck[status]);
    invalid.set({ namespace }, v.invalid);
    for (const [iteration, count] of Object.entries(v.byIteration ?? {})) byIteration?.set({ namespace, iteration }, count);
    if (v.bytes !== undefined) bytes?.set({ namespace }, v.bytes);
    if (v.nearSizeLimit !== undefined) nearLimit?.set({ namespace }, v.nearSizeLimit);
    for (const c of v.feedbackEntries ?? []) feedback?.set({ namespace, severity: c.severity, resolved: String(c.resolved) }, c.count);
  }
  if (withDetails) registerOutcomeMetrics(registry, new Map(values.map((v) => [v.namespace, v.outcomes ?? new OutcomeTally()])));
  return registry;
}
