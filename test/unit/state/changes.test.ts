import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { diffState, readState } from '../../../src/state/changes.js';
import type { ConfigMap } from '../../../src/kube/types.js';
import { feedbackEntries, stateConfigMap } from '../../support/states.js';

const base = () => stateConfigMap({ id: 'a', namespace: 'team-a', lastUpdate: '2026-11-01T10:00:00Z', status: 'in_progress', iteration: 1, feedback: feedbackEntries(2) });
const withRv = (cm: ConfigMap, rv: string): ConfigMap => ({ ...cm, metadata: { ...cm.metadata, resourceVersion: rv } });

describe('diffState', () => {
  test('a new state: every field it has is a change, every feedback entry added', () => {
    const changes = diffState(undefined, readState(withRv(base(), '1')));
    assert.deepEqual(
      changes.map((c) => c.field),
      ['version', 'task_id', 'iteration', 'max_iterations', 'status', 'last_update', 'iteration_history', 'status_history', 'error_messages', 'metadata', 'feedback_archived', 'feedback_history'],
    );
    const feedback = changes.find((c) => c.field === 'feedback_history');
    assert.deepEqual(feedback && 'added' in feedback ? feedback.added.map((e) => e.id) : [], ['fb-0', 'fb-1']);
  });

  test('only what differs, with old and new values; the status with the entry that recorded it', () => {
    const before = readState(withRv(base(), '1')).memo;
    const next = stateConfigMap({
      id: 'a',
      namespace: 'team-a',
      lastUpdate: '2026-11-01T11:00:00Z',
      status: 'failed',
      iteration: 1,
      feedback: [...feedbackEntries(2), ...feedbackEntries(1, { prefix: 'new' })],
    });
    next.data = {
      ...next.data,
      iteration_history: base().data!.iteration_history!,
      status_history: JSON.stringify([{ from: 'in_progress', to: 'failed', at: '2026-11-01T11:00:00Z', reason: 'tests red' }]),
    };
    const changes = diffState(before, readState(withRv(next, '2')));
    assert.deepEqual(changes, [
      { field: 'status', old: 'in_progress', new: 'failed', entry: { from: 'in_progress', to: 'failed', at: '2026-11-01T11:00:00Z', reason: 'tests red' } },
      { field: 'last_update', old: '2026-11-01T10:00:00Z', new: '2026-11-01T11:00:00Z' },
      { field: 'status_history', old: [], new: [{ from: 'in_progress', to: 'failed', at: '2026-11-01T11:00:00Z', reason: 'tests red' }] },
      { field: 'feedback_history', added: feedbackEntries(1, { prefix: 'new' }) },
    ]);
  });

  test('entries moved to an archive are not changes; the archived count is', () => {
    const before = readState(withRv(base(), '1')).memo;
    const next = base();
    next.data = { ...next.data, feedback_history: JSON.stringify(feedbackEntries(2).slice(1)), feedback_archived: '1' };
    assert.deepEqual(diffState(before, readState(withRv(next, '2'))), [{ field: 'feedback_archived', old: 0, new: 1 }]);
  });

  test("the sweeper's mark and repair's quarantine, both ways", () => {
    const marked = base();
    marked.metadata.labels = { ...marked.metadata.labels, 'cmstate.io/sweep': 'marked' };
    marked.metadata.annotations = { ...marked.metadata.annotations, 'cmstate.io/marked-at': '2026-11-02T00:00:00Z', 'cmstate.io/quarantined': 'iteration_history does not parse' };
    const before = readState(withRv(base(), '1')).memo;
    assert.deepEqual(diffState(before, readState(withRv(marked, '2'))), [
      { field: 'marked', new: '2026-11-02T00:00:00Z' },
      { field: 'quarantined', new: 'iteration_history does not parse' },
    ]);
    assert.deepEqual(diffState(readState(withRv(marked, '2')).memo, readState(withRv(base(), '3'))), [
      { field: 'marked', old: '2026-11-02T00:00:00Z' },
      { field: 'quarantined', old: 'iteration_history does not parse' },
    ]);
  });

  test('a malformed state is read leniently: what decodes is compared, what does not is gone, with findings', () => {
    const before = readState(withRv(base(), '1')).memo;
    const broken = base();
    broken.data = { ...broken.data, iteration: 'three' };
    const read = readState(withRv(broken, '2'));
    assert.equal(read.state, undefined);
    assert.equal(read.decoded?.status, 'in_progress');
    assert.ok(read.findings.some((f) => f.key === 'data.iteration'));
    assert.deepEqual(diffState(before, read), [{ field: 'iteration', old: 1 }]);
  });

  test('what a watcher keeps: the fields and the feedback ids, not the entries', () => {
    const memo = readState(withRv(stateConfigMap({ id: 'big', namespace: 'n', lastUpdate: '2026-11-01T10:00:00Z', feedback: feedbackEntries(300, { descriptionBytes: 2000 }) }), '1')).memo;
    assert.equal(memo.feedbackIds.size, 300);
    assert.ok(JSON.stringify(memo.fields).length < 1000, `${JSON.stringify(memo.fields).length} bytes of fields`);
    assert.equal('feedback_history' in memo.fields, false);
  });
});
