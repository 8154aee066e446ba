// The sweeper's I/O: observe (metadata pages) → plan (pure, per page) → circuit breaker → act
// (bounded, rate limited, preconditioned) → report. A conflict on any write means the state
// changed after it was observed: it is skipped and counted, never retried blindly.

import { ConflictError } from '../../src/kube/errors.js';
import { runBounded } from '../../src/job/executor.js';
import type { JobRun } from '../../src/job/runner.js';
import { RefusedError, oneLine } from '../../src/exit.js';
import { ANNOTATION_MARKED_AT, LABEL_SWEEP, SWEEP_VALUE_MARKED } from '../../src/state/labels.js';
import { checkDeleteBudget } from './breaker.js';
import { observeSweepObjects, readLastUpdate } from './observe.js';
import { attachArchives, indexArchives, needsLastUpdateFromData, planTask, type SweepAction, type SweepObjectRef, type SweepPolicy } from './plan.js';

export const SWEEP_ACTIONS = ['mark', 'unmark', 'delete'] as const;

export interface SweepOptions {
  policy: SweepPolicy;
  maxDelete?: number;
  maxDeletePercent?: number;
  force: boolean;
}

export async function sweep(run: JobRun, options: SweepOptions): Promise<void> {
  const actions = await observeAndPlan(run, options.policy);
  const deletes = actions.filter((a) => a.kind === 'delete').length;
  const verdict = checkDeleteBudget({ plannedDeletes: deletes, observed: run.tally.observed, maxDelete: options.maxDelete, maxDeletePercent: options.maxDeletePercent, force: options.force });
  if (!verdict.allowed) {
    run.tally.skip('circuit_breaker', actions.length);
    throw new RefusedError(`${verdict.reason}; nothing was changed`);
  }
  if (verdict.overridden) run.log.warn(`--force: ${verdict.overridden}`);

  if (run.planOnly) {
    for (const action of actions) printPlanned(run, action);
    return;
  }
  let done = 0;
  await runBounded(
    actions,
    run.config.concurrency,
    async (action) => {
      await act(run, action);
      done++;
      run.progress(`${done}/${actions.length} actions done`);
    },
    run.signal,
  );
  const notStarted = actions.length - done;
  if (notStarted > 0) run.tally.skip('interrupted', notStarted);
}

/** Streams metadata pages and plans each task as it arrives; only actions are kept. */
async function observeAndPlan(run: JobRun, policy: SweepPolicy): Promise<SweepAction[]> {
  const actions: SweepAction[] = [];
  const archives = new Map<string, SweepObjectRef[]>();
  const pages = observeSweepObjects(run.client, { namespace: run.namespace, pageSize: run.config.pageSize, shardIndex: run.config.shardIndex, shardCount: run.config.shardCount, signal: run.signal });
  for await (const page of pages) {
    indexArchives(page, archives);
    for (let object of page) {
      try {
        if (needsLastUpdateFromData(object, policy)) object = await readLastUpdate(run.client, object, run.signal);
      } catch (err) {
        run.tally.fail(`${object.namespace}/${object.name}`, `cannot read data.last_update of ${object.namespace}/${object.name}: ${oneLine(err)}`);
        continue;
      }
      const decision = planTask(object, policy, run.now);
      if (decision.outcome === 'not-a-task') continue;
      run.tally.observed++;
      switch (decision.outcome) {
        case 'act':
          run.tally.plan(decision.action.kind);
          actions.push(decision.action);
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
    run.progress(`${run.tally.observed} task states observed, ${actions.length} actions planned`);
  }
  return attachArchives(actions, archives);
}

function printPlanned(run: JobRun, action: SweepAction): void {
  const { namespace, name } = action.object;
  const archives = action.archives?.length ? ` (+${action.archives.length} archives)` : '';
  if (run.output === 'json') run.print(JSON.stringify({ plan: action.kind, namespace, name, archives: action.archives?.length ?? 0, reason: action.reason }));
  else run.print(`would ${action.kind} ${namespace}/${name}${archives}: ${action.reason}`);
}

async function act(run: JobRun, action: SweepAction): Promise<void> {
  const { object } = action;
  const id = `${object.namespace}/${object.name}`;
  try {
    switch (action.kind) {
      case 'mark':
        await run.client.mergePatchConfigMap(object, {
          metadata: { resourceVersion: object.resourceVersion, labels: { [LABEL_SWEEP]: SWEEP_VALUE_MARKED }, annotations: { [ANNOTATION_MARKED_AT]: action.markedAt ?? run.now.toISO() } },
        });
        await run.event({ involved: involvedOf(object), type: 'Normal', reason: 'MarkedForDeletion', action: 'Mark', message: `${action.reason}; will be deleted after ${action.deleteAfter} unless updated or labelled cmstate.io/keep=true` });
        break;
      case 'unmark':
        await run.client.mergePatchConfigMap(object, { metadata: { resourceVersion: object.resourceVersion, labels: { [LABEL_SWEEP]: null }, annotations: { [ANNOTATION_MARKED_AT]: null } } });
        await run.event({ involved: involvedOf(object), type: 'Normal', reason: 'Unmarked', action: 'Unmark', message: action.reason });
        break;
      case 'delete': {
        const outcome = await run.client.deleteConfigMap(object, { uid: object.uid, resourceVersion: object.resourceVersion });
        if (outcome === 'not-found') {
          run.tally.skip('already_gone');
          return;
        }
        await deleteArchives(run, action.archives ?? []);
        await run.event({ involved: involvedOf(object), type: 'Normal', reason: 'Deleted', action: 'Delete', message: `deleted with ${action.archives?.length ?? 0} archives: ${action.reason}` });
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

async function deleteArchives(run: JobRun, archives: SweepObjectRef[]): Promise<void> {
  for (const archive of archives) {
    try {
      await run.client.deleteConfigMap(archive, { uid: archive.uid, resourceVersion: archive.resourceVersion });
      run.tally.apply('delete_archive');
    } catch (err) {
      // Changed since observed: left for the next run (or repair, as an orphan), like any other.
      if (err instanceof ConflictError) {
        run.tally.skip('conflict');
        continue;
      }
      run.tally.fail(`${archive.namespace}/${archive.name}`, `delete archive ${archive.namespace}/${archive.name} failed: ${oneLine(err)}`);
    }
  }
}

function involvedOf(object: SweepObjectRef) {
  return { kind: 'ConfigMap', namespace: object.namespace, name: object.name, uid: object.uid, resourceVersion: object.resourceVersion };
}
