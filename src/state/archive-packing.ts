// When a state is over its budget: which feedback entries stay, in which form (plain JSON or
// gzip), and the archive ConfigMaps that take the rest. A size search with its own tuning (each
// measure may gzip megabytes), kept apart so encode.ts reads as the plain mapping it is.
// Pure: no I/O, no clock.
//
// Decisions where the format is silent:
// - Once the budget forces archiving, entries move until the state is at most
//   `archiveTargetBytes` (default half the budget), not just under the budget: otherwise every
//   later append would create another archive holding one entry.
// - Archived entries keep their original relative order inside and across the new archives.

import { gzipSync } from 'node:zlib';
import type { ConfigMap, ObjectMeta } from '../kube/types.js';
import { StateEncodeError } from './errors.js';
import {
  ARCHIVE_DATA_KEYS,
  DATA_KEYS,
  FEEDBACK_GZ_KEY,
  FORMAT_VERSION,
  LABEL_MANAGED_BY,
  LABEL_STATE,
  LABEL_TASK_ID,
  STATE_VALUE_ARCHIVE,
  archiveConfigMapName,
  stateConfigMapName,
} from './labels.js';
import type { FeedbackEntry, TaskState } from './schema.js';

/** Feedback serialized in the form the size rule picks. */
export interface FeedbackForm {
  plain?: string;
  gzip?: Buffer;
  /** What the form adds to the ConfigMap's size. */
  bytes: number;
  /** Compressed / plain size, when compressed. */
  ratio?: number;
}

/** The feedback entries as JSON text pieces, so subsets can be measured and joined without re-serializing. */
export class EntryTexts {
  readonly texts: string[];
  readonly bytes: number[];
  constructor(entries: FeedbackEntry[]) {
    this.texts = entries.map((e) => JSON.stringify(e));
    this.bytes = this.texts.map((t) => Buffer.byteLength(t, 'utf8'));
  }
  /** UTF-8 size of the JSON array of the entries at these positions. */
  plainBytes(positions: readonly number[]): number {
    let sum = 2 + Math.max(0, positions.length - 1);
    for (const p of positions) sum += this.bytes[p] ?? 0;
    return sum;
  }
  /** Running plain sizes along `positions`: element i is the bytes of the first i entries, a comma each. */
  prefixBytes(positions: readonly number[]): number[] {
    const prefix = [0];
    positions.forEach((p, i) => prefix.push((prefix[i] ?? 0) + (this.bytes[p] ?? 0) + 1));
    return prefix;
  }
  form(positions: readonly number[], threshold: number): FeedbackForm {
    const plain = `[${positions.map((p) => this.texts[p]).join(',')}]`;
    const plainBytes = this.plainBytes(positions);
    if (plainBytes <= threshold) return { plain, bytes: plainBytes };
    const gzip = gzipSync(plain);
    return { gzip, bytes: gzip.length, ratio: gzip.length / plainBytes };
  }
}

