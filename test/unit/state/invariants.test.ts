import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DateTime } from 'luxon';
import type { ConfigMap } from '../../../src/kube/types.js';
import { encodeState } from '../../../src/state/encode.js';
import { RULES, RULE_IDS, type RuleId } from '../../../src/state/findings.js';
import { checkInvariants } from '../../../src/state/invariants.js';
import { FEEDBACK_GZ_KEY } from '../../../src/state/labels.js';
import type { TaskState } from '../../../src/state/schema.js';
import { configMapSize } from '../../../src/state/size.js';
import { entry, makeState } from './fixtures.js';

const now = DateTime.fromISO('2025-03-01T12:01:00Z', { zone: 'utc' });

const history = (n: number) => Array.from({ length: n }, (_, i) => ({ iteration: i + 1, started_at: '2025-03-01T09:00:00Z' }));

/** A ConfigMap written by the codec, so everything not under test is consistent. */
function cmOf(overrides: Partial<TaskState> = {}, compressionThreshold?: number): ConfigMap {
  return encodeState(makeState(overrides), { namespace: 'ns', compressionThreshold }).configMap;
}

function edit(
  cm: ConfigMap,
  change: { data?: Record<string, string | undefined>; labels?: Record<string, string | undefined>; annotations?: Record<string, string>; binaryData?: Record<string, string>; name?: string },
): ConfigMap {
  const patch = (record: Record<string, string> | undefined, changes: Record<string, string | undefined> = {}) => {
    const out = { ...record };
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) delete out[key];
      else out[key] = value;
    }
    return out;
  };
  return {
    ...cm,
    metadata: { ...cm.metadata, name: change.name ?? cm.metadata.name, labels: patch(cm.metadata.labels, change.labels), annotations: patch(cm.metadata.annotations, change.annotations) },
    data: patch(cm.data, change.data),
    ...(change.binaryData ? { binaryData: { ...cm.binaryData, ...change.binaryData } } : {}),
  };
}

const valid = cmOf();
const compressed = cmOf({}, 10);
const gzBase64 = (text: string) => gzipSync(text).toString('base64');

interface Row {
  rule: RuleId;
  broken: { name: string; cm: ConfigMap; budgetBytes?: number; severity?: 'warning' }[];
  ok: { name: string; cm: ConfigMap; budgetBytes?: number }[];
}

