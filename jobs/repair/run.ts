// The repair job's I/O: observe (an index of names, then full pages) → plan (pure, per object) →
// save the original of every object to change in one snapshot, committed before any write → act
// (bounded, rate limited, each write under the saved resourceVersion) → report.
//
// Memory is bounded by bytes, not by the number of objects to change: pages are bounded by
// --page-bytes, and planning keeps only a reference to each object to change (its original goes
// straight into the snapshot). Acting reads each object again, one request more per changed
// object, and plans it again from what it reads.
//
// A conflict means a controller wrote the object meanwhile (between the snapshot and the write):
// it is read again and planned once more; what still needs a change is saved in a second snapshot
// and written once, and a second conflict skips it (counted). Nothing is written that is not in a
// committed snapshot first.

import type { ObservedIndex } from './observed-index.js';
import { listedObjects, observeIndex } from './observe.js';
import { planObject, type RepairOptions, type RepairPlan } from './plan.js';
import type { JOBS } from '../../src/job/descriptors.js';
import { describeChanges } from './diff.js';
import { RuleCounts } from './report.js';
import { runBounded } from '../../src/job/executor.js';
import { fullObjectConcurrency } from '../../src/kube/list-stream.js';
import type { DeletionSummary } from '../../src/job/deletion-summary.js';
import type { JobRun } from '../../src/job/runner.js';
import { UsageError, oneLine } from '../../src/exit.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../src/kube/errors.js';
import { involvedConfigMap, type ConfigMap, type ObjectRef } from '../../src/kube/types.js';
import { SnapshotWriter } from '../../src/snapshot/writer.js';
import { ANNOTATION_QUARANTINED, LABEL_STATE, STATE_VALUE_ARCHIVE, STATE_SELECTOR, ownerConfigMapName, taskOfArchive } from '../../src/state/labels.js';

/** Summary action names (planned/applied), snake_case like the rest of the summary. */
const ACTION_NAME: Record<Exclude<RepairPlan['action'], 'none'>, (typeof JOBS.repair.actions)[number]> = { replace: 'repair', quarantine: 'quarantine', 'delete-orphan': 'delete_orphan' };

/** Event messages are cut here; the log line has the whole reasons. */
const EVENT_MESSAGE_MAX = 1000;

export interface RepairRunOptions {
  /** Where the originals go before anything changes; required unless nothing is persisted (dry runs). */
  snapshotDir?: string;
  plan: RepairOptions;
}

/** An object to change, as saved: acting reads it again and goes on only if it is still this version. */
interface Saved {
  ref: ObjectRef;
  resourceVersion: string;
}

export async function repair(run: JobRun, options: RepairRunOptions): Promise<RuleCounts> {
  const counts = new RuleCounts();
  // Deleted orphans are gone: one Event for the run names them (repairs and quarantines keep theirs).
  const deleted = run.deletions({ reason: 'OrphanArchivesDeleted', what: 'orphan archives' });
  const index = await observeIndex(run);
  const listed = listedObjects(run, index);
  const first = await planAndSave(run, options, index, listed, (plan) => {
    counts.found(plan);
    if (plan.action === 'none') {
      if (plan.quarantined) run.tally.skip('quarantined');
      return false;
    }
    run.tally.plan(ACTION_NAME[plan.action]);
    if (run.planOnly) printPlanned(run, plan);
    return !run.planOnly;
  });
  const conflicted = await act(run, index, options.plan, first, counts, deleted);
  if (conflicted.length > 0 && run.signal.aborted) run.tally.skip('interrupted', conflicted.length);
  else if (conflicted.length > 0) {
    const again = await planAndSave(run, options, index, reread(run, index, conflicted), (plan) => {
      if (plan.action !== 'none') return true;
      run.tally.skip('changed');
      run.log.info({ object: idOf(plan.object) }, `${idOf(plan.object)} needs nothing any more after a concurrent write`);
      return false;
    });
    for (const saved of await act(run, index, options.plan, again, counts, deleted)) {
      run.tally.skip('conflict');
      run.log.info({ object: refId(saved.ref) }, `skipped ${refId(saved.ref)}: changed again while it was repaired`);
    }
  }
  report(run, counts);
  return counts;
}

