// The metrics job's I/O: observe task states with a metadata-only paged list (full reads, one
// `get` per state, only with --with-feedback), compute the state gauges, and hand them to the
// runner, which pushes them with the run metrics. And --delete-group: remove this release's
// groups from the Pushgateway, without talking to the API server at all.

import { ALL_JOBS } from '../../src/job/descriptors.js';
import { runBounded } from '../../src/job/executor.js';
import { fullObjectConcurrency } from '../../src/kube/list-stream.js';
import type { JobRun } from '../../src/job/runner.js';
import type { Tally } from '../../src/job/tally.js';
import { oneLine } from '../../src/exit.js';
import { NotFoundError } from '../../src/kube/errors.js';
import type { ObjectMetadata } from '../../src/kube/types.js';
import { ALL_NAMESPACES, deleteGroup, groupPath, listGroups, PushError, type GatewayOptions, type Grouping } from '../../src/metrics/pushgateway.js';
import { computeStateGauges, stateDetailKey, stateDetailOf, stateGaugesRegistry, type StateDetail } from '../../src/metrics/state-gauges.js';
import { ANNOTATION_LAST_UPDATE, ANNOTATION_QUARANTINED, LABEL_STATE, LABEL_STATUS, LABEL_SWEEP, TASK_SELECTOR } from '../../src/state/labels.js';

/** The metrics job only reads: it has no actions. */
export interface CollectOptions {
  /** Read every state in full for iteration, size and feedback gauges. */
  withFeedback: boolean;
}

export async function collectStateMetrics(run: JobRun, options: CollectOptions): Promise<void> {
  const objects: ObjectMetadata[] = [];
  const details = options.withFeedback ? new Map<string, StateDetail>() : undefined;
  const pages = run.client.listConfigMapMetadataPages({ namespace: run.namespace, labelSelector: TASK_SELECTOR, pageSize: run.config.pageSize, pageBytes: run.config.pageBytes, signal: run.signal });
  for await (const page of pages) {
    const states = page.map(gaugeFields);
    objects.push(...states);
    run.tally.observed += states.length;
    if (details) await readDetails(run, states, details);
    run.progress(`${run.tally.observed} task states observed`);
  }
  // Gauges from part of the states would understate every count: better none than wrong ones.
  if (run.signal.aborted) return;

  const values = computeStateGauges(objects, run.now, { details, namespaces: run.namespace !== undefined ? [run.namespace] : [] });
  run.exportMetrics({
    namespaces: values.map((v) => v.namespace),
    registry: (namespaces) => stateGaugesRegistry(values.filter((v) => namespaces.includes(v.namespace))),
  });
}

// Only what the gauges read is kept, so a namespace of 100k states costs little memory.
function gaugeFields({ metadata }: ObjectMetadata): ObjectMetadata {
  const pick = (from: Record<string, string> | undefined, keys: string[]) => Object.fromEntries(keys.flatMap((key) => (from?.[key] !== undefined ? [[key, from[key]]] : [])));
  return {
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace,
      labels: pick(metadata.labels, [LABEL_STATE, LABEL_STATUS, LABEL_SWEEP]),
      annotations: pick(metadata.annotations, [ANNOTATION_LAST_UPDATE, ANNOTATION_QUARANTINED]),
    },
  };
}

async function readDetails(run: JobRun, states: ObjectMetadata[], details: Map<string, StateDetail>): Promise<void> {
  await runBounded(
    states,
    fullObjectConcurrency(run.config),
    async ({ metadata }) => {
      const id = `${metadata.namespace ?? ''}/${metadata.name}`;
      try {
        const cm = await run.client.getConfigMap({ namespace: metadata.namespace ?? '', name: metadata.name }, run.signal);
        details.set(stateDetailKey(metadata), stateDetailOf(cm));
      } catch (err) {
        // Deleted since the list: it still counts by its metadata, without full-read figures.
        if (err instanceof NotFoundError) run.tally.skip('gone');
        else run.tally.fail(id, `cannot read ${id} for the feedback gauges: ${oneLine(err)}`);
      }
    },
    run.signal,
  );
}

/** Every entrypoint that pushes run metrics (runJob's `name`): every job. */
export const PUSHING_JOBS: readonly string[] = ALL_JOBS.map((job) => job.name);

export interface ReleaseGroupsOptions {
  /** The release's namespace; undefined with --all-namespaces. */
  namespace: string | undefined;
  /** The sweep's --shard-count: shard groups 0..n-1 besides the unsharded ones. */
  shardCount: number;
}

/** The groups this release's jobs push to: per job, the namespace's and `_all`, unsharded and per shard. */
export function releaseGroups(options: ReleaseGroupsOptions): Grouping[] {
  const namespaces = options.namespace !== undefined ? [options.namespace, ALL_NAMESPACES] : [ALL_NAMESPACES];
  const shards = [undefined, ...(options.shardCount > 1 ? Array.from({ length: options.shardCount }, (_, i) => i) : [])];
  return PUSHING_JOBS.flatMap((job) => namespaces.flatMap((namespace) => shards.map((shard) => (shard === undefined ? { job, namespace } : { job, namespace, shard }))));
}

/**
 * Deletes the release's groups, each counted in `tally` (planned, applied, or failed); returns
 * the paths deleted. With --all-namespaces the metrics job has also pushed one
 * group per namespace it found states in; the gateway's own group list names them.
 */
export async function deleteReleaseGroups(gateway: GatewayOptions, options: ReleaseGroupsOptions & { dryRun: boolean }, tally: Tally): Promise<string[]> {
  const groups = releaseGroups(options);
  if (options.namespace === undefined) {
    const known = new Set(groups.map(groupPath));
    for (const labels of await listGroups(gateway)) {
      if (labels.job !== 'cmstate-metrics' || labels.namespace === undefined) continue;
      const grouping: Grouping = { job: 'metrics', namespace: labels.namespace };
      if (!known.has(groupPath(grouping))) groups.push(grouping);
    }
  }
  // The paths of the groups deleted, or that a dry run would delete (a group that did not exist counts: it is gone).
  const deleted: string[] = [];
  for (const grouping of groups) {
    const path = groupPath(grouping);
    tally.observed++;
    tally.plan('delete_group');
    try {
      if (!options.dryRun) {
        await deleteGroup({ ...gateway, grouping });
        tally.apply('delete_group');
      }
      deleted.push(path);
    } catch (err) {
      tally.fail(path, `delete ${path} failed: ${oneLine(err)}`);
      // No answer at all: every other delete would only wait out the same retries.
      if (err instanceof PushError && err.status === undefined) break;
    }
  }
  return deleted;
}
