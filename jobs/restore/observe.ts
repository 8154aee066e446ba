// Observe for restore: the snapshot file, verified whole before anything is read from it, and its
// selected objects, streamed (owners or owned ones) and counted as observed as they are handed out.

import path from 'node:path';
import type { JobRun } from '../../src/job/runner.js';
import type { ConfigMap } from '../../src/kube/types.js';
import { readSnapshot, SnapshotCorruptError, verifySnapshot } from '../../src/snapshot/reader.js';
import { ownedByConfigMap, selected, type RestoreFilter } from './plan.js';

/** Verifies the snapshot (manifest, checksums, every object) or throws: a bad file restores nothing. */
export async function verifySource(run: JobRun, from: string): Promise<void> {
  const check = await verifySnapshot(from);
  if (!check.ok) throw new SnapshotCorruptError(`refusing to restore ${from}: ${check.error}; nothing was changed`, check.object);
  run.log.info({ file: check.file, objects: check.objects, createdAt: check.manifest.createdAt, namespaces: check.manifest.namespaces }, `verified ${path.basename(check.file)}`);
}

/** The snapshot's objects that `filter` selects, in file order. */
export async function* selectedObjects(from: string, filter: RestoreFilter): AsyncGenerator<ConfigMap> {
  for await (const cm of readSnapshot(from)) if (selected(cm, filter)) yield cm;
}

/** The selected owners (task states), or the selected owned objects (archives), each counted as observed. */
export async function* objectsToRestore(run: JobRun, from: string, filter: RestoreFilter, owned: boolean): AsyncGenerator<ConfigMap> {
  for await (const cm of selectedObjects(from, filter)) {
    if (ownedByConfigMap(cm) !== owned) continue;
    run.tally.observed++;
    yield cm;
  }
}