/**
 * Plans each object; those `keep` accepts are saved to a new snapshot as they stream by and
 * returned as references. The snapshot is committed before this returns, so before any write.
 */
async function planAndSave(run: JobRun, options: RepairRunOptions, index: ObservedIndex, objects: AsyncIterable<ConfigMap>, keep: (plan: RepairPlan) => boolean): Promise<Saved[]> {
  const saved: Saved[] = [];
  let writer: SnapshotWriter | undefined;
  try {
    for await (const cm of objects) {
      let plan: RepairPlan;
      try {
        plan = planObject(cm, index, run.now, options.plan);
      } catch (err) {
        run.tally.fail(idOf(cm), `cannot plan ${idOf(cm)}: ${oneLine(err)}`);
        continue;
      }
      if (!keep(plan)) continue;
      // A server dry run persists nothing, so there is nothing to keep.
      if (run.dryRun === 'none') {
        writer ??= await openSnapshot(run, options);
        await writer.add(cm);
      }
      saved.push({ ref: refOf(cm), resourceVersion: cm.metadata.resourceVersion ?? '' });
    }
  } catch (err) {
    await writer?.abort();
    throw err;
  }
  if (writer) {
    const committed = await writer.commit();
    run.log.info({ snapshot: committed.file, objects: committed.objects, bytes: committed.bytes }, `saved the originals of ${committed.objects} objects in ${committed.file}`);
  }
  return saved;
}
async function openSnapshot(run: JobRun, options: RepairRunOptions): Promise<SnapshotWriter> {
  if (options.snapshotDir === undefined) throw new UsageError('repair needs a snapshot directory (--snapshot-dir) to save the originals in before it changes anything');
  return SnapshotWriter.create(options.snapshotDir, { namespaces: run.namespace === undefined ? 'all' : [run.namespace], selector: STATE_SELECTOR, reason: 'repair', now: run.now });
}

/**
 * Acts on the saved objects, each read again: planned again and acted on when it is still the
 * saved version; returned as conflicted when it changed since (or the write met a newer one).
 */
async function act(run: JobRun, index: ObservedIndex, options: RepairOptions, saved: Saved[], counts: RuleCounts, deleted: DeletionSummary): Promise<Saved[]> {
  const conflicted: Saved[] = [];
  let done = 0;
  const result = await runBounded(
    saved,
    fullObjectConcurrency(run.config),
    async (object) => {
      const outcome = await actOn(run, index, options, object, deleted);
      if (outcome === 'conflict') conflicted.push(object);
      else if (outcome !== 'not-done') counts.done(outcome);
      done++;
      run.progress(`${done}/${saved.length} objects changed`);
    },
    run.signal,
  );
  if (result.started < saved.length) run.tally.skip('interrupted', saved.length - result.started);
  return conflicted;
}

/** One saved object: the plan carried out, `conflict`, or `not-done` (gone, or failed: counted in the tally). */
async function actOn(run: JobRun, index: ObservedIndex, options: RepairOptions, saved: Saved, deleted: DeletionSummary): Promise<RepairPlan | 'conflict' | 'not-done'> {
  const id = refId(saved.ref);
  let cm: ConfigMap;
  try {
    cm = await run.client.getConfigMap(saved.ref, run.signal);
  } catch (err) {
    if (err instanceof NotFoundError) run.tally.skip('gone');
    else run.tally.fail(id, `cannot read ${id} again to change it: ${oneLine(err)}`);
    return 'not-done';
  }
  if (cm.metadata.resourceVersion !== saved.resourceVersion) {
    run.log.info({ object: id }, `${id} changed since its original was saved: reading it again`);
    return 'conflict';
  }
  const plan = planObject(cm, index, run.now, options);
  if (plan.action === 'none') {
    run.tally.skip('changed');
    return 'not-done';
  }
  const outcome = await carryOut(run, plan, deleted);
  return outcome === 'done' ? plan : outcome;
}

