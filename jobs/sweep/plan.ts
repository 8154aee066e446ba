// The TTL sweeper's decisions: which task states to soft-delete (mark), delete after the grace
// period, or unmark. Pure: the objects, the policy and `now` come in, actions with reasons go out.
import { DateTime, Duration } from 'luxon';
import type { JOBS } from '../../src/job/descriptors.js';
import { addDuration, formatDuration, formatTimestamp, parseDuration, parseInstant } from '../../src/durations.js';
import {
  ANNOTATION_LAST_UPDATE,
  ANNOTATION_MARKED_AT,
  ANNOTATION_TTL,
  KEEP_VALUE_TRUE,
  LABEL_KEEP,
  LABEL_STATE,
  LABEL_STATUS,
  LABEL_SWEEP,
  STATE_VALUE_ARCHIVE,
  STATE_VALUE_TASK,
  SWEEP_VALUE_MARKED,
  taskOfArchive,
} from '../../src/state/labels.js';

const KEYS = {
  stateLabel: LABEL_STATE,
  stateTask: STATE_VALUE_TASK,
  stateArchive: STATE_VALUE_ARCHIVE,
  statusLabel: LABEL_STATUS,
  keepLabel: LABEL_KEEP,
  keepValue: KEEP_VALUE_TRUE,
  sweepLabel: LABEL_SWEEP,
  sweepMarked: SWEEP_VALUE_MARKED,
  lastUpdateAnnotation: ANNOTATION_LAST_UPDATE,
  ttlAnnotation: ANNOTATION_TTL,
  markedAtAnnotation: ANNOTATION_MARKED_AT,
} as const;

/** What the sweeper needs of a ConfigMap; all of it is in a metadata-only list, except `lastUpdateFromData`. */
export interface SweepObject {
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** For archives: the task ConfigMap's name, from ownerReferences. */
  ownerName?: string;
  /** `data.last_update`, read by the run for legacy objects without the annotation (see `needsLastUpdateFromData`). */
  lastUpdateFromData?: string;
}

/** The object an action applies to; uid and resourceVersion are the preconditions of the write. */
export interface SweepObjectRef {
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion: string;
}

export interface SweepPolicy {
  /** Default TTL; a `cmstate.io/ttl` annotation overrides it per object. */
  ttl: Duration;
  /** How long a mark stands before the state may be deleted. */
  grace: Duration;
  /** Only states whose `cmstate.io/status` label is one of these; undefined = all, [] = none. */
  statuses?: string[];
}

/** The sweep's actions, as its job descriptor counts them. */
export type SweepActionKind = (typeof JOBS.sweep.actions)[number];

export interface SweepAction {
  kind: SweepActionKind;
  object: SweepObjectRef;
  /** For people: why, with the values that decided it. */
  reason: string;
  /** mark: the value to write to `cmstate.io/marked-at` (the planner's `now`, RFC 3339 UTC). */
  markedAt?: string;
  /** mark: when the state becomes deletable, marked-at + grace (RFC 3339 UTC). */
  deleteAfter?: string;
  /** delete: the task's archive ConfigMaps, to delete with it (see `archivesOf`). */
  archives?: SweepObjectRef[];
}

export interface SweepSkip {
  object: SweepObjectRef;
  reason: string;
}

/** A marked, expired state whose grace period has not elapsed: no action this run. */
export interface SweepWaiting {
  object: SweepObjectRef;
  /** When it becomes deletable (RFC 3339 UTC). */
  deleteAfter: string;
  reason: string;
}

/** The decision for one object; `planTask` is the single source of truth for it. */
export type SweepDecision =
  | { outcome: 'act'; action: SweepAction }
  | { outcome: 'skip'; skip: SweepSkip }
  | { outcome: 'wait'; waiting: SweepWaiting }
  | { outcome: 'kept' | 'not-expired' | 'filtered-by-status' | 'not-a-task' };

/**
 * Decides what to do with one task state as of `now`. Archives and other objects are
 * `not-a-task`; a delete action comes back without archives (see `archivesOf`).
 */