const rows: Row[] = [
  {
    rule: 'mirror-mismatch',
    broken: [
      { name: 'status label differs', cm: edit(valid, { labels: { 'cmstate.io/status': 'failed' } }) },
      { name: 'task-id label missing', cm: edit(valid, { labels: { 'cmstate.io/task-id': undefined } }) },
      { name: 'state label missing', cm: edit(valid, { labels: { 'cmstate.io/state': undefined } }) },
      { name: 'last-update annotation differs', cm: edit(valid, { annotations: { 'cmstate.io/last-update': '2025-03-01T11:00:00Z' } }) },
      { name: 'task_id differs from the name', cm: edit(valid, { name: 'task-b-state' }) },
      { name: 'name not task-{id}-state', cm: edit(valid, { name: 'something-else' }) },
    ],
    ok: [{ name: 'annotation is the same instant spelled differently', cm: edit(valid, { annotations: { 'cmstate.io/last-update': '2025-03-01T12:00:00.000Z' } }) }],
  },
  {
    rule: 'iteration-out-of-bounds',
    broken: [{ name: 'iteration above max', cm: cmOf({ iteration: 11, iteration_history: history(11) }) }],
    ok: [{ name: 'iteration at max', cm: cmOf({ iteration: 10, iteration_history: history(10) }) }],
  },
  {
    rule: 'iteration-history-mismatch',
    broken: [
      { name: 'too few entries', cm: cmOf({ iteration: 2, iteration_history: history(1) }) },
      { name: 'descending', cm: cmOf({ iteration: 2, iteration_history: [...history(2)].reverse() }) },
      { name: 'duplicate', cm: cmOf({ iteration: 2, iteration_history: [history(1)[0]!, history(1)[0]!] }) },
    ],
    ok: [{ name: 'none at iteration 0', cm: cmOf({ iteration: 0, status: 'pending', iteration_history: [], feedback_history: [] }) }],
  },
  {
    rule: 'feedback-iteration-ahead',
    broken: [{ name: 'entry for iteration 3 at iteration 2', cm: cmOf({ feedback_history: [entry(1, { iteration: 3 })] }) }],
    ok: [{ name: 'entry for the current iteration', cm: cmOf({ feedback_history: [entry(1, { iteration: 2 })] }) }],
  },
  {
    rule: 'feedback-duplicate-id',
    broken: [{ name: 'same id twice', cm: cmOf({ feedback_history: [entry(1), entry(1, { description: 'again' })] }) }],
    ok: [{ name: 'distinct ids', cm: cmOf({ feedback_history: [entry(1), entry(11)] }) }],
  },
  {
    rule: 'last-update-in-future',
    broken: [{ name: '6 minutes ahead', cm: cmOf({ last_update: '2025-03-01T12:07:00Z' }) }],
    ok: [{ name: '4 minutes ahead (clock skew)', cm: cmOf({ last_update: '2025-03-01T12:05:00Z' }) }],
  },
  {
    rule: 'last-update-before-entry',
    broken: [
      { name: 'feedback after last_update', cm: cmOf({ feedback_history: [entry(1, { timestamp: '2025-03-01T12:00:01Z' })] }) },
      { name: 'status change after last_update', cm: cmOf({ status_history: [{ from: 'pending', to: 'in_progress', at: '2025-03-01T12:30:00Z', reason: '' }] }) },
    ],
    ok: [{ name: 'feedback at last_update', cm: cmOf({ feedback_history: [entry(1, { timestamp: '2025-03-01T12:00:00Z' })] }) }],
  },
  {
    rule: 'status-unknown',
    broken: [{ name: 'status done', cm: edit(valid, { data: { status: 'done' }, labels: { 'cmstate.io/status': 'done' } }) }],
    ok: [{ name: 'status cancelled', cm: cmOf({ status: 'cancelled' }) }],
  },
  {
    rule: 'status-inconsistent',
    broken: [
      { name: 'max_iterations_reached below the max', cm: cmOf({ status: 'max_iterations_reached' }) },
      { name: 'pending after iterating (warning)', cm: cmOf({ status: 'pending' }), severity: 'warning' },
    ],
    ok: [
      { name: 'max_iterations_reached at the max', cm: cmOf({ status: 'max_iterations_reached', iteration: 10, iteration_history: history(10) }) },
      { name: 'pending at iteration 0', cm: cmOf({ status: 'pending', iteration: 0, iteration_history: [], feedback_history: [] }) },
    ],
  },
  {
    rule: 'field-invalid',
    broken: [
      { name: 'metadata not JSON', cm: edit(valid, { data: { metadata: '{' } }) },
      { name: 'iteration missing', cm: edit(valid, { data: { iteration: undefined } }) },
      { name: 'compressed feedback not JSON', cm: edit(compressed, { binaryData: { [FEEDBACK_GZ_KEY]: gzBase64('nope') } }) },
    ],
    ok: [{ name: 'compressed feedback', cm: compressed }],
  },
  {
    rule: 'compressed-invalid',
    broken: [{ name: 'gzip form is not gzip', cm: edit(compressed, { binaryData: { [FEEDBACK_GZ_KEY]: 'aGVsbG8=' } }) }],
    ok: [{ name: 'gzip form decompresses', cm: compressed }],
  },
  {
    rule: 'both-feedback-forms',
    broken: [{ name: 'plain and gzip', cm: edit(valid, { binaryData: { [FEEDBACK_GZ_KEY]: gzBase64('[]') } }) }],
    ok: [{ name: 'gzip only', cm: compressed }],
  },
  {
    rule: 'over-budget',
    broken: [{ name: 'one byte over', cm: valid, budgetBytes: configMapSize(valid) - 1 }],
    ok: [{ name: 'exactly the budget', cm: valid, budgetBytes: configMapSize(valid) }],
  },
  {
    rule: 'legacy-version',
    broken: [{ name: 'no version', cm: edit(valid, { data: { version: undefined } }), severity: 'warning' }],
    ok: [{ name: 'version 1', cm: valid }],
  },
];