/**
 * Carries out one plan: `done`; `conflict` when the object changed since it was read; `not-done`
 * when it is gone or the write failed (counted in the tally, not in the per-rule table).
 */
async function carryOut(run: JobRun, plan: RepairPlan, deleted: DeletionSummary): Promise<'done' | 'conflict' | 'not-done'> {
  const id = idOf(plan.object);
  const meta = plan.object.metadata;
  const ref: ObjectRef = { namespace: meta.namespace ?? '', name: meta.name };
  const reasons = plan.reasons.join('; ');
  try {
    switch (plan.action) {
      case 'replace': {
        const written = await replaceWithArchives(run, plan);
        await run.event({ involved: involvedConfigMap(written.metadata), type: 'Normal', reason: 'Repaired', action: 'Repair', message: eventMessage(`repaired (${rulesOf(plan)}): ${reasons}`) });
        break;
      }
      case 'quarantine': {
        const patched = await run.client.mergePatchConfigMap(
          ref,
          { metadata: { resourceVersion: meta.resourceVersion, annotations: { [ANNOTATION_QUARANTINED]: plan.quarantineReason } } },
          run.signal,
        );
        await run.event({
          involved: involvedConfigMap(patched.metadata),
          type: 'Warning',
          reason: 'Quarantined',
          action: 'Quarantine',
          message: eventMessage(`quarantined (${rulesOf(plan)}): ${plan.quarantineReason ?? ''}`),
        });
        break;
      }
      case 'delete-orphan': {
        const outcome = await run.client.deleteConfigMap(ref, { uid: meta.uid, resourceVersion: meta.resourceVersion }, run.signal);
        if (outcome === 'not-found') {
          run.tally.skip('gone');
          return 'not-done';
        }
        deleted.add(ref);
        break;
      }
      case 'none':
        return 'done';
    }
    run.tally.apply(ACTION_NAME[plan.action]);
    run.log.info({ object: id, action: plan.action, rules: [...new Set(plan.findings.map((f) => f.rule))] }, `${plan.action} ${id}: ${reasons}`);
    return 'done';
  } catch (err) {
    if (err instanceof ConflictError) {
      run.log.info({ object: id, action: plan.action }, `${id} changed since it was read: reading it again`);
      return 'conflict';
    }
    if (err instanceof NotFoundError) {
      run.tally.skip('gone');
      return 'not-done';
    }
    run.tally.fail(id, `${plan.action} ${id} failed: ${oneLine(err)}`);
    return 'not-done';
  }
}

/**
 * New archives first (the entries must exist somewhere before the state stops holding them), then
 * the state. A failed write removes the archives it created, unless the state may hold the
 * repaired data after all: a retried write whose first answer was lost fails (409) although it
 * landed, and then the state needs those archives.
 */
async function replaceWithArchives(run: JobRun, plan: RepairPlan): Promise<ConfigMap> {
  const created: ConfigMap[] = [];
  try {
    for (const archive of plan.newArchives ?? []) created.push(await run.client.createConfigMap(archive, run.signal));
    const written = await run.client.replaceConfigMap(plan.repaired!, run.signal);
    if (created.length > 0) run.tally.apply('create_archive', created.length);
    return written;
  } catch (err) {
    if (created.length > 0) {
      const now = await stateAfterFailedWrite(run, plan);
      if (now.holds === 'repaired') {
        run.tally.apply('create_archive', created.length);
        return now.state;
      }
      if (now.holds === 'unknown') {
        run.log.warn(`kept ${created.length} new archives of ${idOf(plan.object)}: cannot tell whether the repaired state was written (${now.why})`);
        throw err;
      }
    }
    for (const archive of created) {
      const { namespace = '', name, uid } = archive.metadata;
      await run.client
        .deleteConfigMap({ namespace, name }, { uid })
        .catch((cleanup: unknown) => run.log.warn(`could not remove archive ${namespace}/${name} after a failed repair: ${oneLine(cleanup)}`));
    }
    // Another writer took the archive's name: the task changed meanwhile.
    if (err instanceof AlreadyExistsError) throw new ConflictError(`archive ${err.context.name} was created by another writer`, 409, err.context);
    throw err;
  }
}

