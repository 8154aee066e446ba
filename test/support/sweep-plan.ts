// The sweeper's decisions for a whole set of objects at once, for tests of the pure planner: the
// job itself plans page by page (jobs/sweep/run.ts), with the same planTask and archive index.

import type { DateTime } from 'luxon';
import { archivesOf, indexArchives, planTask, type SweepAction, type SweepObject, type SweepPolicy, type SweepSkip, type SweepWaiting } from '../../jobs/sweep/plan.js';
import { LABEL_STATE, STATE_VALUE_ARCHIVE } from '../../src/state/labels.js';

/**
 * Every task state lands in exactly one bucket: an action, `skipped`, `waiting`, `kept`,
 * `notExpired` or `filteredByStatus` (a keep-protected state that still carries a mark is
 * counted by its unmark action, not in `kept`).
 */
export interface SweepStats {
  observed: number;
  tasks: number;
  archives: number;
  kept: number;
  waiting: number;
  notExpired: number;
  filteredByStatus: number;
}

export interface SweepPlan {
  actions: SweepAction[];
  skipped: SweepSkip[];
  waiting: SweepWaiting[];
  stats: SweepStats;
}

/** The whole plan for a set of observed objects: `planTask` per task, deletes with `archivesOf`. */
export function planSweep(objects: SweepObject[], policy: SweepPolicy, now: DateTime): SweepPlan {
  const actions: SweepAction[] = [];
  const skipped: SweepSkip[] = [];
  const waiting: SweepWaiting[] = [];
  const stats: SweepStats = { observed: 0, tasks: 0, archives: 0, kept: 0, waiting: 0, notExpired: 0, filteredByStatus: 0 };

  for (const object of objects) {
    stats.observed += 1;
    if (object.labels[LABEL_STATE] === STATE_VALUE_ARCHIVE) stats.archives += 1;
    const decision = planTask(object, policy, now);
    if (decision.outcome !== 'not-a-task') stats.tasks += 1;
    switch (decision.outcome) {
      case 'act':
        actions.push(decision.action);
        break;
      case 'skip':
        skipped.push(decision.skip);
        break;
      case 'wait':
        waiting.push(decision.waiting);
        stats.waiting += 1;
        break;
      case 'kept':
        stats.kept += 1;
        break;
      case 'not-expired':
        stats.notExpired += 1;
        break;
      case 'filtered-by-status':
        stats.filteredByStatus += 1;
        break;
      case 'not-a-task':
        break;
    }
  }
  const archives = indexArchives(objects);
  return { actions: actions.map((a) => (a.kind === 'delete' ? { ...a, archives: archivesOf(archives, a.object) } : a)), skipped, waiting, stats };
}
