// Observe for the sweeper: metadata-only pages of task states and archives, filtered to this
// pod's shard, turned into the planner's SweepObjects. Data is read only for legacy objects that
// lack the last-update annotation.

import type { KubeClient } from '../../src/kube/client.js';
import type { ObjectMetadata } from '../../src/kube/types.js';
import { DATA_KEYS, STATE_SELECTOR, ownerConfigMapName } from '../../src/state/labels.js';
import { inShard } from '../../src/job/shard.js';
import type { SweepObject } from './plan.js';

export interface ObserveOptions {
  namespace: string | undefined;
  pageSize: number;
  pageBytes: number;
  shardIndex: number;
  shardCount: number;
  signal?: AbortSignal;
}

export async function* observeSweepObjects(client: KubeClient, options: ObserveOptions): AsyncGenerator<SweepObject[]> {
  const pages = client.listConfigMapMetadataPages({ namespace: options.namespace, labelSelector: STATE_SELECTOR, pageSize: options.pageSize, pageBytes: options.pageBytes, signal: options.signal });
  // One shard is every object: no name to hash.
  const sharded = options.shardCount > 1;
  for await (const page of pages) {
    yield (sharded ? page.filter((item) => inShard(item.metadata.name, options.shardIndex, options.shardCount)) : page).map(toSweepObject);
  }
}

export function toSweepObject(item: ObjectMetadata): SweepObject {
  const meta = item.metadata;
  return {
    namespace: meta.namespace ?? '',
    name: meta.name,
    uid: meta.uid,
    resourceVersion: meta.resourceVersion ?? '',
    labels: meta.labels ?? {},
    annotations: meta.annotations ?? {},
    ownerName: ownerConfigMapName(meta),
  };
}

/** The fallback for objects written without the annotation: one full read, data.last_update. */
export async function readLastUpdate(client: KubeClient, object: SweepObject, signal?: AbortSignal): Promise<SweepObject> {
  const full = await client.getConfigMap({ namespace: object.namespace, name: object.name }, signal);
  // The full read is newer than the list: its metadata and resourceVersion are what to decide on.
  return { ...toSweepObject(full), lastUpdateFromData: full.data?.[DATA_KEYS.last_update] };
}
