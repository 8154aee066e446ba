// A job run's own metrics, following Prometheus' guidance for batch jobs: a registry of the
// run's own (never the global default one), plain gauges describing the last run, and no
// per-run or per-task labels. `job`, `namespace` and `shard` are not labels here: the
// Pushgateway's grouping key adds them (see pushgateway.ts).
import { Gauge, Registry } from 'prom-client';
import type { DateTime } from 'luxon';
import type { JobSummary } from './summary.js';
import type { PushMethod } from './pushgateway.js';

export interface RunOutcome {
  success: boolean;
  finishedAt: DateTime;
}

export interface RunMetricsOptions {
  /**
   * The job's action names (`mark`, `unmark`, `delete` for the sweeper). Each is reported
   * as planned/applied even when 0, so `cmstate_job_actions` always has samples. That
   * matters beyond dashboards: a failed run is pushed with POST, and the Pushgateway only
   * replaces a metric family that has at least one sample, so without them a failed run
   * with no actions would leave the previous run's action counts in place.
   */
  actions?: readonly string[];
}

export interface RunMetrics {
  readonly job: string;
  readonly registry: Registry;
  /**
   * Sets every gauge from the run's summary (a second call replaces the first) and returns
   * how the registry must be pushed: `put` when the run recorded a success, `post` when it
   * did not (a failure, or a dry run, which changes nothing and so proves nothing), so the
   * gateway keeps the last success timestamp it already has.
   */
  record(summary: JobSummary, outcome: RunOutcome): PushMethod;
}

/** Label value of `action` for skips: the summary counts skips by reason, not by action. */
export const SKIPPED_ACTION = 'all';

const LAST_SUCCESS = 'cmstate_job_last_success_timestamp_seconds';

export function createRunMetrics(job: string, options: RunMetricsOptions = {}): RunMetrics {
  const registry = new Registry();
  const lastRun = new Gauge({
    name: 'cmstate_job_last_run_timestamp_seconds',
    help: 'Unix time the job last finished a run, successful or not. Greater than the last success timestamp means the last run failed.',
    registers: [registry],
  });
  const duration = new Gauge({
    name: 'cmstate_job_duration_seconds',
    help: "Wall-clock duration of the job's last run, in seconds.",
    registers: [registry],
  });
  const observed = new Gauge({
    name: 'cmstate_job_objects_observed',
    help: "Objects the job's last run read and could act on (in its namespace, or all namespaces, and its shard): task states and archives; the metrics job reads task states only.",
    registers: [registry],
  });
  const actions = new Gauge({
    name: 'cmstate_job_actions',
    help: 'Actions in the job\'s last run. outcome="planned" or "applied" per action; outcome="skipped_<reason>" with action="all" for actions not carried out (e.g. skipped_conflict: the object changed after it was observed). Dry runs only plan.',
    labelNames: ['action', 'outcome'] as const,
    registers: [registry],
  });
  const failures = new Gauge({
    name: 'cmstate_job_failures',
    help: "Objects the job's last run failed to handle. A run can also fail as a whole with 0 here (e.g. API server unreachable): alert on the last success timestamp.",
    registers: [registry],
  });

  // Registered only when a run succeeds: an unlabelled prom-client gauge always exposes a
  // value (0 by default), and pushing it would overwrite the gateway's last success.
  const setLastSuccess = (seconds: number): void => {
    const existing = registry.getSingleMetric(LAST_SUCCESS);
    const gauge =
      existing instanceof Gauge
        ? existing
        : new Gauge({
            name: LAST_SUCCESS,
            help: 'Unix time the job last finished a successful run (dry runs excluded). Alert when time() minus this exceeds the schedule plus a margin.',
            registers: [registry],
          });
    gauge.set(seconds);
  };

  return {
    job,
    registry,
    record(summary, outcome) {
      lastRun.set(outcome.finishedAt.toSeconds());
      duration.set(summary.duration_ms / 1000);
      observed.set(summary.observed);
      failures.set(summary.failed);

      actions.reset();
      for (const action of options.actions ?? []) {
        actions.set({ action, outcome: 'planned' }, 0);
        actions.set({ action, outcome: 'applied' }, 0);
      }
      for (const [action, count] of Object.entries(summary.planned)) actions.set({ action, outcome: 'planned' }, count);
      for (const [action, count] of Object.entries(summary.applied)) actions.set({ action, outcome: 'applied' }, count);
      for (const [reason, count] of Object.entries(summary.skipped)) {
        actions.set({ action: SKIPPED_ACTION, outcome: `skipped_${reason}` }, count);
      }

      if (outcome.success && !summary.dry_run) {
        setLastSuccess(outcome.finishedAt.toSeconds());
        return 'put';
      }
      registry.removeSingleMetric(LAST_SUCCESS);
      return 'post';
    },
  };
}
