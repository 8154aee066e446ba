// Typed errors of the state library. Messages are one line and name the object, so a
// person reading a log line knows which ConfigMap or task to look at.

import type { TaskStatus } from './schema.js';
import { ExitCode } from '../exit.js';

/** Which rule a decode failure breaks; the repair job reports the same ids as findings. */
export type DecodeRule = 'field-invalid' | 'compressed-invalid' | 'both-feedback-forms' | 'status-unknown';

/** A ConfigMap's data cannot be read as task state (or as a feedback archive). */
export class StateDecodeError extends Error {
  override name = 'StateDecodeError';
  constructor(
    readonly configMapName: string,
    /** `data.<key>` or `binaryData.<key>`, as in the message. */
    readonly key: string,
    readonly problem: string,
    readonly rule: DecodeRule,
    readonly taskId?: string,
  ) {
    super(`${configMapName}: ${key}: ${problem}`);
  }
}

/** A state that cannot be written: it fails the schema, or is too large for the budget even with all feedback archived. */
export class StateEncodeError extends Error {
  override name = 'StateEncodeError';
  constructor(
    readonly taskId: string,
    message: string,
  ) {
    super(`task ${taskId}: ${message}`);
  }
}

/** The status machine refuses a move. */
export class InvalidTransitionError extends Error {
  override name = 'InvalidTransitionError';
  readonly exitCode = ExitCode.refused;
  constructor(
    readonly taskId: string,
    readonly from: TaskStatus,
    readonly to: TaskStatus,
    readonly reason: string,
  ) {
    super(`cannot move task ${taskId} from ${from} to ${to}: ${reason}`);
  }
}

/** An increment at `iteration == max_iterations`. */
export class MaxIterationsError extends Error {
  override name = 'MaxIterationsError';
  readonly exitCode = ExitCode.refused;
  constructor(
    readonly taskId: string,
    readonly maxIterations: number,
  ) {
    super(`task ${taskId} reached its maximum of ${maxIterations} iterations`);
  }
}

/** No state ConfigMap exists for the task. */
export class StateNotFoundError extends Error {
  override name = 'StateNotFoundError';
  constructor(
    readonly taskId: string,
    readonly namespace: string,
  ) {
    super(`task ${taskId} has no state in namespace ${namespace} (ConfigMap task-${taskId}-state not found)`);
  }
}

/** Input a caller gave (a feedback entry, by default; or a task id, a cursor) does not validate. */
export class InvalidFeedbackError extends Error {
  override name = 'InvalidFeedbackError';
  readonly exitCode = ExitCode.usage;
  constructor(
    readonly taskId: string,
    readonly problem: string,
    readonly subject = 'feedback entry',
  ) {
    super(`invalid ${subject} (task ${taskId}): ${problem}`);
  }
}