/** What the state holds after a failed write: the repaired data, something else (or nothing), or unknown. */
async function stateAfterFailedWrite(run: JobRun, plan: RepairPlan): Promise<{ holds: 'repaired'; state: ConfigMap } | { holds: 'other' } | { holds: 'unknown'; why: string }> {
  const { namespace = '', name } = plan.object.metadata;
  const repaired = plan.repaired!;
  try {
    const state = await run.client.getConfigMap({ namespace, name }, run.signal);
    const same = JSON.stringify([state.data, state.binaryData]) === JSON.stringify([repaired.data, repaired.binaryData]);
    return same ? { holds: 'repaired', state } : { holds: 'other' };
  } catch (err) {
    return err instanceof NotFoundError ? { holds: 'other' } : { holds: 'unknown', why: oneLine(err) };
  }
}

/** The conflicted objects, each read again (and, for an archive, whether its task exists now). */
async function* reread(run: JobRun, index: ObservedIndex, conflicted: Saved[]): AsyncGenerator<ConfigMap> {
  for (const { ref } of conflicted) {
    try {
      const cm = await run.client.getConfigMap(ref, run.signal);
      if (cm.metadata.labels?.[LABEL_STATE] === STATE_VALUE_ARCHIVE) await refreshParent(run, index, cm);
      yield cm;
    } catch (err) {
      if (err instanceof NotFoundError) run.tally.skip('gone');
      else run.tally.fail(refId(ref), `cannot read ${refId(ref)} again after a conflict: ${oneLine(err)}`);
    }
  }
}

/** Before an archive is planned again, whether its task exists now. */
async function refreshParent(run: JobRun, index: ObservedIndex, archive: ConfigMap): Promise<void> {
  const parent = taskOfArchive({ ...archive.metadata, ownerName: ownerConfigMapName(archive.metadata) });
  const namespace = archive.metadata.namespace ?? '';
  if (parent === undefined || index.hasTask(namespace, parent)) return;
  try {
    index.add((await run.client.getConfigMap({ namespace, name: parent }, run.signal)).metadata);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

function printPlanned(run: JobRun, plan: RepairPlan): void {
  const { namespace = '', name } = plan.object.metadata;
  const changes = describeChanges(plan);
  if (run.output === 'json') {
    run.print(
      JSON.stringify({
        plan: ACTION_NAME[plan.action as Exclude<RepairPlan['action'], 'none'>],
        namespace,
        name,
        findings: plan.findings.map(({ rule, severity, message }) => ({ rule, severity, message })),
        reasons: plan.reasons,
        changes,
      }),
    );
    return;
  }
  const lines = [
    `${namespace}/${name}: would ${plan.action.replace('-', ' ')}`,
    ...plan.findings.map((f) => `  finding ${f.rule}${f.severity === 'warning' ? ' (warning)' : ''}: ${f.message}`),
    ...plan.reasons.map((r) => `  why: ${r}`),
    ...changes.map((c) => `    ${c}`),
  ];
  run.print(lines.join('\n'));
}

function report(run: JobRun, counts: RuleCounts): void {
  const rules = counts.toJSON();
  run.log.info({ rules }, `${run.job}: findings by rule`);
  if (run.output === 'json') run.print(JSON.stringify({ rules }));
  else run.print(counts.format().join('\n'));
}

function rulesOf(plan: RepairPlan): string {
  return [...new Set(plan.findings.map((f) => f.rule))].join(', ');
}

function eventMessage(text: string): string {
  return text.length > EVENT_MESSAGE_MAX ? `${text.slice(0, EVENT_MESSAGE_MAX - 1)}…` : text;
}

function idOf(cm: ConfigMap): string {
  return refId(refOf(cm));
}

function refOf(cm: ConfigMap): ObjectRef {
  return { namespace: cm.metadata.namespace ?? '', name: cm.metadata.name };
}

function refId(ref: ObjectRef): string {
  return `${ref.namespace}/${ref.name}`;
}