/** Largest i with sorted[i] <= value (sorted ascending, sorted[0] <= value). */
function lastAtMost(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((sorted[mid] ?? Infinity) <= value) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Counts within this are as good as the exact boundary: a few entries more or less in an archive do not matter. */
function searchTolerance(count: number): number {
  return Math.max(1, Math.ceil(count / 256));
}

/** What trying one candidate count showed. */
interface Measure {
  fits: boolean;
  /** Fits and uses most of the room: no need to look for a better count. */
  closeEnough: boolean;
  /** Compressed / plain size of the candidate, when compressed. */
  ratio?: number;
}

/** A fitting candidate that fills this share of the room is accepted at once. */
const CLOSE_ENOUGH = 0.95;
/** Estimates aim this far into the room, so the first candidate usually fits and is close enough. */
const AIM = 0.975;

/**
 * Smallest x in [lo, hi] that fits, assuming fitting is monotone in x and holds at hi; a
 * close-enough candidate, or one within `tolerance` of a failing one, ends the search early.
 * Each measure may gzip megabytes, so the search starts from an estimate and re-estimates from
 * the compression ratio each measure reports (usually one or two measures), bisecting if that
 * does not converge.
 */
function smallestFitting(lo: number, hi: number, tolerance: number, estimate: (ratio: number) => number, ratio: number, measure: (x: number) => Measure): number {
  let fitting = hi;
  let failing = lo - 1;
  let guess = estimate(ratio);
  for (let attempt = 1; fitting - failing > tolerance; attempt++) {
    const x = Math.min(fitting - 1, Math.max(failing + 1, guess));
    const result = measure(x);
    if (result.closeEnough) return x;
    ratio = result.ratio ?? ratio;
    if (result.fits) fitting = x;
    else failing = x;
    guess = attempt >= 3 ? Math.floor((failing + fitting) / 2) : result.fits ? Math.min(estimate(ratio), x - tolerance) : Math.max(estimate(ratio), x + tolerance);
  }
  return fitting;
}

/** The plain size a feedback form may have to occupy `room` bytes, given the compression ratio seen so far. */
function plainAllowance(room: number, threshold: number, ratio: number): number {
  return room / ratio > threshold ? room / ratio : Math.min(room, threshold);
}

export function decimalBytes(n: number): number {
  return String(n).length;
}

export function withFeedback(data: Record<string, string>, binaryData: Record<string, string>, form: FeedbackForm): void {
  if (form.plain !== undefined) data[DATA_KEYS.feedback_history] = form.plain;
  if (form.gzip !== undefined) binaryData[FEEDBACK_GZ_KEY] = form.gzip.toString('base64');
}

/** Positions of the entries to archive, in the order they go: oldest resolved first, then oldest. */
function archiveOrder(entries: FeedbackEntry[]): number[] {
  const resolved: number[] = [];
  const open: number[] = [];
  entries.forEach((e, i) => (e.resolved ? resolved : open).push(i));
  return [...resolved, ...open];
}

export interface Plan {
  kept: number[];
  keptForm: FeedbackForm;
  moved: number[];
}

export interface PlanInput {
  budget: number;
  target: number;
  threshold: number;
  fixedBytes: number;
  sizeWith: (form: FeedbackForm, moved: number) => number;
  allForm: FeedbackForm;
}

/** Chooses how many entries (in archive order) leave the state so it fits the target, or at least the budget. */
export function planArchiving(state: TaskState, texts: EntryTexts, input: PlanInput): Plan {
  const order = archiveOrder(state.feedback_history);
  const count = order.length;
  const cache = new Map<number, { kept: number[]; form: FeedbackForm }>();
  const evaluate = (moved: number): { kept: number[]; form: FeedbackForm } => {
    let hit = cache.get(moved);
    if (hit === undefined) {
      const leaving = new Set(order.slice(0, moved));
      const kept = order.filter((p) => !leaving.has(p)).sort((a, b) => a - b);
      hit = { kept, form: texts.form(kept, input.threshold) };
      cache.set(moved, hit);
    }
    return hit;
  };
  const sizeWithNone = input.sizeWith(evaluate(count).form, count);
  if (sizeWithNone > input.budget) {
    throw new StateEncodeError(state.task_id, `${sizeWithNone} bytes without any feedback exceed the budget of ${input.budget} bytes`);
  }
  const limit = sizeWithNone <= input.target ? input.target : input.budget;
  const room = limit - input.fixedBytes - decimalBytes(state.feedback_archived + count);
  const movedPrefix = texts.prefixBytes(order);
  const allPlain = texts.plainBytes(order);
  // Fewest moved entries whose removal brings the plain size under what the ratio allows.
  const estimate = (ratio: number): number => {
    const excess = allPlain - plainAllowance(room * AIM, input.threshold, ratio);
    return excess <= 0 ? 0 : Math.min(count, lastAtMost(movedPrefix, excess) + 1);
  };
  const moved = smallestFitting(1, count, searchTolerance(count), estimate, input.allForm.ratio ?? 1, (m) => {
    const { form } = evaluate(m);
    const size = input.sizeWith(form, m);
    return { fits: size <= limit, closeEnough: size <= limit && size >= limit * CLOSE_ENOUGH, ratio: form.ratio };
  });
  const chosen = evaluate(moved);
  return { kept: chosen.kept, keptForm: chosen.form, moved: order.slice(0, moved) };
}

export interface ArchiveInput {
  taskId: string;
  namespace: string;
  managedBy: string;
  firstIndex: number;
  parentUid: string | undefined;
  budget: number;
  threshold: number;
  ratio: number;
}

/** Splits the moved entries (in original order) into archives of at most the budget each, filling each as far as it goes. */
export function buildArchives(texts: EntryTexts, moved: number[], input: ArchiveInput): ConfigMap[] {
  const archives: ConfigMap[] = [];
  const prefix = texts.prefixBytes(moved);
  let ratio = input.ratio;
  for (let start = 0; start < moved.length;) {
    const index = input.firstIndex + archives.length;
    const room = input.budget - (1 + Buffer.byteLength(input.taskId) + decimalBytes(index));
    const remaining = moved.length - start;
    const forms = new Map<number, FeedbackForm>();
    const formOf = (take: number): FeedbackForm => {
      let form = forms.get(take);
      if (form === undefined) {
        form = texts.form(moved.slice(start, start + take), input.threshold);
        forms.set(take, form);
      }
      return form;
    };
    // Searched as the number of entries left for the next archives, which fits more the larger it is.
    const estimate = (r: number): number => {
      const take = lastAtMost(prefix, (prefix[start] ?? 0) + plainAllowance(room * AIM, input.threshold, r)) - start;
      return remaining - Math.max(1, Math.min(remaining, take));
    };
    const leftOver = smallestFitting(0, remaining - 1, searchTolerance(remaining), estimate, ratio, (x) => {
      const form = formOf(remaining - x);
      ratio = form.ratio ?? ratio;
      return { fits: form.bytes <= room, closeEnough: form.bytes <= room && (x === 0 || form.bytes >= room * CLOSE_ENOUGH), ratio: form.ratio };
    });
    const take = remaining - leftOver;
    const form = formOf(take);
    if (form.bytes > room) {
      throw new StateEncodeError(input.taskId, `feedback entry ${JSON.stringify(texts.texts[moved[start] ?? 0]?.slice(0, 60))}... alone exceeds the budget of ${input.budget} bytes`);
    }
    archives.push(archiveConfigMap(index, form, input));
    start += take;
  }
  return archives;
}

function archiveConfigMap(index: number, form: FeedbackForm, input: ArchiveInput): ConfigMap {
  const parentName = stateConfigMapName(input.taskId);
  const metadata: ObjectMeta = {
    name: archiveConfigMapName(input.taskId, index),
    namespace: input.namespace,
    labels: { [LABEL_STATE]: STATE_VALUE_ARCHIVE, [LABEL_TASK_ID]: input.taskId, [LABEL_MANAGED_BY]: input.managedBy },
  };
  if (input.parentUid !== undefined) metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: parentName, uid: input.parentUid }];
  const data: Record<string, string> = {
    [ARCHIVE_DATA_KEYS.version]: String(FORMAT_VERSION),
    [ARCHIVE_DATA_KEYS.task_id]: input.taskId,
    [ARCHIVE_DATA_KEYS.archive_index]: String(index),
  };
  const binaryData: Record<string, string> = {};
  withFeedback(data, binaryData, form);
  const cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata, data };
  if (form.gzip !== undefined) cm.binaryData = binaryData;
  return cm;
}
