// Observe for the snapshotter: every task state and archive, page by page, counted as observed
// (full objects to write, or metadata only for a dry run, which only counts them); and the
// snapshot directory as retention sees it.

import type { DateTime } from 'luxon';
import type { JobRun } from '../../src/job/runner.js';
import type { ConfigMap } from '../../src/kube/types.js';
import { listSnapshots, verifySnapshot, type SnapshotListing } from '../../src/snapshot/reader.js';
import { STATE_SELECTOR } from '../../src/state/labels.js';

/** The full objects, for a snapshot. */
export async function* statePages(run: JobRun): AsyncGenerator<ConfigMap[]> {
  for await (const page of run.client.listConfigMapPages(listOptions(run))) {
    run.tally.observed += page.length;
    yield page;
  }
}

/** For a dry run, which says what a snapshot would hold: the objects counted from metadata-only pages. */
export async function countStates(run: JobRun): Promise<void> {
  for await (const page of run.client.listConfigMapMetadataPages(listOptions(run))) run.tally.observed += page.length;
}

function listOptions(run: JobRun) {
  return { namespace: run.namespace, labelSelector: STATE_SELECTOR, pageSize: run.config.pageSize, pageBytes: run.config.pageBytes, signal: run.signal };
}

export interface RetentionCandidate {
  file: string;
  time: DateTime;
  verified: boolean;
  listing: SnapshotListing;
}

/**
 * Retention's view of the directory. Only the newest `keepMinGood` snapshots that verify are
 * protected, so snapshots are verified in full newest first until that many are found; the
 * older ones' flag cannot change the plan and comes from a cheap check (both files present).
 */
export async function retentionCandidates(dir: string, keepMinGood: number): Promise<RetentionCandidate[]> {
  const listings = await listSnapshots(dir);
  const candidates: RetentionCandidate[] = [];
  let good = 0;
  for (const listing of [...listings].reverse()) {
    const complete = listing.dataPresent && listing.manifest !== undefined;
    let verified = complete;
    if (complete && good < keepMinGood) verified = (await verifySnapshot(listing.file)).ok;
    if (verified) good++;
    candidates.unshift({ file: listing.file, time: listing.time, verified, listing });
  }
  return candidates;
}
