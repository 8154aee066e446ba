// The sweeper's I/O in two passes, so that memory stays bounded however many states there are:
// the circuit breaker needs the whole plan's count before the first write.
//   1. plan: observe, plan per page (pure), count the actions, and keep the actions themselves
//      while they fit in half of --page-bytes (the pages take the other half), with the archive
//      index. The circuit breaker judges the counts.
//   2. act (bounded, rate limited, preconditioned) or print: the kept actions when pass 1 kept
//      them all, which spares the API server (and this client) a second list of every state;
//      otherwise observe again, plan each page again with the same `now` and policy, and act as
//      it comes, never more of a kind than pass 1 counted: an action that appeared between the
//      passes is left for the next run and counted.
// Every write carries the observed resourceVersion (deletes the uid too): a conflict means the
// state changed after it was observed (in either pass), and is skipped and counted, never
// retried blindly.

import { ConflictError } from '../../src/kube/errors.js';
import { involvedConfigMap } from '../../src/kube/types.js';
import { runBounded } from '../../src/job/executor.js';
import type { DeletionSummary } from '../../src/job/deletion-summary.js';
import type { JobRun } from '../../src/job/runner.js';
import { RefusedError, oneLine } from '../../src/exit.js';
import { readAhead } from '../../src/util/read-ahead.js';
import { ANNOTATION_MARKED_AT, LABEL_SWEEP, SWEEP_VALUE_MARKED } from '../../src/state/labels.js';
import { checkDeleteBudget } from './breaker.js';
import { observeSweepObjects, readLastUpdate } from './observe.js';
import {
  archivesOf,
  indexArchives,
  needsLastUpdateFromData,
  planTask,
  type SweepAction,
  type SweepActionKind,
  type SweepDecision,
  type SweepObject,
  type SweepObjectRef,
  type SweepPolicy,
} from './plan.js';

export interface SweepOptions {
  policy: SweepPolicy;
  maxDelete?: number;
  maxDeletePercent?: number;
  force: boolean;
}

/** What pass 1 keeps: counts, the archives of every task (few: only long histories have any), and the actions while they fit. */
interface CountedPlan {
  counts: Record<SweepActionKind, number>;
  total: number;
  /** Task states seen (the breaker's base; the summary's `observed` counts archives too). */
  taskStates: number;
  archives: Map<string, SweepObjectRef[]>;
  /** Every planned action in order; undefined when they would take more than their share of --page-bytes. */
  actions: SweepAction[] | undefined;
}

/**
 * What a kept action may cost in memory, an upper bound: its strings as UTF-16 and the objects
 * around them. A delete's reason is ~110 characters, so a kept delete counts ~640 bytes.
 */
function keptActionBytes(action: SweepAction): number {
  const { object } = action;
  const chars =
    action.reason.length +
    object.namespace.length +
    object.name.length +
    (object.uid?.length ?? 0) +
    object.resourceVersion.length +
    (action.markedAt?.length ?? 0) +
    (action.deleteAfter?.length ?? 0);
  return 2 * chars + 256;
}

export async function sweep(run: JobRun, options: SweepOptions): Promise<void> {
  const decide = decider(run, options.policy);
  // Deleted states are gone: one Event for the run names them (marks and unmarks keep theirs).
  const deleted = run.deletions({ reason: 'StatesDeleted', what: 'task states', alongside: 'archives' });
  const plan = await countPlan(run, decide);
  const verdict = checkDeleteBudget({
    plannedDeletes: plan.counts.delete,
    taskStates: plan.taskStates,
    maxDelete: options.maxDelete,
    maxDeletePercent: options.maxDeletePercent,
    force: options.force,
  });
  if (!verdict.allowed) {
    run.tally.skip('circuit_breaker', plan.total);
    throw new RefusedError(`${verdict.reason}; nothing was changed`);
  }
  if (verdict.overridden) run.log.warn(`--force: ${verdict.overridden}`);
  await carryOut(run, decide, plan, deleted);
}

