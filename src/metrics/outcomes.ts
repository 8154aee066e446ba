// The remediation loop's outcomes, from full reads of the task states: how many iterations a fix
// took and how long, how long tasks stay in each status, which tasks flap between failed and
// in_progress, how often the loop gave up. Pure figures, aggregated per namespace as each state is
// read, so a run keeps numbers, never states.
//
// The histories are read entry by entry: one malformed entry is counted in
// `cmstate_task_history_entries_invalid` and skipped, and the rest of the history still counts.

import { Gauge, Histogram, type Registry } from 'prom-client';
import type { ConfigMap } from '../kube/types.js';
import { DATA_KEYS } from '../state/labels.js';
import { iterationHistoryEntrySchema, statusHistoryEntrySchema, TASK_STATUSES, type TaskStatus } from '../state/schema.js';
import { TERMINAL_STATUSES } from '../state/status.js';
import { parseInstant } from '../durations.js';

/** Terminal statuses, in TASK_STATUSES order: a task in one of them has finished. */
export const FINISHED_STATUSES = TASK_STATUSES.filter((status) => TERMINAL_STATUSES.has(status));

/** Iterations taken: most fixes take a few; the default maximum is 10. */
export const ITERATION_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50];
/** Seconds, from a minute to a week. */
export const DURATION_BUCKETS = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800];

/** The histories a state keeps, as the `history` label names them. */
export const HISTORIES = ['iteration', 'status'] as const;
export type History = (typeof HISTORIES)[number];

/** What one task state tells about the loop. */
export interface TaskOutcome {
  /** Set when the task is in a terminal status. */
  finished?: {
    status: TaskStatus;
    iterations: number;
    /** From the first iteration's start to the change into the terminal status; absent when either is not recorded. */
    seconds?: number;
  };
  /** Completed stays in a status, from one recorded change to the next. */
  stays: { status: TaskStatus; seconds: number }[];
  /** More failed → in_progress changes recorded than the policy allows (the history keeps the last 50 changes). */
  flapping: boolean;
  /** Malformed entries skipped, per history. */
  invalid: Record<History, number>;
}

/** What the decoded state already knows, and when a task counts as flapping. */
export interface OutcomeInput {
  status: TaskStatus | undefined;
  iteration: number | undefined;
  /** --flapping-after: more failed → in_progress changes than this is flapping. */
  flappingAfter: number;
}

/**
 * The outcome of one task state, from its decoded status and iteration and its raw history keys.
 * Never throws: what does not parse is counted as invalid.
 */
export function taskOutcomeOf(cm: ConfigMap, { status, iteration, flappingAfter }: OutcomeInput): TaskOutcome {
  const invalid: Record<History, number> = { iteration: 0, status: 0 };
  const iterations = readEntries(cm.data?.[DATA_KEYS.iteration_history], (entry) => timed(iterationHistoryEntrySchema.safeParse(entry), (e) => e.started_at), 'iteration', invalid);
  const changes = readEntries(cm.data?.[DATA_KEYS.status_history], (entry) => timed(statusHistoryEntrySchema.safeParse(entry), (e) => e.at), 'status', invalid);

  const stays: TaskOutcome['stays'] = [];
  let retries = 0;
  for (const [i, change] of changes.entries()) {
    if (change.from === 'failed' && change.to === 'in_progress') retries++;
    const next = changes[i + 1];
    if (next === undefined) continue;
    const seconds = (next.ms - change.ms) / 1000;
    // Out of order (clock skew between writers): not a stay anyone can measure.
    if (seconds >= 0) stays.push({ status: change.to, seconds });
  }

  const outcome: TaskOutcome = { stays, flapping: retries > flappingAfter, invalid };
  if (status !== undefined && TERMINAL_STATUSES.has(status)) {
    const firstStart = iterations[0]?.ms;
    const finishedAt = changes.findLast((change) => change.to === status)?.ms;
    const seconds = firstStart !== undefined && finishedAt !== undefined ? (finishedAt - firstStart) / 1000 : undefined;
    outcome.finished = { status, iterations: iteration ?? iterations.length, ...(seconds !== undefined && seconds >= 0 ? { seconds } : {}) };
  }
  return outcome;
}

function readEntries<T>(raw: string | undefined, parse: (entry: unknown) => { success: true; data: T } | { success: false }, history: History, invalid: Record<History, number>): T[] {
  if (raw === undefined) return [];
  let entries: unknown;
  try {
    entries = JSON.parse(raw);
  } catch {
    entries = undefined;
  }
  // Not an array at all: one invalid history, nothing to read from it.
  if (!Array.isArray(entries)) {
    invalid[history]++;
    return [];
  }
  const valid: T[] = [];
  for (const entry of entries) {
    const parsed = parse(entry);
    if (parsed.success) valid.push(parsed.data);
    else invalid[history]++;
  }
  return valid;
}

