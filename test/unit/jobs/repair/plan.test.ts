// The repair planner against the corpus of corrupted ConfigMaps in test/fixtures/repair/: each
// fixture is a ConfigMap (plus the other objects observed with it), its expected findings and
// the expected repaired object. The corpus is the spec; these tests read it as a table.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DateTime } from 'luxon';
import { describeChanges, diffConfigMaps } from '../../../../jobs/repair/diff.js';
import { ObservedIndex } from '../../../../jobs/repair/observed-index.js';
import { REPAIR_RULES, planObject } from '../../../../jobs/repair/plan.js';
import { planRepair } from '../../../support/repair-plan.js';
import type { ConfigMap } from '../../../../src/kube/types.js';
import { decodeArchive, decodeStateLenient } from '../../../../src/state/decode.js';
import { comparable, loadRepairCorpus } from '../../../support/repair-corpus.js';

const corpus = loadRepairCorpus();

function feedbackIds(objects: ConfigMap[]): string[] {
  return objects.flatMap((cm) => (cm.metadata.labels?.['cmstate.io/state'] === 'archive' ? decodeArchive(cm).entries : (decodeStateLenient(cm).state.feedback_history ?? [])).map((e) => e.id));
}

describe('repair plan: the corpus', () => {
  for (const fixture of corpus) {
    test(`${fixture.name}: ${fixture.description}`, () => {
      const now = DateTime.fromISO(fixture.now, { zone: 'utc' });
      const [plan] = planRepair([fixture.object, ...fixture.context], now, fixture.options);
      assert.ok(plan);
      const { expected } = fixture;
      assert.deepEqual(
        plan.findings.map((f) => f.rule),
        expected.findings,
      );
      assert.equal(plan.action, expected.action);
      assert.deepEqual(plan.reasons, expected.reasons);
      assert.deepEqual(plan.repaired && comparable(plan.repaired), expected.repaired && comparable(expected.repaired));
      assert.deepEqual((plan.newArchives ?? []).map(comparable), (expected.newArchives ?? []).map(comparable));
    });
  }
});

describe('repair plan: properties over the corpus', () => {
  const planned = corpus.map((fixture) => {
    const now = DateTime.fromISO(fixture.now, { zone: 'utc' });
    const [plan] = planRepair([fixture.object, ...fixture.context], now, fixture.options);
    return { fixture, now, plan: plan! };
  });

  test('the corpus covers every rule, and every action', () => {
    const found = new Set(planned.flatMap(({ plan }) => plan.findings.map((f) => f.rule)));
    assert.deepEqual(
      REPAIR_RULES.filter((rule) => !found.has(rule)),
      [],
    );
    assert.deepEqual(new Set(planned.map(({ plan }) => plan.action)), new Set(['replace', 'quarantine', 'delete-orphan', 'none']));
  });

  test('a second plan of the repaired objects finds nothing to do', () => {
    for (const { fixture, now, plan } of planned) {
      if (plan.repaired === undefined) continue;
      const again = planRepair([plan.repaired, ...(plan.newArchives ?? []), ...fixture.context], now, fixture.options);
      for (const next of again) {
        assert.equal(next.action, 'none', `${fixture.name}: ${next.object.metadata.name}: ${next.reasons.join('; ')}`);
        assert.equal(next.quarantined, plan.action === 'quarantine' && next.object === plan.repaired, fixture.name);
      }
    }
  });

  test('a quarantine only adds the annotation: data, binaryData and the other metadata are untouched', () => {
    for (const { fixture, plan } of planned.filter(({ plan }) => plan.action === 'quarantine')) {
      const lines = diffConfigMaps(fixture.object, plan.repaired!);
      assert.equal(lines.length, 1, fixture.name);
      assert.ok(lines[0]!.startsWith('+ metadata.annotations.cmstate.io/quarantined: '), fixture.name);
      assert.equal(plan.repaired!.metadata.annotations?.['cmstate.io/quarantined'], plan.quarantineReason);
      assert.equal(`quarantined: ${plan.quarantineReason}`, plan.reasons[0]);
    }
  });

  test('a repair never lowers the counter, except to clamp it to max_iterations', () => {
    for (const { fixture, plan } of planned.filter(({ plan }) => plan.action === 'replace')) {
      const before = Number(fixture.object.data?.iteration ?? 0);
      const after = Number(plan.repaired!.data!.iteration);
      const max = Number(plan.repaired!.data!.max_iterations);
      assert.ok(after >= before || after === max, `${fixture.name}: ${before} -> ${after} (max ${max})`);
    }
  });

  test('a repair loses no feedback entry: the ids are in the repaired state or its new archives', () => {
    for (const { fixture, plan } of planned.filter(({ plan }) => plan.action === 'replace')) {
      const before = new Set(feedbackIds([fixture.object]));
      const after = feedbackIds([plan.repaired!, ...(plan.newArchives ?? [])]);
      assert.deepEqual(new Set(after), before, fixture.name);
      assert.equal(after.length, before.size, `${fixture.name}: no id twice`);
    }
  });
});