/** Pass 1: streams the pages and plans each object as it arrives; only counts are kept. */
async function countPlan(run: JobRun, decide: Decide): Promise<CountedPlan> {
  const counts: Record<SweepActionKind, number> = { mark: 0, unmark: 0, delete: 0 };
  const archives = new Map<string, SweepObjectRef[]>();
  const keepBytes = Math.floor(run.config.pageBytes / 2);
  let kept: SweepAction[] | undefined = [];
  let keptBytes = 0;
  let total = 0;
  let taskStates = 0;
  for await (const page of observe(run)) {
    indexArchives(page, archives);
    run.tally.observed += page.length;
    for (const object of page) {
      const decision = await decide(object);
      if (decision === undefined || decision.outcome === 'not-a-task') continue;
      taskStates++;
      switch (decision.outcome) {
        case 'act':
          run.tally.plan(decision.action.kind);
          counts[decision.action.kind]++;
          total++;
          if (kept) {
            keptBytes += keptActionBytes(decision.action);
            // Past the budget pass 2 lists again: nothing kept is needed then.
            if (keptBytes > keepBytes) kept = undefined;
            else kept.push(decision.action);
          }
          break;
        case 'skip':
          run.tally.skip('invalid');
          run.log.warn(decision.skip.reason);
          break;
        case 'wait':
          run.log.debug({ object: decision.waiting.object.name }, decision.waiting.reason);
          break;
        default:
          break;
      }
    }
    run.progress(`planning: ${taskStates} task states observed, ${total} actions planned`);
    // SIGTERM: pass 2 starts nothing, and what was planned so far is reported as interrupted.
    if (run.signal.aborted) break;
  }
  return { counts, total, taskStates, archives, actions: kept };
}

/** Pass 2: pass 1's actions, or the same pages again with each action carried out (or printed) as its page arrives. */
async function carryOut(run: JobRun, decide: Decide, plan: CountedPlan, deleted: DeletionSummary): Promise<void> {
  const yielded: Record<SweepActionKind, number> = { mark: 0, unmark: 0, delete: 0 };
  let beyondPlan = 0;
  let done = 0;
  const withArchives = (action: SweepAction): SweepAction => (action.kind === 'delete' ? { ...action, archives: archivesOf(plan.archives, action.object) } : action);
  async function* approvedActions(): AsyncGenerator<SweepAction> {
    if (plan.actions) {
      for (const action of plan.actions) yield withArchives(action);
      return;
    }
    for await (const page of observe(run)) {
      for (const object of page) {
        // Skips and waits were counted and logged in pass 1.
        const decision = await decide(object);
        if (decision?.outcome !== 'act') continue;
        const { action } = decision;
        // The breaker approved pass 1's counts: an action that appeared since (the state
        // changed between the passes) waits for the next run rather than exceed them.
        if (yielded[action.kind] >= plan.counts[action.kind]) {
          beyondPlan++;
          continue;
        }
        yielded[action.kind]++;
        yield withArchives(action);
      }
    }
  }
  const { started } = await runBounded(
    approvedActions(),
    run.config.concurrency,
    async (action) => {
      if (run.planOnly) printPlanned(run, action);
      else await act(run, action, deleted);
      done++;
      run.progress(`${done}/${plan.total} actions done`);
    },
    run.signal,
  );
  // Planned but never started: interrupted by SIGTERM, or no longer planned when pass 2 observed again.
  const notStarted = plan.total - started;
  if (notStarted > 0) run.tally.skip(run.signal.aborted ? 'interrupted' : 'changed', notStarted);
  if (beyondPlan > 0) run.tally.skip('changed', beyondPlan);
}

/**
 * The pages of either pass, each fetched while the one before is planned or acted on. Two pages
 * are alive at once, and pass 1's kept actions may take half of --page-bytes, so each page gets a
 * quarter: the option still bounds what is held.
 */
function observe(run: JobRun): AsyncGenerator<SweepObject[]> {
  return readAhead(
    observeSweepObjects(run.client, {
      namespace: run.namespace,
      pageSize: run.config.pageSize,
      pageBytes: Math.floor(run.config.pageBytes / 4),
      shardIndex: run.config.shardIndex,
      shardCount: run.config.shardCount,
      signal: run.signal,
    }),
  );
}

type Decide = (object: SweepObject) => Promise<SweepDecision | undefined>;

/**
 * planTask for both passes. A legacy object without the last-update annotation needs a full read
 * for data.last_update; what was read is kept by resourceVersion (legacy objects only), so pass 2
 * reads it again only if it changed. Undefined when that read failed (a failure, counted once),
 * and from then on for that object.
 */
