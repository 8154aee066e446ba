// Observe for repair, in two passes over the same states and archives: first their metadata (which
// tasks exist, and each task's highest archive number, so every object can be planned as it
// streams by), then the full objects page by page, this pod's shard only.

import { inShard } from '../../src/job/shard.js';
import type { JobRun } from '../../src/job/runner.js';
import type { ConfigMap } from '../../src/kube/types.js';
import { STATE_SELECTOR } from '../../src/state/labels.js';
import { ObservedIndex } from './observed-index.js';

/** First pass, metadata only: which tasks exist and their archive numbers, so every object can be planned as it streams by. */
export async function observeIndex(run: JobRun): Promise<ObservedIndex> {
  const index = new ObservedIndex();
  const pages = run.client.listConfigMapMetadataPages({ namespace: run.namespace, labelSelector: STATE_SELECTOR, pageSize: run.config.pageSize, pageBytes: run.config.pageBytes, signal: run.signal });
  for await (const page of pages) for (const item of page) index.add(item.metadata);
  return index;
}

/** Second pass, full objects page by page (this shard's). */
export async function* listedObjects(run: JobRun, index: ObservedIndex): AsyncGenerator<ConfigMap> {
  const pages = run.client.listConfigMapPages({ namespace: run.namespace, labelSelector: STATE_SELECTOR, pageSize: run.config.pageSize, pageBytes: run.config.pageBytes, signal: run.signal });
  for await (const page of pages) {
    for (const cm of page) {
      // Shards split by task id, so a task and its archives land in the same shard.
      if (!inShard(cm.metadata.name, run.config.shardIndex, run.config.shardCount)) continue;
      // A task created after the first pass: its archives (listed after it) are not orphans.
      index.add(cm.metadata);
      run.tally.observed++;
      yield cm;
    }
    run.progress(`${run.tally.observed} objects observed`);
  }
}
