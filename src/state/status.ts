// The status machine of STATE-FORMAT.md. Two moves are our reading of the format, which does
// not list them explicitly:
// - pending -> cancelled: a task can be cancelled before it ever started.
// - any non-terminal status -> max_iterations_reached: the increment at the maximum causes it,
//   whatever the status was (a failed task retried at the max, or even a pending one with
//   max_iterations reached through repair). It is allowed only when iteration >= max_iterations,
//   matching invariant 5 ("max_iterations_reached only at the max").
// The guards look at the iteration the task has at the moment of the move, before any
// increment the move comes with.

import { InvalidTransitionError } from './errors.js';
import type { TaskState, TaskStatus } from './schema.js';

export type TransitionContext = Pick<TaskState, 'iteration' | 'max_iterations'>;

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set<TaskStatus>(['succeeded', 'max_iterations_reached', 'cancelled']);

/** Where each status may go, before the iteration guards below. */
export const ALLOWED_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  pending: ['in_progress', 'cancelled', 'max_iterations_reached'],
  in_progress: ['in_progress', 'succeeded', 'failed', 'max_iterations_reached', 'cancelled'],
  failed: ['in_progress', 'max_iterations_reached'],
  succeeded: [],
  max_iterations_reached: [],
  cancelled: [],
};

/** Why the move is refused, or undefined when it is allowed. */
export function transitionRefusal(from: TaskStatus, to: TaskStatus, ctx: TransitionContext): string | undefined {
  if (TERMINAL_STATUSES.has(from)) return `${from} is terminal`;
  if (!ALLOWED_TRANSITIONS[from].includes(to)) return `${from} may only move to ${ALLOWED_TRANSITIONS[from].join(', ')}`;
  if (from === 'failed' && to === 'in_progress' && ctx.iteration >= ctx.max_iterations) {
    return `a failed task is retried only while iteration < max_iterations (${ctx.iteration}/${ctx.max_iterations})`;
  }
  if (to === 'max_iterations_reached' && ctx.iteration < ctx.max_iterations) {
    return `iteration ${ctx.iteration} is below max_iterations ${ctx.max_iterations}`;
  }
  return undefined;
}

export function canTransition(from: TaskStatus, to: TaskStatus, ctx: TransitionContext): boolean {
  return transitionRefusal(from, to, ctx) === undefined;
}

/** Throws InvalidTransitionError when the move is refused; `state` can be the TaskState itself. */
export function assertTransition(from: TaskStatus, to: TaskStatus, state: TransitionContext & Pick<TaskState, 'task_id'>): void {
  const reason = transitionRefusal(from, to, state);
  if (reason !== undefined) throw new InvalidTransitionError(state.task_id, from, to, reason);
}
