import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DurationParseError, TimestampParseError } from '../../src/durations.js';
import { ExitCode, RefusedError, UsageError, exitCodeFor } from '../../src/exit.js';
import { KubeConfigError } from '../../src/kube/config.js';
import { ConflictError } from '../../src/kube/errors.js';
import { LockHeldError } from '../../src/kube/lease-lock.js';
import { InvalidFeedbackError, InvalidTransitionError, MaxIterationsError, StateNotFoundError } from '../../src/state/errors.js';

describe('exitCodeFor', () => {
  test('an error carries its exit code; anything else is a failure', () => {
    const cases: [unknown, ExitCode][] = [
      [new UsageError('--qps must be a number'), ExitCode.usage],
      [new KubeConfigError('cannot load kubeconfig'), ExitCode.usage],
      [new DurationParseError('7x'), ExitCode.usage],
      [new TimestampParseError('yesterday'), ExitCode.usage],
      [new InvalidFeedbackError('t', 'no id'), ExitCode.usage],
      [new RefusedError('the circuit breaker'), ExitCode.refused],
      [new LockHeldError({ namespace: 'ns', name: 'cmstate-sweep' }, 'pod-1', new Date(0)), ExitCode.refused],
      [new MaxIterationsError('t', 10), ExitCode.refused],
      [new InvalidTransitionError('t', 'succeeded', 'pending', 'finished'), ExitCode.refused],
      [new StateNotFoundError('t', 'ns'), ExitCode.failed],
      [new ConflictError('changed', 409, { verb: 'update', resource: 'configmaps' }), ExitCode.failed],
      [Object.assign(new Error('Unknown argument: --x'), { name: 'YError' }), ExitCode.usage],
      [Object.assign(new Error('not ours'), { exitCode: 42 }), ExitCode.failed],
      ['a string', ExitCode.failed],
    ];
    for (const [err, code] of cases) assert.equal(exitCodeFor(err), code, String(err));
  });
});
