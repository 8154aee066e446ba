// Between a ConfigMap (STATE-FORMAT.md, version 1) and a TaskState. Pure: no I/O, no clock.
//
// Decisions where the format is silent:
// - Strict decode validates each key on its own (type, enum, RFC 3339 UTC with `Z`); the
//   cross-field invariants (bounds, mirrors, history counts) are the repair job's
//   (invariants.ts), so a state that breaks one can still be read and repaired.
// - Integers are `[0-9]+` (no sign, leading zeros accepted as Go's and Rust's parsers do).
// - Every key of version 1 is required; a missing one is an error (strict) or a finding (lenient).
// - Data and binaryData keys the format does not know are never touched: encodeState copies
//   them from `base` unchanged. A legacy (version 0) map is migrated by
//   `encodeState(decodeStateWithInfo(cm).state, { base: cm, ... })`: its known keys are read into
//   the state, its unknown keys stay as they were, so no value is lost.
// - Legacy `last_update` may be any ISO 8601 / SQL-style timestamp (no offset = UTC) or epoch
//   seconds; it is normalized to RFC 3339 UTC (millisecond precision). Legacy `max_iterations`
//   defaults to max(10, iteration), so migration never creates an out-of-bounds state.
// - Once the budget forces archiving, entries move until the state is at most
//   `archiveTargetBytes` (default half the budget), not just under the budget: otherwise every
//   later append would create another archive holding one entry.
// - Archived entries keep their original relative order inside and across the new archives.

import { gunzipSync, gzipSync } from 'node:zlib';
import { DateTime } from 'luxon';
import type { z } from 'zod';
import type { ConfigMap, ObjectMeta } from '../kube/types.js';
import { type DecodeRule, StateDecodeError, StateEncodeError } from './errors.js';
import { finding, type Finding } from './findings.js';
import {
  ANNOTATION_LAST_UPDATE,
  ARCHIVE_DATA_KEYS,
  DATA_KEYS,
  DEFAULT_BUDGET_BYTES,
  DEFAULT_COMPRESSION_THRESHOLD,
  DEFAULT_MANAGED_BY,
  DEFAULT_MAX_ITERATIONS,
  ERROR_MESSAGES_LIMIT,
  FEEDBACK_GZ_KEY,
  FORMAT_VERSION,
  LABEL_MANAGED_BY,
  LABEL_STATE,
  LABEL_STATUS,
  LABEL_TASK_ID,
  STATE_VALUE_ARCHIVE,
  STATE_VALUE_TASK,
  STATUS_HISTORY_LIMIT,
  archiveConfigMapName,
  stateConfigMapName,
  taskIdFromName,
} from './labels.js';
import {
  type FeedbackEntry,
  type IterationHistoryEntry,
  type TaskState,
  feedbackEntrySchema,
  iterationHistoryEntrySchema,
  statusHistoryEntrySchema,
  taskIdSchema,
  taskStateSchema,
  taskStatusSchema,
  timestampSchema,
} from './schema.js';
import { configMapSize } from './size.js';

/** A gzip member may not inflate beyond this: a corrupt or hostile object must not exhaust memory. */
const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Decoding

/** What happened to one field of the state in a lenient decode. */
export type FieldOutcome = 'ok' | 'defaulted' | 'missing' | 'invalid';
export type StateField = keyof TaskState;

export interface DecodedState {
  state: TaskState;
  /** The ConfigMap had no `version` (legacy version 0); re-encode it with `base` set to migrate. */
  legacy: boolean;
}

export interface LenientDecode {
  /** Every field that decoded (or was defaulted for a legacy map); broken ones are absent. */
  state: Partial<TaskState>;
  fields: Record<StateField, FieldOutcome>;
  /** One per broken key (rules field-invalid, compressed-invalid, both-feedback-forms, status-unknown), plus legacy-version. */
  findings: Finding[];
  legacy: boolean;
}

export interface DecodedArchive {
  task_id: string;
  index: number;
  entries: FeedbackEntry[];
}

interface Problem {
  rule: DecodeRule;
  /** `data.<key>` or `binaryData.<key>`. */
  key: string;
  problem: string;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string; rule?: DecodeRule };

const fail = (problem: string, rule?: DecodeRule): { ok: false; problem: string; rule?: DecodeRule } =>
  rule === undefined ? { ok: false, problem } : { ok: false, problem, rule };