describe('checkInvariants', () => {
  test('a state written by the codec has no findings', () => {
    assert.deepEqual(checkInvariants(valid, now), []);
    assert.deepEqual(checkInvariants(compressed, now), []);
  });

  test('the table covers every rule', () => {
    assert.deepEqual(rows.map((r) => r.rule).sort(), [...RULE_IDS].sort());
  });

  for (const row of rows) {
    describe(row.rule, () => {
      for (const c of row.broken) {
        test(`breaks: ${c.name}`, () => {
          const findings = checkInvariants(c.cm, now, { budgetBytes: c.budgetBytes });
          const hit = findings.find((f) => f.rule === row.rule);
          assert.ok(hit, `expected ${row.rule}, got ${JSON.stringify(findings)}`);
          assert.equal(hit.invariant, RULES[row.rule].invariant);
          assert.equal(hit.severity, c.severity ?? 'error');
          assert.match(hit.message, new RegExp(`^${c.cm.metadata.name}: `));
          assert.doesNotMatch(hit.message, /\n/);
        });
      }
      for (const c of row.ok) {
        test(`holds: ${c.name}`, () => {
          assert.deepEqual(
            checkInvariants(c.cm, now, { budgetBytes: c.budgetBytes }).filter((f) => f.rule === row.rule),
            [],
          );
        });
      }
    });
  }

  test('findings come in the order of the invariants, legacy last', () => {
    const cm = edit(cmOf({ iteration: 11, iteration_history: history(11) }), { data: { version: undefined, metadata: '{' }, labels: { 'cmstate.io/status': 'x' } });
    assert.deepEqual(
      checkInvariants(cm, now).map((f) => f.rule),
      ['mirror-mismatch', 'iteration-out-of-bounds', 'field-invalid', 'legacy-version'],
    );
  });

  test('a broken field does not stop the other checks', () => {
    const cm = edit(cmOf({ feedback_history: [entry(1), entry(1)] }), { data: { metadata: '[' } });
    assert.deepEqual(
      checkInvariants(cm, now)
        .map((f) => f.rule)
        .sort(),
      ['feedback-duplicate-id', 'field-invalid'],
    );
  });
});

describe('checkInvariants on archives', () => {
  const archive = (data: Record<string, string>, binaryData?: Record<string, string>): ConfigMap => ({
    metadata: { name: 'task-a-state-archive-1', labels: { 'cmstate.io/state': 'archive', 'cmstate.io/task-id': 'a' } },
    data,
    ...(binaryData ? { binaryData } : {}),
  });
  const cases = [
    { name: 'a decodable archive', cm: archive({ version: '1', task_id: 'a', archive_index: '1', feedback_history: JSON.stringify([entry(1)]) }), rules: [] },
    { name: 'bad entries', cm: archive({ version: '1', task_id: 'a', archive_index: '1', feedback_history: '[1]' }), rules: ['field-invalid'] },
    { name: 'bad gzip', cm: archive({ version: '1', task_id: 'a', archive_index: '1' }, { [FEEDBACK_GZ_KEY]: 'aGVsbG8=' }), rules: ['compressed-invalid'] },
    {
      name: 'over the budget is not checked',
      cm: archive({ version: '1', task_id: 'a', archive_index: '1', feedback_history: JSON.stringify([entry(1, { description: 'x'.repeat(2000) })]) }),
      rules: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const findings = checkInvariants(c.cm, now, { budgetBytes: 1000 });
      assert.deepEqual(
        findings.map((f) => f.rule),
        c.rules,
      );
      for (const f of findings) assert.match(f.message, /^task-a-state-archive-1: data\.|^task-a-state-archive-1: binaryData\./);
    });
  }
});
