// --delete-group: this release's groups on the Pushgateway, and their removal when it is
// uninstalled, without talking to the API server at all.

import { oneLine } from '../../src/exit.js';
import { ALL_JOBS } from '../../src/job/descriptors.js';
import type { Tally } from '../../src/job/tally.js';
import { ALL_NAMESPACES, deleteGroup, groupPath, listGroups, PushError, type GatewayOptions, type Grouping } from '../../src/metrics/pushgateway.js';

export interface ReleaseGroupsOptions {
  /** The release's namespace; undefined with --all-namespaces. */
  namespace: string | undefined;
  /** The release's --shard-count: shard groups 0..n-1 of the shardable jobs, besides the unsharded ones. */
  shardCount: number;
}

/** The groups this release's jobs push to: per job, the namespace's and `_all`, unsharded and (shardable jobs) per shard. */
export function releaseGroups(options: ReleaseGroupsOptions): Grouping[] {
  const namespaces = options.namespace !== undefined ? [options.namespace, ALL_NAMESPACES] : [ALL_NAMESPACES];
  const shardIndexes = options.shardCount > 1 ? Array.from({ length: options.shardCount }, (_, i) => i) : [];
  return ALL_JOBS.flatMap(({ name: job, shardable }) => namespaces.flatMap((namespace) => [{ job, namespace }, ...(shardable ? shardIndexes.map((shard) => ({ job, namespace, shard })) : [])]));
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
