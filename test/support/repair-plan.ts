// Repair's plan for a whole set of objects at once, for tests of the pure planner: the job plans
// object by object (jobs/repair/run.ts) against the index of everything it observed.

import type { DateTime } from 'luxon';
import { ObservedIndex } from '../../jobs/repair/observed-index.js';
import { planObject, type RepairOptions, type RepairPlan } from '../../jobs/repair/plan.js';
import type { ConfigMap } from '../../src/kube/types.js';

/** Plans every object of a set observed together; by default the set is its own index. */
export function planRepair(objects: ConfigMap[], now: DateTime, options: RepairOptions = {}, index: ObservedIndex = ObservedIndex.of(objects)): RepairPlan[] {
  return objects.map((cm) => planObject(cm, index, now, options));
}
