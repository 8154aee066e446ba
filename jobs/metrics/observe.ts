// Observe for the metrics job: the task states from a metadata-only paged list, keeping only
// what the gauges read, and with --with-feedback one full read per state for the figures only
// the data has: its detail, and its outcome added to its namespace's tally at once (a state's
// history is never kept).

import { oneLine } from '../../src/exit.js';
import { runBounded } from '../../src/job/executor.js';
import type { JobRun } from '../../src/job/runner.js';
import { NotFoundError } from '../../src/kube/errors.js';
import { fullObjectConcurrency } from '../../src/kube/list-stream.js';
import type { ObjectMetadata } from '../../src/kube/types.js';
import { OutcomeTally, taskOutcomeOf } from '../../src/metrics/outcomes.js';
import { stateDetailKey, stateDetailOf, type StateDetail } from '../../src/metrics/state-gauges.js';
import { ANNOTATION_LAST_UPDATE, ANNOTATION_QUARANTINED, LABEL_STATE, LABEL_STATUS, LABEL_SWEEP, TASK_SELECTOR } from '../../src/state/labels.js';

export interface ObservedStates {
  objects: ObjectMetadata[];
  /** With --with-feedback: each state's full-read figures, by stateDetailKey. */
  details: Map<string, StateDetail> | undefined;
  /** With --with-feedback: the outcomes by namespace. */
  outcomes: Map<string, OutcomeTally> | undefined;
}

export interface ObserveOptions {
  withFeedback: boolean;
  /** --flapping-after. */
  flappingAfter: number;
}

export async function observeStates(run: JobRun, { withFeedback, flappingAfter }: ObserveOptions): Promise<ObservedStates> {
  const objects: ObjectMetadata[] = [];
  const details = withFeedback ? new Map<string, StateDetail>() : undefined;
  const outcomes = withFeedback ? new Map<string, OutcomeTally>() : undefined;
  const pages = run.client.listConfigMapMetadataPages({ namespace: run.namespace, labelSelector: TASK_SELECTOR, pageSize: run.config.pageSize, pageBytes: run.config.pageBytes, signal: run.signal });
  for await (const page of pages) {
    const states = page.map(gaugeFields);
    objects.push(...states);
    run.tally.observed += states.length;
    if (details && outcomes) await readDetails(run, states, { details, outcomes, flappingAfter });
    run.progress(`${run.tally.observed} task states observed`);
  }
  return { objects, details, outcomes };
}

// Only what the gauges read is kept, so a namespace of 100k states costs little memory.
function gaugeFields({ metadata }: ObjectMetadata): ObjectMetadata {
  const pick = (from: Record<string, string> | undefined, keys: string[]) => Object.fromEntries(keys.flatMap((key) => (from?.[key] !== undefined ? [[key, from[key]]] : [])));
  return {
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace,
      labels: pick(metadata.labels, [LABEL_STATE, LABEL_STATUS, LABEL_SWEEP]),
      annotations: pick(metadata.annotations, [ANNOTATION_LAST_UPDATE, ANNOTATION_QUARANTINED]),
    },
  };
}

interface FullReads {
  details: Map<string, StateDetail>;
  outcomes: Map<string, OutcomeTally>;
  flappingAfter: number;
}

async function readDetails(run: JobRun, states: ObjectMetadata[], { details, outcomes, flappingAfter }: FullReads): Promise<void> {
  await runBounded(
    states,
    fullObjectConcurrency(run.config),
    async ({ metadata }) => {
      const id = `${metadata.namespace ?? ''}/${metadata.name}`;
      try {
        const cm = await run.client.getConfigMap({ namespace: metadata.namespace ?? '', name: metadata.name }, run.signal);
        const detail = stateDetailOf(cm);
        details.set(stateDetailKey(metadata), detail);
        const namespace = metadata.namespace ?? '';
        let tally = outcomes.get(namespace);
        if (!tally) outcomes.set(namespace, (tally = new OutcomeTally()));
        tally.add(taskOutcomeOf(cm, { status: detail.status, iteration: detail.iteration, flappingAfter }));
      } catch (err) {
        // Deleted since the list: it still counts by its metadata, without full-read figures.
        if (err instanceof NotFoundError) run.tally.skip('gone');
        else run.tally.fail(id, `cannot read ${id} for the feedback gauges: ${oneLine(err)}`);
      }
    },
    run.signal,
  );
}