export function planTask(object: SweepObject, policy: SweepPolicy, now: DateTime): SweepDecision {
  if (!isTask(object)) return { outcome: 'not-a-task' };
  if (!matchesStatus(object, policy)) return { outcome: 'filtered-by-status' };
  const ref = refOf(object);
  const marked = object.labels[KEYS.sweepLabel] === KEYS.sweepMarked;
  if (isKept(object)) return marked ? act('unmark', ref, `protected by ${KEYS.keepLabel}`) : { outcome: 'kept' };

  const ttl = readTtl(object, policy);
  if (!ttl.ok) return skip(ref, ttl.reason);
  const lastUpdate = readLastUpdate(object);
  if (!lastUpdate.ok) return skip(ref, lastUpdate.reason);

  // Instants are compared as epoch milliseconds: most states are neither expired nor marked, and
  // need no DateTime at all (only the reasons below print one).
  const at = now.toMillis();
  const expired = at > addDuration(lastUpdate.value, ttl.value.duration);
  const age = () => describeAge(lastUpdate.value, at, ttl.value);

  if (!marked) {
    if (!expired) return { outcome: 'not-expired' };
    return act('mark', ref, `expired: ${age()}`, {
      markedAt: formatInstant(at),
      deleteAfter: formatInstant(addDuration(at, policy.grace)),
    });
  }

  const markedAt = readMarkedAt(object);
  if (markedAt.ok && lastUpdate.value > markedAt.value) {
    return act('unmark', ref, `updated since marked: last update ${formatInstant(lastUpdate.value)} is after marked-at ${formatInstant(markedAt.value)}`);
  }
  if (!expired) return act('unmark', ref, `no longer expired: ${age()}`);
  if (!markedAt.ok) return skip(ref, `${markedAt.reason}; not deleting`);

  const deletableAt = addDuration(markedAt.value, policy.grace);
  const marking = `marked ${formatInstant(markedAt.value)}`;
  if (at >= deletableAt) {
    return act('delete', ref, `expired: ${age()}; ${marking}, grace ${formatDuration(policy.grace)} elapsed`);
  }
  const deleteAfter = formatInstant(deletableAt);
  return { outcome: 'wait', waiting: { object: ref, deleteAfter, reason: `expired: ${age()}; ${marking}, deletable after ${deleteAfter}` } };
}

/**
 * True when `planTask` would need `data.last_update` for this object: a task state in scope,
 * not kept, without the `cmstate.io/last-update` annotation. The run reads those in full.
 */
export function needsLastUpdateFromData(object: SweepObject, policy: SweepPolicy): boolean {
  return isTask(object) && matchesStatus(object, policy) && !isKept(object) && object.annotations[KEYS.lastUpdateAnnotation] === undefined && object.lastUpdateFromData === undefined;
}

/** The key `indexArchives` files archives under. */
export function taskKey(namespace: string, taskName: string): string {
  return `${namespace}/${taskName}`;
}

/**
 * Adds the archives among `objects` to `index` (task key → archive refs) and returns it; call it
 * once per observed page with the same map. An archive's task is taskOfArchive's, as for every
 * job: the owner reference first (Kubernetes garbage collection follows it), then the
 * `cmstate.io/task-id` label, then the archive's name. Archives labeled `cmstate.io/keep=true`
 * are never indexed, so never deleted here.
 */
export function indexArchives(objects: Iterable<SweepObject>, index: Map<string, SweepObjectRef[]> = new Map()): Map<string, SweepObjectRef[]> {
  for (const object of objects) {
    if (object.labels[KEYS.stateLabel] !== KEYS.stateArchive || isKept(object)) continue;
    const taskName = taskOfArchive(object);
    if (taskName === undefined) continue;
    const key = taskKey(object.namespace, taskName);
    const refs = index.get(key) ?? [];
    if (!refs.some((r) => r.name === object.name)) refs.push(refOf(object));
    index.set(key, refs);
  }
  return index;
}

/**
 * The archives to delete with a task: a copy of its entry in `index`, empty when it has none.
 * Archives whose task is not deleted are left alone: orphans are repair's job.
 */
export function archivesOf(index: Map<string, SweepObjectRef[]>, task: SweepObjectRef): SweepObjectRef[] {
  return [...(index.get(taskKey(task.namespace, task.name)) ?? [])];
}

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

