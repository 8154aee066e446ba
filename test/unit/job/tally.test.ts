import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Tally, formatSummary } from '../../../src/job/tally.js';
import type { JobSummary } from '../../../src/metrics/summary.js';

// DESIGN.md "--output json": scripts read these keys, in this order.
const DESIGN_SUMMARY_KEYS = ['job', 'dry_run', 'observed', 'planned', 'applied', 'skipped', 'failed', 'duration_ms'];

describe('Tally.summary', () => {
  test('has exactly the DESIGN.md JSON summary keys, in order', () => {
    const summary = new Tally(['mark', 'delete']).summary('sweep', false, 850);
    assert.deepEqual(Object.keys(summary), DESIGN_SUMMARY_KEYS);
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(summary)) as object), DESIGN_SUMMARY_KEYS);
  });

  test('reproduces the DESIGN.md example', () => {
    const tally = new Tally(['mark', 'delete']);
    tally.observed = 1200;
    tally.plan('mark', 40);
    tally.plan('delete', 12);
    tally.apply('mark', 40);
    tally.apply('delete', 11);
    tally.skip('conflict');
    assert.equal(
      JSON.stringify(tally.summary('sweep', false, 850)),
      '{"job":"sweep","dry_run":false,"observed":1200,"planned":{"mark":40,"delete":12},"applied":{"mark":40,"delete":11},"skipped":{"conflict":1},"failed":0,"duration_ms":850}',
    );
  });

  test('declared actions appear with 0 in planned and applied; skipped starts empty', () => {
    const summary = new Tally(['mark', 'unmark', 'delete']).summary('sweep', true, 0);
    assert.deepEqual(summary, {
      job: 'sweep',
      dry_run: true,
      observed: 0,
      planned: { mark: 0, unmark: 0, delete: 0 },
      applied: { mark: 0, unmark: 0, delete: 0 },
      skipped: {},
      failed: 0,
      duration_ms: 0,
    } satisfies JobSummary);
  });

  test('counts by one by default, by `count` when given, and undeclared names too', () => {
    const tally = new Tally(['repair']);
    tally.observed = 7;
    tally.plan('repair');
    tally.plan('repair', 3);
    tally.plan('quarantine');
    tally.apply('repair', 2);
    tally.skip('conflict');
    tally.skip('conflict', 2);
    tally.skip('circuit_breaker', 5);
    tally.fail('tasks/task-1-state', 'invalid JSON');
    tally.fail('tasks/task-2-state', 'forbidden');
    assert.deepEqual(tally.summary('repair', false, 12.6), {
      job: 'repair',
      dry_run: false,
      observed: 7,
      planned: { repair: 4, quarantine: 1 },
      applied: { repair: 2 },
      skipped: { conflict: 3, circuit_breaker: 5 },
      failed: 2,
      duration_ms: 13,
    });
    assert.deepEqual(tally.failures, [
      { object: 'tasks/task-1-state', message: 'invalid JSON' },
      { object: 'tasks/task-2-state', message: 'forbidden' },
    ]);
  });

  test('duration_ms is rounded to a whole number', () => {
    const tally = new Tally([]);
    assert.equal(tally.summary('metrics', false, 0.4).duration_ms, 0);
    assert.equal(tally.summary('metrics', false, 1234.5).duration_ms, 1235);
  });

  test('a summary is a snapshot: later counts do not change it', () => {
    const tally = new Tally(['delete']);
    const before = tally.summary('sweep', false, 1);
    tally.plan('delete');
    tally.apply('delete');
    tally.skip('conflict');
    assert.deepEqual(before.planned, { delete: 0 });
    assert.deepEqual(before.applied, { delete: 0 });
    assert.deepEqual(before.skipped, {});
  });
});

describe('formatSummary', () => {
  const base: JobSummary = {
    job: 'sweep',
    dry_run: false,
    observed: 1200,
    planned: { mark: 40, delete: 12 },
    applied: { mark: 40, delete: 11 },
    skipped: { conflict: 1 },
    failed: 0,
    duration_ms: 850,
  };
  const cases: [name: string, summary: JobSummary, text: string][] = [
    ['the DESIGN.md example', base, 'sweep: observed 1200 · planned mark 40, delete 12 · applied mark 40, delete 11 · skipped conflict 1 · failed 0 · 850 ms'],
    [
      'a dry run',
      { ...base, dry_run: true, applied: { mark: 0, delete: 0 }, skipped: {} },
      'sweep (dry run): observed 1200 · planned mark 40, delete 12 · applied mark 0, delete 0 · skipped none · failed 0 · 850 ms',
    ],
    [
      'nothing declared, nothing done',
      { job: 'metrics', dry_run: false, observed: 0, planned: {}, applied: {}, skipped: {}, failed: 3, duration_ms: 5 },
      'metrics: observed 0 · planned none · applied none · skipped none · failed 3 · 5 ms',
    ],
  ];
  for (const [name, summary, text] of cases) {
    test(name, () => assert.equal(formatSummary(summary), text));
  }

  test('formats what Tally.summary builds', () => {
    const tally = new Tally(['snapshot']);
    tally.observed = 3;
    tally.plan('snapshot', 3);
    tally.apply('snapshot', 2);
    tally.fail('tasks/task-9-state', 'too large');
    assert.equal(formatSummary(tally.summary('snapshot', false, 42)), 'snapshot: observed 3 · planned snapshot 3 · applied snapshot 2 · skipped none · failed 1 · 42 ms');
  });
});
