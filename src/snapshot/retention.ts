// Which snapshots to delete after a successful snapshot. Pure: the directory listing, the policy
// and the clock come in; the job deletes what comes out.
//
// --keep-last and --max-age are limits: a snapshot goes when it is beyond the newest N, or older
// than the maximum age. Either way, the newest --keep-min-good snapshots that verify always stay,
// so a run of damaged or incomplete snapshots can never leave the directory without a good one.
// With neither limit set, nothing is deleted.

import type { DateTime, Duration } from 'luxon';

export interface RetentionCandidate {
  file: string;
  time: DateTime;
  verified: boolean;
}

export interface RetentionPolicy {
  /** Keep at most the newest this many snapshots (verified or not). */
  keepLast?: number;
  /** Delete snapshots older than this. */
  maxAge?: Duration;
  /** Never delete the newest this many snapshots that verify. */
  keepMinGood: number;
}

export interface RetentionPlan<T extends RetentionCandidate> {
  /** Newest first. */
  keep: T[];
  /** Newest first. */
  delete: T[];
}

/** Splits `snapshots` into what to keep and what to delete; ties in time keep the input's order (later = newer). */
export function planRetention<T extends RetentionCandidate>(snapshots: readonly T[], policy: RetentionPolicy, now: DateTime): RetentionPlan<T> {
  const newestFirst = snapshots
    .map((snapshot, order) => ({ snapshot, order }))
    .sort((a, b) => b.snapshot.time.toMillis() - a.snapshot.time.toMillis() || b.order - a.order)
    .map(({ snapshot }) => snapshot);
  const cutoff = policy.maxAge ? now.minus(policy.maxAge).toMillis() : undefined;
  const keep: T[] = [];
  const remove: T[] = [];
  let newerGood = 0;
  newestFirst.forEach((snapshot, rank) => {
    const beyondLast = policy.keepLast !== undefined && rank >= policy.keepLast;
    const tooOld = cutoff !== undefined && snapshot.time.toMillis() < cutoff;
    const protectedGood = snapshot.verified && newerGood < policy.keepMinGood;
    if (snapshot.verified) newerGood++;
    if ((beyondLast || tooOld) && !protectedGood) remove.push(snapshot);
    else keep.push(snapshot);
  });
  return { keep, delete: remove };
}
