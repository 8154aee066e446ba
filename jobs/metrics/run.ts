// The metrics job: observe the task states (./observe.ts), compute the state gauges (pure, in
// src/metrics/state-gauges.ts) and hand them to the runner, which pushes them with the run
// metrics. --delete-group is ./groups.ts.

import type { JobRun } from '../../src/job/runner.js';
import { computeStateGauges, stateGaugesRegistry } from '../../src/metrics/state-gauges.js';
import { observeStates } from './observe.js';

/** The metrics job only reads: it has no actions. */
export interface CollectOptions {
  /** Read every state in full for iteration, size, feedback and outcome metrics. */
  withFeedback: boolean;
  /** --stuck-after in seconds. */
  stuckAfterSeconds: number;
  /** --flapping-after. */
  flappingAfter: number;
}

export async function collectStateMetrics(run: JobRun, options: CollectOptions): Promise<void> {
  const { objects, details, outcomes } = await observeStates(run, options);
  // Gauges from part of the states would understate every count: better none than wrong ones.
  if (run.signal.aborted) return;

  const values = computeStateGauges(objects, run.now, { details, outcomes, stuckAfterSeconds: options.stuckAfterSeconds, namespaces: run.namespace !== undefined ? [run.namespace] : [] });
  run.exportMetrics({
    namespaces: values.map((v) => v.namespace),
    registry: (namespaces) => stateGaugesRegistry(values.filter((v) => namespaces.includes(v.namespace))),
  });
}