function decider(run: JobRun, policy: SweepPolicy): Decide {
  const readLastUpdates = new Map<string, { resourceVersion: string; lastUpdateFromData: string | undefined }>();
  const failedReads = new Set<string>();
  return async (object) => {
    if (!needsLastUpdateFromData(object, policy)) return planTask(object, policy, run.now);
    const id = `${object.namespace}/${object.name}`;
    // Unread in pass 1, so not planned: pass 2 leaves it alone too.
    if (failedReads.has(id)) return undefined;
    const known = readLastUpdates.get(id);
    if (known?.resourceVersion === object.resourceVersion) return planTask({ ...object, lastUpdateFromData: known.lastUpdateFromData }, policy, run.now);
    try {
      const complete = await readLastUpdate(run.client, object, run.signal);
      readLastUpdates.set(id, { resourceVersion: complete.resourceVersion, lastUpdateFromData: complete.lastUpdateFromData });
      return planTask(complete, policy, run.now);
    } catch (err) {
      run.tally.fail(id, `cannot read data.last_update of ${id}: ${oneLine(err)}`);
      failedReads.add(id);
      return undefined;
    }
  };
}

function printPlanned(run: JobRun, action: SweepAction): void {
  const { namespace, name } = action.object;
  const archives = action.archives?.length ? ` (+${action.archives.length} archives)` : '';
  if (run.output === 'json') run.print(JSON.stringify({ plan: action.kind, namespace, name, archives: action.archives?.length ?? 0, reason: action.reason }));
  else run.print(`would ${action.kind} ${namespace}/${name}${archives}: ${action.reason}`);
}

async function act(run: JobRun, action: SweepAction, deleted: DeletionSummary): Promise<void> {
  const { object } = action;
  const id = `${object.namespace}/${object.name}`;
  try {
    switch (action.kind) {
      case 'mark':
        await run.client.mergePatchConfigMap(object, {
          metadata: { resourceVersion: object.resourceVersion, labels: { [LABEL_SWEEP]: SWEEP_VALUE_MARKED }, annotations: { [ANNOTATION_MARKED_AT]: action.markedAt ?? run.now.toISO() } },
        });
        await run.event({
          involved: involvedConfigMap(object),
          type: 'Normal',
          reason: 'MarkedForDeletion',
          action: 'Mark',
          message: `${action.reason}; will be deleted after ${action.deleteAfter} unless updated or labelled cmstate.io/keep=true`,
        });
        break;
      case 'unmark':
        await run.client.mergePatchConfigMap(object, { metadata: { resourceVersion: object.resourceVersion, labels: { [LABEL_SWEEP]: null }, annotations: { [ANNOTATION_MARKED_AT]: null } } });
        await run.event({ involved: involvedConfigMap(object), type: 'Normal', reason: 'Unmarked', action: 'Unmark', message: action.reason });
        break;
      case 'delete': {
        const outcome = await run.client.deleteConfigMap(object, { uid: object.uid, resourceVersion: object.resourceVersion });
        if (outcome === 'not-found') {
          run.tally.skip('gone');
          return;
        }
        deleted.add(object, await deleteArchives(run, action.archives ?? []));
        break;
      }
    }
    run.tally.apply(action.kind);
    run.log.info({ object: id, action: action.kind }, `${action.kind} ${id}: ${action.reason}`);
  } catch (err) {
    if (err instanceof ConflictError) {
      run.tally.skip('conflict');
      run.log.info({ object: id, action: action.kind }, `skipped ${action.kind} ${id}: changed since it was observed`);
      return;
    }
    run.tally.fail(id, `${action.kind} ${id} failed: ${oneLine(err)}`);
  }
}

/** Deletes a deleted state's archives; returns how many are gone (as the tally counts them). */
async function deleteArchives(run: JobRun, archives: SweepObjectRef[]): Promise<number> {
  let deleted = 0;
  for (const archive of archives) {
    try {
      await run.client.deleteConfigMap(archive, { uid: archive.uid, resourceVersion: archive.resourceVersion });
      run.tally.apply('delete_archive');
      deleted++;
    } catch (err) {
      // Changed since observed: left for the next run (or repair, as an orphan), like any other.
      if (err instanceof ConflictError) {
        run.tally.skip('conflict');
        continue;
      }
      run.tally.fail(`${archive.namespace}/${archive.name}`, `delete archive ${archive.namespace}/${archive.name} failed: ${oneLine(err)}`);
    }
  }
  return deleted;
}