describe('repair plan: details', () => {
  const now = DateTime.fromISO('2026-11-20T12:00:00Z', { zone: 'utc' });
  const orphan = corpus.find((f) => f.name === 'orphan-archive')!.object;

  test('an archive belongs to the task its owner reference names, before its labels', () => {
    const owned: ConfigMap = { ...orphan, metadata: { ...orphan.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'task-owner-state', uid: 'u1' }] } };
    const withOwner = ObservedIndex.of([{ metadata: { name: 'task-owner-state', namespace: orphan.metadata.namespace, labels: { 'cmstate.io/state': 'task' } } }]);
    assert.equal(planObject(owned, withOwner, now).action, 'none');
    const withLabelTask = ObservedIndex.of([{ metadata: { name: 'task-gone-state', namespace: orphan.metadata.namespace, labels: { 'cmstate.io/state': 'task' } } }]);
    const plan = planObject(owned, withLabelTask, now);
    assert.equal(plan.action, 'delete-orphan');
    assert.match(plan.reasons[0]!, /belongs to task-owner-state, which does not exist/);
  });

  test('an archive is an orphan only in its own namespace', () => {
    const elsewhere = ObservedIndex.of([{ metadata: { name: 'task-gone-state', namespace: 'other', labels: { 'cmstate.io/state': 'task' } } }]);
    assert.equal(planObject(orphan, elsewhere, now).action, 'delete-orphan');
  });

  test('the index keeps the highest archive number per task and ignores other objects', () => {
    const index = ObservedIndex.of(
      ['task-a-state-archive-2', 'task-a-state-archive-10', 'task-a-state-archive-3', 'task-b-state-archive-1', 'not-an-archive'].map((name) => ({
        metadata: { name, namespace: 'n', labels: { 'cmstate.io/state': 'archive' } },
      })),
    );
    assert.equal(index.highestArchiveIndex('n', 'task-a-state'), 10);
    assert.equal(index.highestArchiveIndex('n', 'task-b-state'), 1);
    assert.equal(index.highestArchiveIndex('m', 'task-a-state'), 0);
    assert.equal(index.hasTask('n', 'task-a-state'), false);
  });

  test('the dry-run diff shows each changed key with its old and new value, long values cut', () => {
    const fixture = corpus.find((f) => f.name === 'history-short')!;
    const [plan] = planRepair([fixture.object], now, fixture.options);
    const lines = describeChanges(plan!);
    assert.deepEqual(lines.slice(0, 2), [
      '- data.iteration_history: "[{\\"iteration\\":1,\\"started_at\\":\\"2026-11-19T08:00:00Z\\"},{\\"itera"… (105 bytes)',
      '+ data.iteration_history: "[{\\"iteration\\":1,\\"started_at\\":\\"2026-11-19T08:00:00Z\\"},{\\"itera"… (243 bytes)',
    ]);
    assert.equal(lines.length, 2);

    const mirror = corpus.find((f) => f.name === 'mirror-stale-status-label')!;
    const [mirrorPlan] = planRepair([mirror.object], now, mirror.options);
    assert.deepEqual(describeChanges(mirrorPlan!), ['- metadata.labels.cmstate.io/status: "pending"', '+ metadata.labels.cmstate.io/status: "in_progress"']);
  });

  test('the dry-run diff lists new archives and orphan deletes', () => {
    const archiveFixture = corpus.find((f) => f.name === 'over-budget-archive')!;
    const [plan] = planRepair([archiveFixture.object, ...archiveFixture.context], now, archiveFixture.options);
    const lines = describeChanges(plan!);
    assert.ok(lines.includes('+ ConfigMap repair-corpus/task-over-budget-archive-state-archive-3 (archive: 1 feedback entry, 1581 bytes)'), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('+ ConfigMap repair-corpus/task-over-budget-archive-state-archive-2 (archive: 8 feedback entries')));
    assert.ok(lines.includes('- data.feedback_archived: "1"') && lines.includes('+ data.feedback_archived: "10"'));
    assert.ok(
      lines.some((l) => /^\+ binaryData\.feedback_history\.json\.gz: \(\d+ bytes of binary data\)$/.test(l)),
      lines.join('\n'),
    );
    assert.deepEqual(describeChanges(planRepair([orphan], now)[0]!), ['- ConfigMap repair-corpus/task-gone-state-archive-1 (deleted after it is saved in the snapshot store)']);
  });

  test('a state too large even without its feedback is quarantined, not half repaired', () => {
    const fixture = corpus.find((f) => f.name === 'history-short')!;
    const plan = planRepair([fixture.object], now, { budgetBytes: 200 })[0]!;
    assert.equal(plan.action, 'quarantine');
    assert.match(plan.quarantineReason!, /cannot be written back: task history-short: .* bytes without any feedback exceed the budget of 200 bytes/);
  });
});
