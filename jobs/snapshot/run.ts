// `cmstate snapshot`: page through the state ConfigMaps (full objects) into one snapshot file,
// check that it verifies, then apply retention to the directory. A run that fails or is stopped
// leaves no snapshot behind and deletes nothing.

import { rm } from 'node:fs/promises';
import path from 'node:path';
import { oneLine } from '../../src/exit.js';
import type { JobRun } from '../../src/job/runner.js';
import { STATE_SELECTOR } from '../../src/state/labels.js';
import { SnapshotCorruptError, verifySnapshot } from '../../src/snapshot/reader.js';
import { planRetention, type RetentionPolicy } from '../../src/snapshot/retention.js';
import { SnapshotWriter } from '../../src/snapshot/writer.js';
import { countStates, retentionCandidates, statePages } from './observe.js';

/** Task states and their archives: everything the snapshot store backs up. */
export interface SnapshotOptions {
  dir: string;
  /** Undefined: no retention (neither --keep-last nor --max-age). */
  retention: RetentionPolicy | undefined;
}

export class SnapshotInterruptedError extends Error {
  override name = 'SnapshotInterruptedError';
}

export async function snapshot(run: JobRun, options: SnapshotOptions): Promise<void> {
  // A dry run of either kind writes and deletes no file: it counts what a snapshot would hold
  // (metadata only) and says which files retention would delete.
  const preview = run.dryRun !== 'none';
  run.tally.plan('snapshot');
  if (preview) await previewSnapshot(run, options.dir);
  else await writeSnapshot(run, options.dir);
  if (options.retention) await applyRetention(run, options.dir, options.retention, preview);
}

/** Writes, commits and verifies one snapshot of every state and archive. */
async function writeSnapshot(run: JobRun, dir: string): Promise<void> {
  const writer = await SnapshotWriter.create(dir, { namespaces: run.namespace === undefined ? 'all' : [run.namespace], selector: STATE_SELECTOR, reason: 'snapshot', now: run.now });
  let committed;
  try {
    for await (const page of statePages(run)) {
      for (const cm of page) await writer.add(cm);
      run.progress(`${run.tally.observed} objects written`);
      if (run.signal.aborted) throw new SnapshotInterruptedError('stopped by a signal: the partial snapshot was discarded');
    }
    committed = await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  const check = await verifySnapshot(committed.file);
  if (!check.ok) throw new SnapshotCorruptError(`the snapshot just written does not verify, retention skipped: ${check.error}`, check.object);
  run.tally.apply('snapshot');
  run.log.info({ file: committed.file, objects: committed.objects, bytes: committed.bytes }, `wrote snapshot ${committed.file}`);
  say(
    run,
    { snapshot: committed.file, manifest: committed.manifestFile, objects: committed.objects, bytes: committed.bytes },
    `wrote ${committed.file}: ${committed.objects} objects, ${committed.bytes} bytes`,
  );
}

/** What a snapshot would hold, from a metadata-only list. */
async function previewSnapshot(run: JobRun, dir: string): Promise<void> {
  await countStates(run);
  say(run, { plan: 'snapshot', dir, objects: run.tally.observed }, `would write a snapshot of ${run.tally.observed} objects to ${dir}`);
}

/** Deletes (or, previewing, names) the snapshots the retention policy lets go; a preview counts the snapshot it did not write. */
async function applyRetention(run: JobRun, dir: string, policy: RetentionPolicy, preview: boolean): Promise<void> {
  const candidates = await retentionCandidates(dir, policy.keepMinGood);
  const upcoming = preview ? [{ file: '(the new snapshot)', time: run.now, verified: true, listing: undefined }] : [];
  const plan = planRetention([...candidates, ...upcoming], policy, run.now);
  for (const old of plan.delete) {
    run.tally.plan('delete_snapshot');
    if (preview) {
      say(run, { plan: 'delete_snapshot', file: old.file }, `would delete ${old.file} (retention)`);
      continue;
    }
    try {
      // The manifest first: a snapshot half deleted must not look complete.
      if (old.listing?.manifestFile) await rm(old.listing.manifestFile, { force: true });
      await rm(old.file, { force: true });
      run.tally.apply('delete_snapshot');
      run.log.info({ file: old.file, time: old.time.toISO(), verified: old.verified }, `retention deleted ${path.basename(old.file)}`);
    } catch (err) {
      run.tally.fail(old.file, `could not delete snapshot ${old.file}: ${oneLine(err)}`);
    }
  }
  if (!preview) run.log.info({ kept: plan.keep.length, deleted: plan.delete.length }, `retention kept ${plan.keep.length} snapshots`);
}

function say(run: JobRun, json: Record<string, unknown>, text: string): void {
  run.print(run.output === 'json' ? JSON.stringify(json) : text);
}