interface Ttl {
  duration: Duration;
  fromAnnotation: boolean;
}

function isTask(object: SweepObject): boolean {
  return object.labels[KEYS.stateLabel] === KEYS.stateTask;
}

function isKept(object: SweepObject): boolean {
  return object.labels[KEYS.keepLabel] === KEYS.keepValue;
}

function matchesStatus(object: SweepObject, policy: SweepPolicy): boolean {
  if (policy.statuses === undefined) return true;
  const status = object.labels[KEYS.statusLabel];
  return status !== undefined && policy.statuses.includes(status);
}

function readTtl(object: SweepObject, policy: SweepPolicy): Parsed<Ttl> {
  const text = object.annotations[KEYS.ttlAnnotation];
  if (text === undefined) return { ok: true, value: { duration: policy.ttl, fromAnnotation: false } };
  try {
    return { ok: true, value: { duration: parseDuration(text), fromAnnotation: true } };
  } catch {
    return { ok: false, reason: `${object.name}: annotation ${KEYS.ttlAnnotation} "${text}" is not a duration` };
  }
}

// The annotation is the mirror a metadata-only list carries; data.last_update is the fallback
// for legacy writers that never set it. A bad annotation is reported, not papered over by the data.
function readLastUpdate(object: SweepObject): Parsed<number> {
  const annotation = object.annotations[KEYS.lastUpdateAnnotation];
  if (annotation !== undefined) return readInstant(object, `annotation ${KEYS.lastUpdateAnnotation}`, annotation);
  if (object.lastUpdateFromData !== undefined) return readInstant(object, 'data.last_update', object.lastUpdateFromData);
  return {
    ok: false,
    reason: `${object.name}: no ${KEYS.lastUpdateAnnotation} annotation and no data.last_update to read it from`,
  };
}

function readMarkedAt(object: SweepObject): Parsed<number> {
  const text = object.annotations[KEYS.markedAtAnnotation];
  if (text === undefined) {
    return { ok: false, reason: `${object.name}: marked but has no ${KEYS.markedAtAnnotation} annotation` };
  }
  return readInstant(object, `annotation ${KEYS.markedAtAnnotation}`, text);
}

/** An instant as epoch milliseconds. */
function readInstant(object: SweepObject, source: string, text: string): Parsed<number> {
  try {
    return { ok: true, value: parseInstant(text) };
  } catch {
    return { ok: false, reason: `${object.name}: ${source} "${text}" is not an RFC 3339 timestamp` };
  }
}

function describeAge(lastUpdateMs: number, nowMs: number, ttl: Ttl): string {
  const ttlText = `ttl ${formatDuration(ttl.duration)}${ttl.fromAnnotation ? ` (${KEYS.ttlAnnotation})` : ''}`;
  const ageMs = nowMs - lastUpdateMs;
  const age = ageMs < 0 ? 'is in the future' : `is ${formatDuration(coarseAge(ageMs))} old`;
  return `last update ${formatInstant(lastUpdateMs)} ${age}, ${ttlText}`;
}

function formatInstant(ms: number): string {
  return formatTimestamp(DateTime.fromMillis(ms, { zone: 'utc' }));
}

// Two significant units are enough for a person reading a reason: "12d 3h", not "12d 3h 4m 5s".
function coarseAge(ms: number): Duration {
  const unit = ms >= 86_400_000 ? 3_600_000 : ms >= 3_600_000 ? 60_000 : 1_000;
  return Duration.fromMillis(Math.floor(ms / unit) * unit);
}

function refOf(object: SweepObject): SweepObjectRef {
  const { namespace, name, uid, resourceVersion } = object;
  return uid === undefined ? { namespace, name, resourceVersion } : { namespace, name, uid, resourceVersion };
}

function act(kind: SweepActionKind, object: SweepObjectRef, reason: string, extra: Pick<SweepAction, 'markedAt' | 'deleteAfter'> = {}): SweepDecision {
  return { outcome: 'act', action: { kind, object, reason, ...extra } };
}

function skip(object: SweepObjectRef, reason: string): SweepDecision {
  return { outcome: 'skip', skip: { object, reason } };
}
