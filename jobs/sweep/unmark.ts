// `cmstate sweep unmark`: the undo of a soft delete, by task id or label selector. The write is
// preconditioned like every other, so it never overwrites a change it did not see.

import { ConflictError, NotFoundError } from '../../src/kube/errors.js';
import type { JobRun } from '../../src/job/runner.js';
import { oneLine } from '../../src/exit.js';
import type { ConfigMap, ObjectMeta } from '../../src/kube/types.js';
import { ANNOTATION_MARKED_AT, LABEL_STATE, LABEL_SWEEP, STATE_VALUE_TASK, SWEEP_VALUE_MARKED, stateConfigMapName } from '../../src/state/labels.js';

export async function unmark(run: JobRun, target: { ids: string[]; selector?: string }): Promise<void> {
  const namespace = run.namespace;
  for await (const meta of targets(run, target)) {
    if (run.signal.aborted) return;
    run.tally.observed++;
    const id = `${meta.namespace}/${meta.name}`;
    if (meta.labels?.[LABEL_SWEEP] !== SWEEP_VALUE_MARKED) {
      run.tally.skip('not_marked');
      run.print(`${id}: not marked, nothing to do`);
      continue;
    }
    run.tally.plan('unmark');
    if (run.planOnly) {
      run.print(`would unmark ${id}`);
      continue;
    }
    try {
      await run.client.mergePatchConfigMap(
        { namespace: meta.namespace ?? namespace ?? '', name: meta.name },
        { metadata: { resourceVersion: meta.resourceVersion, labels: { [LABEL_SWEEP]: null }, annotations: { [ANNOTATION_MARKED_AT]: null } } },
      );
      run.tally.apply('unmark');
      run.print(`unmarked ${id}`);
    } catch (err) {
      if (err instanceof ConflictError) {
        run.tally.skip('conflict');
        run.print(`${id}: changed meanwhile, run the command again`);
      } else run.tally.fail(id, `unmark ${id} failed: ${oneLine(err)}`);
    }
  }
}

async function* targets(run: JobRun, target: { ids: string[]; selector?: string }): AsyncGenerator<ObjectMeta> {
  if (target.selector) {
    const labelSelector = `${LABEL_STATE}=${STATE_VALUE_TASK},${LABEL_SWEEP}=${SWEEP_VALUE_MARKED},${target.selector}`;
    for await (const page of run.client.listConfigMapMetadataPages({ namespace: run.namespace, labelSelector, pageSize: run.config.pageSize, pageBytes: run.config.pageBytes, signal: run.signal })) {
      for (const item of page) yield item.metadata;
    }
  }
  if (target.ids.length === 0) return;
  if (run.namespace === undefined) {
    run.tally.fail('(ids)', 'task ids name states in one namespace: use --namespace, not --all-namespaces');
    return;
  }
  for (const taskId of target.ids) {
    const name = stateConfigMapName(taskId);
    let cm: ConfigMap;
    try {
      cm = await run.client.getConfigMap({ namespace: run.namespace, name });
    } catch (err) {
      run.tally.fail(`${run.namespace}/${name}`, err instanceof NotFoundError ? `no task state ${run.namespace}/${name}` : oneLine(err));
      continue;
    }
    yield cm.metadata;
  }
}