function describeIssues(error: z.ZodError): string {
  const [first] = error.issues;
  if (first === undefined) return 'invalid';
  const path = first.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problems)` : '';
  return `${path === '' ? '' : `${path.replace(/^\./, '')}: `}${first.message}${more}`;
}

function describeJsonError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position !== undefined) return `not valid JSON at position ${position}`;
  // V8 quotes the input after the first clause; a log line must not carry up to 1 MiB of it.
  return `not valid JSON (${message.split(', "')[0] ?? message})`;
}

function parseWith<T>(raw: unknown, schema: z.ZodType<T>): Parsed<T> {
  const result = schema.safeParse(raw);
  return result.success ? { ok: true, value: result.data } : fail(describeIssues(result.error));
}

function parseJsonWith<T>(raw: string, schema: z.ZodType<T>): Parsed<T> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return fail(describeJsonError(error));
  }
  return parseWith(value, schema);
}

function parseCount(raw: string, min: number): Parsed<number> {
  if (!/^[0-9]+$/.test(raw)) return fail(`not a decimal integer: ${JSON.stringify(raw.slice(0, 40))}`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) return fail(`integer too large: ${raw.slice(0, 40)}`);
  if (value < min) return fail(`must be at least ${min}, got ${value}`);
  return { ok: true, value };
}

function parseStatus(raw: string): Parsed<TaskState['status']> {
  const parsed = parseWith(raw, taskStatusSchema);
  return parsed.ok ? parsed : fail(`unknown status ${JSON.stringify(raw.slice(0, 40))}`, 'status-unknown');
}

/** Legacy writers used assorted timestamp spellings; the instant is kept, the spelling becomes RFC 3339 UTC. */
function parseLegacyTimestamp(raw: string): Parsed<string> {
  if (timestampSchema.safeParse(raw).success) return { ok: true, value: raw };
  const text = raw.trim();
  const candidates = /^[0-9]+(\.[0-9]+)?$/.test(text)
    ? [DateTime.fromSeconds(Number(text), { zone: 'utc' })]
    : [DateTime.fromISO(text, { zone: 'utc' }), DateTime.fromSQL(text, { zone: 'utc' })];
  const valid = candidates.find((dt) => dt.isValid);
  const iso = valid?.toUTC().toISO();
  return iso ? { ok: true, value: iso } : fail(`not a timestamp: ${JSON.stringify(raw.slice(0, 40))}`);
}

function decodeBase64(raw: string): Buffer | undefined {
  if (raw.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(raw)) return undefined;
  return Buffer.from(raw, 'base64');
}

const feedbackArraySchema = feedbackEntrySchema.array();
const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseCompressedFeedback(raw: string): Parsed<FeedbackEntry[]> {
  const bytes = decodeBase64(raw);
  if (bytes === undefined) return fail('not valid base64', 'compressed-invalid');
  let text: string;
  try {
    text = utf8.decode(gunzipSync(bytes, { maxOutputLength: MAX_DECOMPRESSED_BYTES }));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return fail(`does not decompress: ${reason}`, 'compressed-invalid');
  }
  return parseJsonWith(text, feedbackArraySchema);
}

/** Appends b's entries whose id a does not hold: when both forms are present, no entry is lost. */
function unionById(a: FeedbackEntry[], b: FeedbackEntry[]): FeedbackEntry[] {
  const ids = new Set(a.map((e) => e.id));
  return [...a, ...b.filter((e) => !ids.has(e.id))];
}

const PLAIN_KEY = `data.${DATA_KEYS.feedback_history}`;
const GZ_KEY = `binaryData.${FEEDBACK_GZ_KEY}`;

/** Reads the feedback in whichever form is present; `undefined` value with no problem means neither form is. */
function readFeedback(cm: ConfigMap, problems: Problem[]): { value?: FeedbackEntry[]; broken: boolean } {
  const plainRaw = cm.data?.[DATA_KEYS.feedback_history];
  const gzRaw = cm.binaryData?.[FEEDBACK_GZ_KEY];
  if (plainRaw !== undefined && gzRaw !== undefined) {
    problems.push({ rule: 'both-feedback-forms', key: PLAIN_KEY, problem: `present together with ${GZ_KEY}; exactly one form is allowed` });
  }
  const forms: { key: string; parsed: Parsed<FeedbackEntry[]> }[] = [];
  if (plainRaw !== undefined) forms.push({ key: PLAIN_KEY, parsed: parseJsonWith(plainRaw, feedbackArraySchema) });
  if (gzRaw !== undefined) forms.push({ key: GZ_KEY, parsed: parseCompressedFeedback(gzRaw) });
  let value: FeedbackEntry[] | undefined;
  let broken = false;
  for (const { key, parsed } of forms) {
    if (parsed.ok) value = value === undefined ? parsed.value : unionById(value, parsed.value);
    else {
      broken = true;
      problems.push({ rule: parsed.rule ?? 'field-invalid', key, problem: parsed.problem });
    }
  }
  return broken ? { broken } : value === undefined ? { broken } : { value, broken };
}

interface RawDecode {
  state: Partial<TaskState>;
  fields: Record<StateField, FieldOutcome>;
  problems: Problem[];
  legacy: boolean;
}

/** The iterations 1..iteration that have no entry in `history`, ascending. */
export function missingIterations(history: IterationHistoryEntry[], iteration: number): number[] {
  const present = new Set(history.map((e) => e.iteration));
  const missing: number[] = [];
  for (let n = 1; n <= iteration; n++) if (!present.has(n)) missing.push(n);
  return missing;
}

/** A copy of `history` with one entry per iteration 1..n, ascending; the padding starts at `startedAt` and is marked recovered. */
export function padHistory(history: IterationHistoryEntry[], iteration: number, startedAt: string): IterationHistoryEntry[] {
  const padding = missingIterations(history, iteration).map((n) => ({ iteration: n, started_at: startedAt, recovered: true as const }));
  return [...history, ...padding].sort((a, b) => a.iteration - b.iteration);
}

/** Decodes every key on its own, collecting problems instead of stopping at the first. */
function readState(cm: ConfigMap): RawDecode {
  const data = cm.data ?? {};
  const problems: Problem[] = [];
  const state: Partial<TaskState> = {};
  const fields = {} as Record<StateField, FieldOutcome>;

  const versionRaw = data[DATA_KEYS.version];
  const legacy = versionRaw === undefined || versionRaw === '0';
  if (legacy || versionRaw === String(FORMAT_VERSION)) {
    state.version = FORMAT_VERSION;
    fields.version = legacy ? 'defaulted' : 'ok';
  } else {
    fields.version = 'invalid';
    problems.push({ rule: 'field-invalid', key: `data.${DATA_KEYS.version}`, problem: `unsupported version ${JSON.stringify(versionRaw.slice(0, 20))} (this reader knows ${FORMAT_VERSION})` });
  }

  function field<K extends StateField>(key: K, parse: (raw: string) => Parsed<TaskState[K]>, legacyDefault?: () => TaskState[K] | undefined): void {
    const raw = data[DATA_KEYS[key]];
    if (raw === undefined) {
      const fallback = legacy ? legacyDefault?.() : undefined;
      if (fallback !== undefined) {
        state[key] = fallback;
        fields[key] = 'defaulted';
      } else {
        fields[key] = 'missing';
        problems.push({ rule: 'field-invalid', key: `data.${DATA_KEYS[key]}`, problem: 'missing' });
      }
      return;
    }
    const parsed = parse(raw);
    if (parsed.ok) {
      state[key] = parsed.value;
      fields[key] = 'ok';
    } else {
      fields[key] = 'invalid';
      problems.push({ rule: parsed.rule ?? 'field-invalid', key: `data.${DATA_KEYS[key]}`, problem: parsed.problem });
    }
  }

  field('task_id', (raw) => parseWith(raw, taskIdSchema), () => taskIdFromName(cm.metadata.name));
  field('iteration', (raw) => parseCount(raw, 0));
  field('max_iterations', (raw) => parseCount(raw, 1), () => Math.max(DEFAULT_MAX_ITERATIONS, state.iteration ?? 0));
  field('status', parseStatus, () => (state.iteration === undefined ? undefined : state.iteration === 0 ? 'pending' : 'in_progress'));
  field('last_update', legacy ? parseLegacyTimestamp : (raw) => parseWith(raw, timestampSchema));
  field('iteration_history', (raw) => parseJsonWith(raw, iterationHistoryEntrySchema.array()), () => []);
  field('status_history', (raw) => parseJsonWith(raw, statusHistoryEntrySchema.array()), () => []);
  field('error_messages', (raw) => parseJsonWith(raw, taskStateSchema.shape.error_messages), () => []);
  field('metadata', (raw) => parseJsonWith(raw, taskStateSchema.shape.metadata), () => ({}));
  field('feedback_archived', (raw) => parseCount(raw, 0), () => 0);
  if (legacy && state.iteration_history !== undefined && state.iteration !== undefined && state.last_update !== undefined) {
    state.iteration_history = padHistory(state.iteration_history, state.iteration, state.last_update);
  }

  const feedback = readFeedback(cm, problems);
  if (feedback.value !== undefined) {
    state.feedback_history = feedback.value;
    fields.feedback_history = 'ok';
  } else if (feedback.broken) {
    fields.feedback_history = 'invalid';
  } else if (legacy) {
    state.feedback_history = [];
    fields.feedback_history = 'defaulted';
  } else {
    fields.feedback_history = 'missing';
    problems.push({ rule: 'field-invalid', key: PLAIN_KEY, problem: `missing (and no ${GZ_KEY})` });
  }
  return { state, fields, problems, legacy };
}

function toError(cm: ConfigMap, problem: Problem, taskId: string | undefined): StateDecodeError {
  return new StateDecodeError(cm.metadata.name, problem.key, problem.problem, problem.rule, taskId);
}

/** Strict decode; a legacy (version 0) map is returned as a full version-1 state with `legacy: true`. */
export function decodeStateWithInfo(cm: ConfigMap): DecodedState {
  const { state, problems, legacy } = readState(cm);
  const [first] = problems;
  if (first !== undefined) throw toError(cm, first, state.task_id ?? taskIdFromName(cm.metadata.name));
  // readState has either set every field or reported a problem for it.
  return { state: state as TaskState, legacy };
}

/** Strict decode: throws StateDecodeError naming the ConfigMap, the key and what is wrong. */
export function decodeState(cm: ConfigMap): TaskState {
  return decodeStateWithInfo(cm).state;
}

/** Never throws: each broken key becomes a finding and the rest is still decoded (for the repair job). */
export function decodeStateLenient(cm: ConfigMap): LenientDecode {
  const { state, fields, problems, legacy } = readState(cm);
  const name = cm.metadata.name;
  const findings: Finding[] = problems.map((p) => finding(p.rule, name, `${p.key}: ${p.problem}`, { key: p.key }));
  if (legacy) {
    findings.push(finding('legacy-version', name, `data.version: absent, legacy version 0; re-encode to migrate to version ${FORMAT_VERSION}`, { key: 'data.version', severity: 'warning' }));
  }
  return { state, fields, findings, legacy };
}

/** Strict decode of a feedback archive ConfigMap `task-{id}-state-archive-{n}`. */
export function decodeArchive(cm: ConfigMap): DecodedArchive {
  const data = cm.data ?? {};
  const problems: Problem[] = [];
  function read<T>(key: string, parse: (raw: string) => Parsed<T>): T | undefined {
    const raw = data[key];
    const parsed = raw === undefined ? fail('missing') : parse(raw);
    if (parsed.ok) return parsed.value;
    problems.push({ rule: parsed.rule ?? 'field-invalid', key: `data.${key}`, problem: parsed.problem });
    return undefined;
  }
  read(ARCHIVE_DATA_KEYS.version, (raw) => (raw === String(FORMAT_VERSION) ? { ok: true, value: raw } : fail(`unsupported version ${JSON.stringify(raw.slice(0, 20))} (this reader knows ${FORMAT_VERSION})`)));
  const taskId = read(ARCHIVE_DATA_KEYS.task_id, (raw) => parseWith(raw, taskIdSchema));
  const index = read(ARCHIVE_DATA_KEYS.archive_index, (raw) => parseCount(raw, 1));
  const feedback = readFeedback(cm, problems);
  if (feedback.value === undefined && !feedback.broken) problems.push({ rule: 'field-invalid', key: PLAIN_KEY, problem: `missing (and no ${GZ_KEY})` });
  const [first] = problems;
  if (first !== undefined || taskId === undefined || index === undefined || feedback.value === undefined) {
    throw toError(cm, first ?? { rule: 'field-invalid', key: 'data', problem: 'incomplete' }, taskId);
  }
  return { task_id: taskId, index, entries: feedback.value };
}

// ---------------------------------------------------------------------------------------------
// Encoding

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

/** Feedback serialized in the form the size rule picks. */
interface FeedbackForm {
  plain?: string;
  gzip?: Buffer;
  /** What the form adds to the ConfigMap's size. */
  bytes: number;
  /** Compressed / plain size, when compressed. */
  ratio?: number;
}

/** The feedback entries as JSON text pieces, so subsets can be measured and joined without re-serializing. */
class EntryTexts {
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

function decimalBytes(n: number): number {
  return String(n).length;
}

function withFeedback(data: Record<string, string>, binaryData: Record<string, string>, form: FeedbackForm): void {
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

interface Plan {
  kept: number[];
  keptForm: FeedbackForm;
  moved: number[];
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

interface PlanInput {
  budget: number;
  target: number;
  threshold: number;
  fixedBytes: number;
  sizeWith: (form: FeedbackForm, moved: number) => number;
  allForm: FeedbackForm;
}

/** Chooses how many entries (in archive order) leave the state so it fits the target, or at least the budget. */
function planArchiving(state: TaskState, texts: EntryTexts, input: PlanInput): Plan {
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

interface ArchiveInput {
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
function buildArchives(texts: EntryTexts, moved: number[], input: ArchiveInput): ConfigMap[] {
  const archives: ConfigMap[] = [];
  const prefix = texts.prefixBytes(moved);
  let ratio = input.ratio;
  for (let start = 0; start < moved.length; ) {
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
