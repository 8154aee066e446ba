// The sweeper's circuit breaker: a misconfigured TTL or a clock far in the future must not wipe
// out a namespace, so a run refuses to delete more than the configured budget unless forced.

export interface DeleteBudget {
  /** Task states planned for delete (their archives go with them and are not counted). */
  plannedDeletes: number;
  /** Task states observed in this run (the base of the percentage; archives go with their states). */
  taskStates: number;
  /** `--max-delete`: refuse more than this many deletes. */
  maxDelete?: number;
  /** `--max-delete-percent`: refuse more than this percentage (0–100) of `taskStates`. */
  maxDeletePercent?: number;
  /** `--force`: allow what the budget would refuse. */
  force: boolean;
}

export type DeleteBudgetVerdict = { allowed: true; /** Set when `force` overrode a refusal: what it would have said, for the log. */ overridden?: string } | { allowed: false; reason: string };

export class InvalidDeleteBudgetError extends Error {
  override name = 'InvalidDeleteBudgetError';
}

/**
 * Checks the planned deletes against `--max-delete` and `--max-delete-percent`. Both limits are
 * "more than": exactly the limit is allowed. Nonsense numbers throw, because a NaN limit would
 * otherwise compare false and silently allow everything.
 */
export function checkDeleteBudget(budget: DeleteBudget): DeleteBudgetVerdict {
  validate(budget);
  const { plannedDeletes, taskStates, maxDelete, maxDeletePercent, force } = budget;
  const exceeded: string[] = [];
  if (maxDelete !== undefined && plannedDeletes > maxDelete) {
    exceeded.push(`more than --max-delete ${maxDelete}`);
  }
  if (maxDeletePercent !== undefined && plannedDeletes > (taskStates * maxDeletePercent) / 100) {
    const percent = taskStates === 0 ? 'all' : `${formatPercent((plannedDeletes / taskStates) * 100)}%`;
    exceeded.push(`${percent} of ${taskStates} observed task states, more than --max-delete-percent ${maxDeletePercent}`);
  }
  if (exceeded.length === 0) return { allowed: true };
  const objects = plannedDeletes === 1 ? '1 object' : `${plannedDeletes} objects`;
  const refusal = `refusing to delete ${objects}: ${exceeded.join('; ')}`;
  return force ? { allowed: true, overridden: refusal } : { allowed: false, reason: `${refusal} (use --force to override)` };
}

function validate({ plannedDeletes, taskStates, maxDelete, maxDeletePercent }: DeleteBudget): void {
  const counts = { plannedDeletes, taskStates, maxDelete };
  for (const [name, value] of Object.entries(counts)) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new InvalidDeleteBudgetError(`invalid ${name} ${value}: use a whole number of 0 or more`);
    }
  }
  if (maxDeletePercent !== undefined && !(maxDeletePercent >= 0 && maxDeletePercent <= 100)) {
    throw new InvalidDeleteBudgetError(`invalid maxDeletePercent ${maxDeletePercent}: use a number from 0 to 100`);
  }
}

function formatPercent(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
