// The shared shape of every batch job: log the effective config once, take the per-namespace
// Lease, run the job's observe → plan → act body with a stop signal for SIGTERM, then report:
// the summary (text or one JSON line), the run metrics, and the exit code.

import os from 'node:os';
import { DateTime } from 'luxon';
import { Registry } from 'prom-client';
import type { CommandContext } from '../command.js';
import type { DryRunMode, JobConfig } from '../config.js';
import { ExitCode, exitCodeFor, oneLine } from '../exit.js';
import type { KubeClient } from '../kube/client.js';
import { LeaseLock } from '../kube/lease-lock.js';
import type { JobDescriptor } from './descriptors.js';
import type { EventRecord } from '../kube/types.js';
import type { Logger } from '../log.js';
import { createRunMetrics } from '../metrics/run-metrics.js';
import { ALL_NAMESPACES, deleteGroup, listGroups, PushError, pushMetrics, type PushMethod } from '../metrics/pushgateway.js';
import { DeletionSummary, workloadFromEnv, type DeletionSummaryOptions } from './deletion-summary.js';
import { concludeRun, printSummary } from './conclusion.js';
import { formatSummary, Tally } from './tally.js';

export interface JobSpec {
  /** Which job: its name, actions and whether it takes the run lock (src/job/descriptors.ts). */
  job: JobDescriptor;
  /** What the run is configured with, logged once at start. */
  settings: Record<string, unknown>;
  /**
   * Without --pushgateway, print the run metrics and the exported ones (JobRun.exportMetrics)
   * to stdout as exposition text, in place of the text summary: the metrics job, whose metrics
   * are its result. Other jobs only log their run metrics at debug level then.
   */
  printMetrics?: boolean;
}

/** Gauges a job exports besides its run metrics (the metrics job's state gauges), by namespace. */
export interface ExportedMetrics {
  /** The namespaces that have metrics. */
  readonly namespaces: readonly string[];
  /** A new registry with the metrics of these namespaces, every series labelled with `namespace`. */
  registry(namespaces: readonly string[]): Registry;
}

export interface JobRun {
  readonly job: string;
  readonly client: KubeClient;
  /** The namespace to work on; undefined with --all-namespaces. */
  readonly namespace: string | undefined;
  /** The decision instant, fixed for the whole run (--now, or the clock at start). */
  readonly now: DateTime;
  readonly dryRun: DryRunMode;
  /** True when nothing may be changed (client dry run); a server dry run sends writes with dryRun=All. */
  readonly planOnly: boolean;
  readonly config: JobConfig;
  readonly log: Logger;
  readonly print: (line: string) => void;
  readonly output: 'text' | 'json';
  readonly tally: Tally;
  /** Aborted on SIGTERM: start no new actions. */
  readonly signal: AbortSignal;
  /** Logs a progress line at most every few seconds. */
  progress(what: string): void;
  /** Records a Kubernetes Event; a failure to record is a warning, not a failed action. */
  event(record: EventRecord): Promise<void>;
  /**
   * A summary of deletions, reported when the run ends as one Event (on the Job when in the
   * cluster, else one per namespace touched) in place of an Event per deleted object.
   */
  deletions(options: DeletionSummaryOptions): DeletionSummary;
  /**
   * Hands metrics to the runner, which pushes them with the run metrics (a later call replaces
   * an earlier one): the run's own namespace merged into the run's group, so the group is pushed
   * in one piece; every other namespace (--all-namespaces) in a group of its own.
   */
  exportMetrics(metrics: ExportedMetrics): void;
}

const PROGRESS_INTERVAL_MS = 5_000;

