import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidDeleteBudgetError, checkDeleteBudget, type DeleteBudget, type DeleteBudgetVerdict } from '../../../../jobs/sweep/breaker.js';

describe('checkDeleteBudget', () => {
  const cases: [name: string, budget: DeleteBudget, verdict: DeleteBudgetVerdict][] = [
    ['no limits', { plannedDeletes: 5000, taskStates: 5000, force: false }, { allowed: true }],
    ['under --max-delete', { plannedDeletes: 99, taskStates: 1000, maxDelete: 100, force: false }, { allowed: true }],
    ['exactly --max-delete', { plannedDeletes: 100, taskStates: 1000, maxDelete: 100, force: false }, { allowed: true }],
    [
      'over --max-delete',
      { plannedDeletes: 140, taskStates: 1000, maxDelete: 100, force: false },
      { allowed: false, reason: 'refusing to delete 140 objects: more than --max-delete 100 (use --force to override)' },
    ],
    [
      '--max-delete 0 refuses one',
      { plannedDeletes: 1, taskStates: 10, maxDelete: 0, force: false },
      { allowed: false, reason: 'refusing to delete 1 object: more than --max-delete 0 (use --force to override)' },
    ],
    ['--max-delete 0, nothing to delete', { plannedDeletes: 0, taskStates: 10, maxDelete: 0, force: false }, { allowed: true }],
    ['exactly --max-delete-percent', { plannedDeletes: 50, taskStates: 200, maxDeletePercent: 25, force: false }, { allowed: true }],
    [
      'over --max-delete-percent',
      { plannedDeletes: 51, taskStates: 200, maxDeletePercent: 25, force: false },
      {
        allowed: false,
        reason: 'refusing to delete 51 objects: 25.5% of 200 observed task states, more than --max-delete-percent 25 (use --force to override)',
      },
    ],
    [
      'over both limits: both named',
      { plannedDeletes: 140, taskStates: 200, maxDelete: 100, maxDeletePercent: 50, force: false },
      {
        allowed: false,
        reason: 'refusing to delete 140 objects: more than --max-delete 100; 70% of 200 observed task states, more than --max-delete-percent 50 (use --force to override)',
      },
    ],
    [
      'over one limit of two',
      { plannedDeletes: 90, taskStates: 100, maxDelete: 100, maxDeletePercent: 50, force: false },
      {
        allowed: false,
        reason: 'refusing to delete 90 objects: 90% of 100 observed task states, more than --max-delete-percent 50 (use --force to override)',
      },
    ],
    ['nothing observed, nothing planned', { plannedDeletes: 0, taskStates: 0, maxDeletePercent: 10, force: false }, { allowed: true }],
    [
      'deletes without observed states are refused by a percent limit',
      { plannedDeletes: 3, taskStates: 0, maxDeletePercent: 100, force: false },
      {
        allowed: false,
        reason: 'refusing to delete 3 objects: all of 0 observed task states, more than --max-delete-percent 100 (use --force to override)',
      },
    ],
    [
      '--force overrides, and says what it overrode',
      { plannedDeletes: 140, taskStates: 1000, maxDelete: 100, force: true },
      { allowed: true, overridden: 'refusing to delete 140 objects: more than --max-delete 100' },
    ],
    ['--force within budget', { plannedDeletes: 1, taskStates: 1000, maxDelete: 100, force: true }, { allowed: true }],
  ];
  for (const [name, budget, verdict] of cases) {
    test(name, () => assert.deepEqual(checkDeleteBudget(budget), verdict));
  }

  const invalid: [name: string, budget: DeleteBudget, message: string][] = [
    ['NaN --max-delete', { plannedDeletes: 5, taskStates: 5, maxDelete: Number.NaN, force: false }, 'invalid maxDelete NaN: use a whole number of 0 or more'],
    ['negative --max-delete', { plannedDeletes: 5, taskStates: 5, maxDelete: -1, force: false }, 'invalid maxDelete -1: use a whole number of 0 or more'],
    ['fractional count', { plannedDeletes: 1.5, taskStates: 5, force: false }, 'invalid plannedDeletes 1.5: use a whole number of 0 or more'],
    ['negative taskStates', { plannedDeletes: 0, taskStates: -2, force: false }, 'invalid taskStates -2: use a whole number of 0 or more'],
    ['percent over 100', { plannedDeletes: 5, taskStates: 5, maxDeletePercent: 150, force: false }, 'invalid maxDeletePercent 150: use a number from 0 to 100'],
    ['NaN percent', { plannedDeletes: 5, taskStates: 5, maxDeletePercent: Number.NaN, force: true }, 'invalid maxDeletePercent NaN: use a number from 0 to 100'],
  ];
  for (const [name, budget, message] of invalid) {
    test(`throws on ${name}`, () => {
      assert.throws(
        () => checkDeleteBudget(budget),
        (err: unknown) => err instanceof InvalidDeleteBudgetError && err.message === message,
      );
    });
  }
});