/**
 * A schema-valid entry with its instant in epoch ms. The schema's timestamp check takes any day
 * number: an impossible date (February 30) fails here, counted invalid rather than rolled over.
 */
function timed<T>(parsed: { success: true; data: T } | { success: false }, at: (entry: T) => string): { success: true; data: T & { ms: number } } | { success: false } {
  if (!parsed.success) return parsed;
  try {
    return { success: true, data: { ...parsed.data, ms: parseInstant(at(parsed.data)) } };
  } catch {
    return { success: false };
  }
}

/** One namespace's outcomes: the observations the histograms take, and counts. */
export class OutcomeTally {
  readonly iterations = new Map<TaskStatus, number[]>();
  readonly finishSeconds = new Map<TaskStatus, number[]>();
  readonly staySeconds = new Map<TaskStatus, number[]>();
  readonly finished = new Map<TaskStatus, number>();
  flapping = 0;
  readonly invalid: Record<History, number> = { iteration: 0, status: 0 };

  add(outcome: TaskOutcome): void {
    if (outcome.finished) {
      const { status, iterations, seconds } = outcome.finished;
      this.finished.set(status, (this.finished.get(status) ?? 0) + 1);
      push(this.iterations, status, iterations);
      if (seconds !== undefined) push(this.finishSeconds, status, seconds);
    }
    for (const stay of outcome.stays) push(this.staySeconds, stay.status, stay.seconds);
    if (outcome.flapping) this.flapping++;
    for (const history of HISTORIES) this.invalid[history] += outcome.invalid[history];
  }

  /** Finished states that ended max_iterations_reached, as a share; undefined when none finished. */
  gaveUpRatio(): number | undefined {
    const total = [...this.finished.values()].reduce((sum, n) => sum + n, 0);
    return total === 0 ? undefined : (this.finished.get('max_iterations_reached') ?? 0) / total;
  }
}

function push(map: Map<TaskStatus, number[]>, status: TaskStatus, value: number): void {
  const values = map.get(status);
  if (values) values.push(value);
  else map.set(status, [value]);
}

/** Registers the outcome metrics in `registry`, one namespace's series per tally. */
export function registerOutcomeMetrics(registry: Registry, tallies: ReadonlyMap<string, OutcomeTally>): void {
  const histogram = (name: string, help: string, buckets: number[]) => new Histogram({ name, help, buckets, labelNames: ['namespace', 'status'], registers: [registry] });
  const iterations = histogram('cmstate_task_outcome_iterations', 'Iterations taken by the task states in each terminal status (data.iteration; only with --with-feedback).', ITERATION_BUCKETS);
  const finishSeconds = histogram(
    'cmstate_task_outcome_duration_seconds',
    "Seconds from a finished task's first iteration to its terminal status (iteration_history, status_history; only with --with-feedback).",
    DURATION_BUCKETS,
  );
  const staySeconds = histogram(
    'cmstate_task_status_duration_seconds',
    'Seconds task states stayed in a status, per completed stay recorded in status_history (only with --with-feedback).',
    DURATION_BUCKETS,
  );
  const flapping = new Gauge({
    name: 'cmstate_task_states_flapping',
    help: 'Task states with more failed -> in_progress changes than --flapping-after (only with --with-feedback).',
    labelNames: ['namespace'],
    registers: [registry],
  });
  const gaveUp = new Gauge({
    name: 'cmstate_task_outcome_gave_up_ratio',
    help: 'Share of finished task states that ended max_iterations_reached; absent when none finished (only with --with-feedback).',
    labelNames: ['namespace'],
    registers: [registry],
  });
  const invalid = new Gauge({
    name: 'cmstate_task_history_entries_invalid',
    help: 'Malformed iteration_history or status_history entries, skipped by the outcome metrics (only with --with-feedback).',
    labelNames: ['namespace', 'history'],
    registers: [registry],
  });

  for (const [namespace, tally] of tallies) {
    for (const status of FINISHED_STATUSES) {
      // Every terminal status has a series (0 when none), so a dashboard shows zero, not no data.
      iterations.zero({ namespace, status });
      finishSeconds.zero({ namespace, status });
      for (const value of tally.iterations.get(status) ?? []) iterations.observe({ namespace, status }, value);
      for (const value of tally.finishSeconds.get(status) ?? []) finishSeconds.observe({ namespace, status }, value);
    }
    for (const status of TASK_STATUSES) {
      staySeconds.zero({ namespace, status });
      for (const value of tally.staySeconds.get(status) ?? []) staySeconds.observe({ namespace, status }, value);
    }
    flapping.set({ namespace }, tally.flapping);
    const ratio = tally.gaveUpRatio();
    if (ratio !== undefined) gaveUp.set({ namespace }, ratio);
    for (const history of HISTORIES) invalid.set({ namespace, history }, tally.invalid[history]);
  }
}
