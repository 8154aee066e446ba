// Reading a ConfigMap (STATE-FORMAT.md, version 1) back into a TaskState, strictly or leniently,
// and reading feedback archives. Every reader (the StateManager, the repair job, metrics, the
// invariant checks) needs only this, so it stands apart from the writing side and its size
// search. Pure: no I/O, no clock.
//
// Decisions where the format is silent:
// - Strict decode validates each key on its own (type, enum, RFC 3339 UTC with `Z`); the
//   cross-field invariants (bounds, mirrors, history counts) are the repair job's
//   (invariants.ts), so a state that breaks one can still be read and repaired.
// - Integers are `[0-9]+` (no sign, leading zeros accepted as Go's and Rust's parsers do).
// - Every key of version 1 is required; a missing one is an error (strict) or a finding (lenient).
// - Legacy `last_update` may be any ISO 8601 / SQL-style timestamp (no offset = UTC) or epoch
//   seconds; it is normalized to RFC 3339 UTC (millisecond precision). Legacy `max_iterations`
//   defaults to max(10, iteration), so migration never creates an out-of-bounds state.

import { gunzipSync } from 'node:zlib';
import { DateTime } from 'luxon';
import type { z } from 'zod';
import type { ConfigMap } from '../kube/types.js';
import { type DecodeRule, StateDecodeError } from './errors.js';
import { finding, type Finding } from './findings.js';
import { ARCHIVE_DATA_KEYS, DATA_KEYS, DEFAULT_MAX_ITERATIONS, FEEDBACK_GZ_KEY, FORMAT_VERSION, taskIdFromName } from './labels.js';
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

/** A gzip member may not inflate beyond this: a corrupt or hostile object must not exhaust memory. */
const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

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

const fail = (problem: string, rule?: DecodeRule): { ok: false; problem: string; rule?: DecodeRule } => (rule === undefined ? { ok: false, problem } : { ok: false, problem, rule });

/** The first zod issue in one line; encode.ts words a schema failure the same way. */
export function describeIssues(error: z.ZodError): string {
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
  const candidates = /^[0-9]+(\.[0-9]+)?$/.test(text) ? [DateTime.fromSeconds(Number(text), { zone: 'utc' })] : [DateTime.fromISO(text, { zone: 'utc' }), DateTime.fromSQL(text, { zone: 'utc' })];
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

  field(
    'task_id',
    (raw) => parseWith(raw, taskIdSchema),
    () => taskIdFromName(cm.metadata.name),
  );
  field('iteration', (raw) => parseCount(raw, 0));
  field(
    'max_iterations',
    (raw) => parseCount(raw, 1),
    () => Math.max(DEFAULT_MAX_ITERATIONS, state.iteration ?? 0),
  );
  field('status', parseStatus, () => (state.iteration === undefined ? undefined : state.iteration === 0 ? 'pending' : 'in_progress'));
  field('last_update', legacy ? parseLegacyTimestamp : (raw) => parseWith(raw, timestampSchema));
  field(
    'iteration_history',
    (raw) => parseJsonWith(raw, iterationHistoryEntrySchema.array()),
    () => [],
  );
  field(
    'status_history',
    (raw) => parseJsonWith(raw, statusHistoryEntrySchema.array()),
    () => [],
  );
  field(
    'error_messages',
    (raw) => parseJsonWith(raw, taskStateSchema.shape.error_messages),
    () => [],
  );
  field(
    'metadata',
    (raw) => parseJsonWith(raw, taskStateSchema.shape.metadata),
    () => ({}),
  );
  field(
    'feedback_archived',
    (raw) => parseCount(raw, 0),
    () => 0,
  );
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

/** The strict state a lenient decode found, when every key decoded (a legacy one included), without decoding again. */
export function strictStateOf(decoded: LenientDecode): TaskState | undefined {
  // readState sets every field or reports a problem for it; legacy-version is a warning, not a problem.
  return decoded.findings.every((f) => f.rule === 'legacy-version') ? (decoded.state as TaskState) : undefined;
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
  read(ARCHIVE_DATA_KEYS.version, (raw) =>
    raw === String(FORMAT_VERSION) ? { ok: true, value: raw } : fail(`unsupported version ${JSON.stringify(raw.slice(0, 20))} (this reader knows ${FORMAT_VERSION})`),
  );
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