export async function runJob(ctx: CommandContext, config: JobConfig, spec: JobSpec, body: (run: JobRun) => Promise<void>): Promise<number> {
  const startedAt = performance.now();
  const { log } = ctx;
  const connection = ctx.connect({ qps: config.qps, burst: Math.max(1, Math.ceil(config.qps)), component: `cmstate-${spec.job.name}` });
  const namespace = config.allNamespaces ? undefined : connection.namespace;
  const dryRun = ctx.config.dryRun;
  const tally = new Tally(spec.job.actions);
  const now = ctx.now();
  const sharded = config.shardCount > 1;
  log.info(
    {
      job: spec.job.name,
      server: connection.server,
      namespace: namespace ?? '(all)',
      dryRun,
      now: now.toISO(),
      shard: sharded ? `${config.shardIndex}/${config.shardCount}` : undefined,
      concurrency: config.concurrency,
      qps: config.qps,
      ...spec.settings,
    },
    `starting ${spec.job.name}`,
  );
  if (dryRun !== 'none') log.warn(`DRY-RUN (${dryRun}): nothing will be changed`);

  let lastProgress = performance.now();
  let exported: ExportedMetrics | undefined;
  const deletions: DeletionSummary[] = [];
  const run: JobRun = {
    job: spec.job.name,
    client: connection.client,
    namespace,
    now,
    dryRun,
    planOnly: dryRun === 'client',
    config,
    log,
    print: ctx.print,
    output: ctx.config.output,
    tally,
    signal: ctx.signal,
    progress: (what) => {
      const at = performance.now();
      if (at - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = at;
      log.info({ observed: tally.observed, applied: tally.applied, failed: tally.failures.length }, `${spec.job.name}: ${what}`);
    },
    event: async (record) => {
      if (dryRun === 'client') return;
      try {
        await connection.client.createEvent(record, now.toJSDate());
      } catch (err) {
        log.warn(`could not record event ${record.reason} for ${record.involved.namespace}/${record.involved.name}: ${oneLine(err)}`);
      }
    },
    deletions: (options) => {
      const summary = new DeletionSummary(options);
      deletions.push(summary);
      return summary;
    },
    exportMetrics: (metrics) => {
      exported = metrics;
    },
  };

  // A client dry run changes nothing, so it cannot race a real run and needs no lock.
  const lock =
    dryRun === 'client' || !spec.job.lock
      ? undefined
      : new LeaseLock(connection.client, {
          ref: { namespace: connection.namespace, name: sharded ? `cmstate-${spec.job.name}-shard-${config.shardIndex}` : `cmstate-${spec.job.name}` },
          holder: `${os.hostname()}-${process.pid}`,
          durationSeconds: config.leaseDuration,
          onRenewError: (err) => log.warn(`could not renew the run lock: ${oneLine(err)}`),
        });
  await lock?.acquire();

  let refusal: unknown;
  let fatal: unknown;
  try {
    await body(run);
  } catch (err) {
    if (exitCodeFor(err) === ExitCode.refused) refusal = err;
    else fatal = err;
  } finally {
    await lock?.release().catch((err: unknown) => log.warn(`could not release the run lock: ${oneLine(err)}`));
  }
  // Also after a failure or SIGTERM: what was deleted is reported.
  const workload = workloadFromEnv(process.env);
  for (const record of deletions.flatMap((summary) => summary.events(workload))) await run.event(record);

  const concluded = concludeRun(log, ctx.signal, tally, { name: spec.job.name, dryRun: dryRun !== 'none', startedAt }, { refusal, fatal });
  const { summary } = concluded;
  let { exitCode } = concluded;

  const pushFailed = await pushRunMetrics(run, spec, summary, exitCode === ExitCode.ok, exported);
  if (pushFailed && config.requirePush && exitCode === ExitCode.ok) exitCode = ExitCode.failed;

  // The metrics job's result is its metrics on stdout: its summary goes to the log then.
  if (spec.printMetrics && !config.pushgateway && ctx.config.output !== 'json') log.info(formatSummary(summary));
  else printSummary(ctx.print, ctx.config.output, summary);
  return exitCode;
}

/**
 * Pushes the run's metrics, with the exported ones, when a Pushgateway is configured (else
 * prints or logs them); returns true when a push failed.
 */
async function pushRunMetrics(run: JobRun, spec: JobSpec, summary: ReturnType<Tally['summary']>, success: boolean, exported: ExportedMetrics | undefined): Promise<boolean> {
  const metrics = createRunMetrics(spec.job.name, { actions: spec.job.actions });
  // The wall clock, not --now: Prometheus compares these with time(), and a run previewing the
  // future (--now) must not push a last success that silences the not-succeeding alerts.
  const method = metrics.record(summary, { success, finishedAt: DateTime.now() });
  const url = run.config.pushgateway;
  if (!url) {
    if (run.config.requirePush) run.log.warn('--require-push without --pushgateway: no metrics were pushed');
    const registry = withExported(metrics.registry, exported, exported?.namespaces ?? []);
    if (spec.printMetrics) run.print((await registry.metrics()).trimEnd());
    else run.log.debug(await registry.metrics());
    return run.config.requirePush;
  }

  const own = run.namespace ?? ALL_NAMESPACES;
  const shard = run.config.shardCount > 1 ? run.config.shardIndex : undefined;
  const groups: { namespace: string; registry: Registry; method: PushMethod }[] = [
    { namespace: own, registry: withExported(metrics.registry, exported, exported?.namespaces.filter((n) => n === own) ?? []), method },
    // Exported gauges describe the state, not the run: their groups always hold the latest whole set.
    ...(exported?.namespaces.filter((n) => n !== own) ?? []).map((namespace) => ({ namespace, registry: exported!.registry([namespace]), method: 'put' as const })),
  ];
  let failed = false;
  for (const [index, group] of groups.entries()) {
    try {
      await pushMetrics({ url, registry: group.registry, grouping: { job: spec.job.name, namespace: group.namespace, shard }, method: group.method });
    } catch (err) {
      run.log.warn(`metrics push failed: ${oneLine(err)}`);
      failed = true;
      // No answer at all: the other groups would only wait out the same retries.
      if (err instanceof PushError && err.status === undefined) {
        if (index < groups.length - 1) run.log.warn(`skipped the other ${groups.length - 1 - index} metric groups: the Pushgateway did not answer`);
        break;
      }
    }
  }
  if (!failed) run.log.info(`pushed ${groups.length === 1 ? 'run metrics' : `${groups.length} metric groups`} to ${url}`);
  // --all-namespaces: a namespace that held states at the last run and holds none now still has its
  // group on the gateway, with figures that no longer exist (stuck, give-up): deleted, not left to alert.
  if (!failed && success && exported && run.namespace === undefined) failed = await deleteStaleGroups(run, url, spec.job.name, new Set(groups.map((g) => g.namespace)));
  return failed;
}

/** Deletes this job's unsharded groups of namespaces not in `current`; true when that failed. */
async function deleteStaleGroups(run: JobRun, url: string, job: string, current: ReadonlySet<string>): Promise<boolean> {
  try {
    const stale = (await listGroups({ url })).filter((labels) => labels.job === `cmstate-${job}` && labels.shard === undefined && labels.namespace !== undefined && !current.has(labels.namespace));
    for (const labels of stale) await deleteGroup({ url, grouping: { job, namespace: labels.namespace! } });
    if (stale.length) run.log.info({ namespaces: stale.map((labels) => labels.namespace) }, `deleted the metric groups of ${stale.length} namespaces without task states`);
    return false;
  } catch (err) {
    run.log.warn(`deleting the metric groups of namespaces without task states failed: ${oneLine(err)}`);
    return true;
  }
}

/** The run metrics merged with the exported metrics of these namespaces, one registry for one group. */
function withExported(runRegistry: Registry, exported: ExportedMetrics | undefined, namespaces: readonly string[]): Registry {
  if (!exported || namespaces.length === 0) return runRegistry;
  return Registry.merge([runRegistry, exported.registry(namespaces)]);
}
