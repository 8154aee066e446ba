// What a run did, counted as it happens: the summary, the exit code and the run metrics are
// all derived from it. Per-object failures are values here, never exceptions.

import type { JobSummary } from '../metrics/summary.js';

export interface ObjectFailure {
  object: string;
  message: string;
}

/**
 * Why an object was left alone, the keys of a summary's `skipped`, in one vocabulary for every job:
 * - `conflict`: it changed after it was observed (a precondition failed);
 * - `changed`: it changed between a job's two passes, or no longer needed the planned action;
 * - `gone`: it was deleted by someone else first;
 * - `exists`: restore found it already there (and was not told to overwrite);
 * - `quarantined`: repair leaves quarantined states to people;
 * - `not_marked`: sweep unmark found no mark to remove;
 * - `invalid`: it cannot be read well enough to act on;
 * - `circuit_breaker`: the breaker refused the whole run;
 * - `interrupted`: SIGTERM came before it was started.
 */
export type SkipReason = 'conflict' | 'changed' | 'gone' | 'exists' | 'quarantined' | 'not_marked' | 'invalid' | 'circuit_breaker' | 'interrupted';

export class Tally {
  /**
   * The objects the run read that it could act on, each once: task states and archives (the
   * metrics job reads task states only; restore, the snapshot's selected objects; verify, files;
   * `--delete-group`, Pushgateway groups). A job that reads twice counts one of its passes.
   */
  observed = 0;
  readonly planned: Record<string, number> = {};
  readonly applied: Record<string, number> = {};
  readonly skipped: Record<string, number> = {};
  readonly failures: ObjectFailure[] = [];

  constructor(actions: readonly string[]) {
    for (const action of actions) {
      this.planned[action] = 0;
      this.applied[action] = 0;
    }
  }

  plan(action: string, count = 1): void {
    this.planned[action] = (this.planned[action] ?? 0) + count;
  }
  apply(action: string, count = 1): void {
    this.applied[action] = (this.applied[action] ?? 0) + count;
  }
  skip(reason: SkipReason, count = 1): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + count;
  }
  fail(object: string, message: string): void {
    this.failures.push({ object, message });
  }

  summary(job: string, dryRun: boolean, durationMs: number): JobSummary {
    return {
      job,
      dry_run: dryRun,
      observed: this.observed,
      planned: { ...this.planned },
      applied: { ...this.applied },
      skipped: { ...this.skipped },
      failed: this.failures.length,
      duration_ms: Math.round(durationMs),
    };
  }
}

/** The one-line text summary: `sweep: observed 1200 · planned mark 40, delete 12 · ...`. */
export function formatSummary(summary: JobSummary): string {
  const counts = (record: Record<string, number>) => {
    const parts = Object.entries(record).map(([k, v]) => `${k} ${v}`);
    return parts.length ? parts.join(', ') : 'none';
  };
  const dry = summary.dry_run ? ' (dry run)' : '';
  return `${summary.job}${dry}: observed ${summary.observed} · planned ${counts(summary.planned)} · applied ${counts(summary.applied)} · skipped ${counts(summary.skipped)} · failed ${summary.failed} · ${summary.duration_ms} ms`;
}
