import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime, Duration } from 'luxon';
import { archivesOf, indexArchives, needsLastUpdateFromData, planTask, taskKey, type SweepAction, type SweepDecision, type SweepObject, type SweepPolicy } from '../../../../jobs/sweep/plan.js';
import { planSweep } from '../../../support/sweep-plan.js';

const NOW = DateTime.fromISO('2026-11-22T08:00:00Z', { zone: 'utc' });
const POLICY: SweepPolicy = { ttl: Duration.fromObject({ days: 7 }), grace: Duration.fromObject({ hours: 24 }) };

interface TaskSpec {
  name?: string;
  namespace?: string;
  uid?: string | null;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  lastUpdate?: string | null;
  markedAt?: string;
  marked?: boolean;
  lastUpdateFromData?: string;
}

function task(spec: TaskSpec = {}): SweepObject {
  const name = spec.name ?? 'task-a-state';
  const annotations: Record<string, string> = { ...spec.annotations };
  if (spec.lastUpdate !== null) annotations['cmstate.io/last-update'] = spec.lastUpdate ?? '2026-11-10T08:00:00Z';
  if (spec.markedAt !== undefined) annotations['cmstate.io/marked-at'] = spec.markedAt;
  const labels: Record<string, string> = { 'cmstate.io/state': 'task', 'cmstate.io/status': 'succeeded', ...spec.labels };
  if (spec.marked ?? spec.markedAt !== undefined) labels['cmstate.io/sweep'] = 'marked';
  const object: SweepObject = { namespace: spec.namespace ?? 'ns1', name, resourceVersion: '7', labels, annotations };
  if (spec.uid !== null) object.uid = spec.uid ?? `uid-${name}`;
  if (spec.lastUpdateFromData !== undefined) object.lastUpdateFromData = spec.lastUpdateFromData;
  return object;
}

function archive(name: string, opts: { namespace?: string; ownerName?: string; taskId?: string; keep?: boolean } = {}): SweepObject {
  const labels: Record<string, string> = { 'cmstate.io/state': 'archive' };
  if (opts.taskId !== undefined) labels['cmstate.io/task-id'] = opts.taskId;
  if (opts.keep) labels['cmstate.io/keep'] = 'true';
  const object: SweepObject = { namespace: opts.namespace ?? 'ns1', name, uid: `uid-${name}`, resourceVersion: '3', labels, annotations: {} };
  if (opts.ownerName !== undefined) object.ownerName = opts.ownerName;
  return object;
}

const REF = { namespace: 'ns1', name: 'task-a-state', uid: 'uid-task-a-state', resourceVersion: '7' };

function action(kind: SweepAction['kind'], reason: string, extra: Partial<SweepAction> = {}): SweepDecision {
  return { outcome: 'act', action: { kind, object: REF, reason, ...extra } };
}
const skip = (reason: string): SweepDecision => ({ outcome: 'skip', skip: { object: REF, reason } });

describe('planTask', () => {
  const cases: { name: string; object: SweepObject; policy?: Partial<SweepPolicy>; now?: DateTime; expected: SweepDecision }[] = [
    { name: 'not expired: 2d old, ttl 7d', object: task({ lastUpdate: '2026-11-20T08:00:00Z' }), expected: { outcome: 'not-expired' } },
    { name: 'exactly ttl old is not expired', object: task({ lastUpdate: '2026-11-15T08:00:00Z' }), expected: { outcome: 'not-expired' } },
    {
      name: 'expired and unmarked: mark',
      object: task(),
      expected: action('mark', 'expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 7d', {
        markedAt: '2026-11-22T08:00:00Z',
        deleteAfter: '2026-11-23T08:00:00Z',
      }),
    },
    {
      name: 'one second past ttl: mark, age in two units',
      object: task({ lastUpdate: '2026-11-15T07:59:59Z' }),
      expected: action('mark', 'expired: last update 2026-11-15T07:59:59Z is 7d old, ttl 7d', {
        markedAt: '2026-11-22T08:00:00Z',
        deleteAfter: '2026-11-23T08:00:00Z',
      }),
    },
    {
      name: 'ttl annotation, short form, raises the ttl',
      object: task({ annotations: { 'cmstate.io/ttl': '30d' } }),
      expected: { outcome: 'not-expired' },
    },
    {
      name: 'ttl annotation, ISO 8601, lowers the ttl',
      object: task({ lastUpdate: '2026-11-22T05:30:00Z', annotations: { 'cmstate.io/ttl': 'PT1H' } }),
      expected: action('mark', 'expired: last update 2026-11-22T05:30:00Z is 2h 30m old, ttl 1h (cmstate.io/ttl)', {
        markedAt: '2026-11-22T08:00:00Z',
        deleteAfter: '2026-11-23T08:00:00Z',
      }),
    },
    {
      name: 'ttl annotation P30D keeps a 12d-old state',
      object: task({ annotations: { 'cmstate.io/ttl': 'P30D' } }),
      expected: { outcome: 'not-expired' },
    },
    {
      name: 'policy ttl in another unit',
      object: task({ lastUpdate: '2026-11-22T07:00:00Z' }),
      policy: { ttl: Duration.fromObject({ minutes: 30 }) },
      expected: action('mark', 'expired: last update 2026-11-22T07:00:00Z is 1h old, ttl 30m', {
        markedAt: '2026-11-22T08:00:00Z',
        deleteAfter: '2026-11-23T08:00:00Z',
      }),
    },
    { name: 'keep: never touched', object: task({ labels: { 'cmstate.io/keep': 'true' } }), expected: { outcome: 'kept' } },
    {
      name: 'keep wins over a bad ttl',
      object: task({ labels: { 'cmstate.io/keep': 'true' }, annotations: { 'cmstate.io/ttl': 'forever' } }),
      expected: { outcome: 'kept' },
    },
    {
      name: 'keep=false is not keep',
      object: task({ labels: { 'cmstate.io/keep': 'false' } }),
      expected: action('mark', 'expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 7d', {
        markedAt: '2026-11-22T08:00:00Z',
        deleteAfter: '2026-11-23T08:00:00Z',
      }),
    },
    {
      name: 'keep + marked: unmark',
      object: task({ labels: { 'cmstate.io/keep': 'true' }, markedAt: '2026-11-01T00:00:00Z' }),
      expected: action('unmark', 'protected by cmstate.io/keep'),
    },
    {
      name: 'status filter excludes other statuses',
      object: task({ labels: { 'cmstate.io/status': 'failed' } }),
      policy: { statuses: ['succeeded', 'cancelled'] },
      expected: { outcome: 'filtered-by-status' },
    },
    {
      name: 'status filter excludes a state without a status label',
      object: (() => {
        const o = task();
        delete o.labels['cmstate.io/status'];
        return o;
      })(),
      policy: { statuses: ['succeeded'] },
      expected: { outcome: 'filtered-by-status' },
    },
    {
      name: 'status filter excludes even a marked, deletable state',
      object: task({ labels: { 'cmstate.io/status': 'failed' }, markedAt: '2026-11-20T00:00:00Z' }),
      policy: { statuses: ['succeeded'] },
      expected: { outcome: 'filtered-by-status' },
    },
    {
      name: 'empty status filter matches nothing',
      object: task(),
      policy: { statuses: [] },
      expected: { outcome: 'filtered-by-status' },
    },
    {
      name: 'status filter includes a listed status',
      object: task({ labels: { 'cmstate.io/status': 'cancelled' } }),
      policy: { statuses: ['succeeded', 'cancelled'] },
      expected: action('mark', 'expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 7d', {
        markedAt: '2026-11-22T08:00:00Z',
        deleteAfter: '2026-11-23T08:00:00Z',
      }),
    },
    {
      name: 'marked, expired, grace elapsed: delete',
      object: task({ markedAt: '2026-11-21T07:00:00Z' }),
      expected: action('delete', 'expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 7d; marked 2026-11-21T07:00:00Z, grace 1d elapsed'),
    },
    {
      name: 'marked exactly grace ago: delete',
      object: task({ markedAt: '2026-11-21T08:00:00Z' }),
      expected: action('delete', 'expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 7d; marked 2026-11-21T08:00:00Z, grace 1d elapsed'),
    },
    {
      name: 'marked with an offset marked-at, grace elapsed: delete',
      object: task({ markedAt: '2026-11-21T09:00:00+02:00' }),
      expected: action('delete', 'expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 7d; marked 2026-11-21T07:00:00Z, grace 1d elapsed'),
    },
    {
      name: 'marked, grace not elapsed: waiting',
      object: task({ markedAt: '2026-11-22T02:00:00Z' }),
      expected: {
        outcome: 'wait',
        waiting: {
          object: REF,
          deleteAfter: '2026-11-23T02:00:00Z',
          reason: 'expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 7d; marked 2026-11-22T02:00:00Z, deletable after 2026-11-23T02:00:00Z',
        },
      },
    },
    {
      name: 'marked, updated since the mark (still expired by its ttl): unmark',
      object: task({ lastUpdate: '2026-11-21T12:00:00Z', markedAt: '2026-11-21T00:00:00Z', annotations: { 'cmstate.io/ttl': '1h' } }),
      expected: action('unmark', 'updated since marked: last update 2026-11-21T12:00:00Z is after marked-at 2026-11-21T00:00:00Z'),
    },
    {
      name: 'marked, ttl annotation raised: no longer expired, unmark',
      object: task({ markedAt: '2026-11-20T00:00:00Z', annotations: { 'cmstate.io/ttl': '30d' } }),
      expected: action('unmark', 'no longer expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 30d (cmstate.io/ttl)'),
    },
    {
      name: 'malformed ttl: skipped',
      object: task({ annotations: { 'cmstate.io/ttl': 'forever' } }),
      expected: skip('task-a-state: annotation cmstate.io/ttl "forever" is not a duration'),
    },
    {
      name: 'negative ttl: skipped',
      object: task({ annotations: { 'cmstate.io/ttl': '-1d' } }),
      expected: skip('task-a-state: annotation cmstate.io/ttl "-1d" is not a duration'),
    },
    {
      name: 'malformed ttl on a marked, deletable state: skipped, not deleted',
      object: task({ markedAt: '2026-11-01T00:00:00Z', annotations: { 'cmstate.io/ttl': '7 days' } }),
      expected: skip('task-a-state: annotation cmstate.io/ttl "7 days" is not a duration'),
    },
    {
      name: 'malformed last-update: skipped',
      object: task({ lastUpdate: 'last tuesday' }),
      expected: skip('task-a-state: annotation cmstate.io/last-update "last tuesday" is not an RFC 3339 timestamp'),
    },
    {
      name: 'malformed last-update is not replaced by the data',
      object: task({ lastUpdate: '2026-11-10', lastUpdateFromData: '2026-11-10T08:00:00Z' }),
      expected: skip('task-a-state: annotation cmstate.io/last-update "2026-11-10" is not an RFC 3339 timestamp'),
    },
    {
      name: 'malformed last-update on a marked state: skipped, not deleted',
      object: task({ lastUpdate: '2026-13-01T00:00:00Z', markedAt: '2026-11-01T00:00:00Z' }),
      expected: skip('task-a-state: annotation cmstate.io/last-update "2026-13-01T00:00:00Z" is not an RFC 3339 timestamp'),
    },
    {
      name: 'marked, expired, malformed marked-at: skipped, not deleted',
      object: task({ markedAt: 'soon' }),
      expected: skip('task-a-state: annotation cmstate.io/marked-at "soon" is not an RFC 3339 timestamp; not deleting'),
    },
    {
      name: 'marked, expired, no marked-at: skipped, not deleted',
      object: task({ marked: true }),
      expected: skip('task-a-state: marked but has no cmstate.io/marked-at annotation; not deleting'),
    },
    {
      name: 'marked, no longer expired, malformed marked-at: unmark',
      object: task({ lastUpdate: '2026-11-21T08:00:00Z', markedAt: 'soon' }),
      expected: action('unmark', 'no longer expired: last update 2026-11-21T08:00:00Z is 1d old, ttl 7d'),
    },
    {
      name: 'a stale, malformed marked-at without the mark label is ignored',
      object: task({ marked: false, annotations: { 'cmstate.io/marked-at': 'soon' } }),
      expected: action('mark', 'expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 7d', {
        markedAt: '2026-11-22T08:00:00Z',
        deleteAfter: '2026-11-23T08:00:00Z',
      }),
    },
    {
      name: 'no last update at all: skipped',
      object: task({ lastUpdate: null }),
      expected: skip('task-a-state: no cmstate.io/last-update annotation and no data.last_update to read it from'),
    },
    {
      name: 'future last-update is not expired, even with ttl 0',
      object: task({ lastUpdate: '2026-12-01T00:00:00Z' }),
      policy: { ttl: Duration.fromObject({ seconds: 0 }) },
      expected: { outcome: 'not-expired' },
    },
    {
      name: 'future last-update on a marked state: unmark',
      object: task({ lastUpdate: '2026-12-01T00:00:00Z', markedAt: '2026-11-01T00:00:00Z' }),
      expected: action('unmark', 'updated since marked: last update 2026-12-01T00:00:00Z is after marked-at 2026-11-01T00:00:00Z'),
    },
    {
      name: 'marked-at in the future (clock skew): waiting',
      object: task({ markedAt: '2026-11-23T00:00:00Z' }),
      expected: {
        outcome: 'wait',
        waiting: {
          object: REF,
          deleteAfter: '2026-11-24T00:00:00Z',
          reason: 'expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 7d; marked 2026-11-23T00:00:00Z, deletable after 2026-11-24T00:00:00Z',
        },
      },
    },
    {
      name: 'legacy object: last update from data, expired',
      object: task({ lastUpdate: null, lastUpdateFromData: '2026-11-01T08:00:00Z' }),
      expected: action('mark', 'expired: last update 2026-11-01T08:00:00Z is 21d old, ttl 7d', {
        markedAt: '2026-11-22T08:00:00Z',
        deleteAfter: '2026-11-23T08:00:00Z',
      }),
    },
    {
      name: 'legacy object: last update from data, not expired',
      object: task({ lastUpdate: null, lastUpdateFromData: '2026-11-21T08:00:00Z' }),
      expected: { outcome: 'not-expired' },
    },
    {
      name: 'legacy object: malformed data.last_update',
      object: task({ lastUpdate: null, lastUpdateFromData: 'n/a' }),
      expected: skip('task-a-state: data.last_update "n/a" is not an RFC 3339 timestamp'),
    },
    {
      name: 'annotation wins over data',
      object: task({ lastUpdate: '2026-11-21T08:00:00Z', lastUpdateFromData: '2026-01-01T00:00:00Z' }),
      expected: { outcome: 'not-expired' },
    },
    {
      name: 'now in another zone decides the same',
      object: task(),
      now: NOW.setZone('Asia/Kolkata'),
      expected: action('mark', 'expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 7d', {
        markedAt: '2026-11-22T08:00:00Z',
        deleteAfter: '2026-11-23T08:00:00Z',
      }),
    },
    {
      name: 'object without uid: ref without uid',
      object: task({ uid: null }),
      expected: {
        outcome: 'act',
        action: {
          kind: 'mark',
          object: { namespace: 'ns1', name: 'task-a-state', resourceVersion: '7' },
          reason: 'expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 7d',
          markedAt: '2026-11-22T08:00:00Z',
          deleteAfter: '2026-11-23T08:00:00Z',
        },
      },
    },
    { name: 'archive: not a task', object: archive('task-a-state-archive-1', { ownerName: 'task-a-state' }), expected: { outcome: 'not-a-task' } },
    {
      name: 'ConfigMap without the state label: not a task',
      object: (() => {
        const o = task();
        delete o.labels['cmstate.io/state'];
        return o;
      })(),
      expected: { outcome: 'not-a-task' },
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(planTask(c.object, { ...POLICY, ...c.policy }, c.now ?? NOW), c.expected);
    });
  }
});

describe('planSweep', () => {
  const deletable = (name: string, namespace = 'ns1') => task({ name, namespace, markedAt: '2026-11-20T00:00:00Z' });
  const ref = (o: SweepObject) => ({ namespace: o.namespace, name: o.name, uid: o.uid, resourceVersion: o.resourceVersion });

  test('a delete lists its archives, by owner, task-id label or name, in the same namespace only', () => {
    const a = deletable('task-a-state');
    const byOwner = archive('task-a-state-archive-1', { ownerName: 'task-a-state', taskId: 'a' });
    const byLabel = archive('task-a-state-archive-2', { taskId: 'a' });
    const byName = archive('task-a-state-archive-4');
    const otherNamespace = archive('task-a-state-archive-1', { namespace: 'ns2', ownerName: 'task-a-state' });
    const ownerWinsOverLabel = archive('task-b-state-archive-1', { ownerName: 'task-b-state', taskId: 'a' });
    const kept = archive('task-a-state-archive-3', { ownerName: 'task-a-state', keep: true });
    const orphan = archive('task-gone-state-archive-1', { ownerName: 'task-gone-state' });
    const b = task({ name: 'task-b-state', lastUpdate: '2026-11-21T00:00:00Z' });

    const plan = planSweep([byOwner, a, byLabel, byName, otherNamespace, ownerWinsOverLabel, kept, orphan, b], POLICY, NOW);

    assert.deepEqual(plan.actions, [
      {
        kind: 'delete',
        object: ref(a),
        reason: 'expired: last update 2026-11-10T08:00:00Z is 12d old, ttl 7d; marked 2026-11-20T00:00:00Z, grace 1d elapsed',
        archives: [ref(byOwner), ref(byLabel), ref(byName)],
      },
    ]);
    assert.equal(plan.stats.archives, 7);
    assert.equal(plan.stats.notExpired, 1);
  });

  test('a delete without archives carries an empty list; marks and unmarks carry none', () => {
    const plan = planSweep([deletable('task-a-state'), task({ name: 'task-b-state' })], POLICY, NOW);
    assert.deepEqual(
      plan.actions.map((a) => [a.kind, a.object.name, a.archives]),
      [
        ['delete', 'task-a-state', []],
        ['mark', 'task-b-state', undefined],
      ],
    );
  });

  test('archives of a task that is only marked are left alone', () => {
    const plan = planSweep([task(), archive('task-a-state-archive-1', { ownerName: 'task-a-state' })], POLICY, NOW);
    assert.deepEqual(
      plan.actions.map((a) => a.kind),
      ['mark'],
    );
    assert.equal(plan.actions[0]?.archives, undefined);
  });

  test('stats: every task lands in exactly one bucket', () => {
    const objects = [
      task({ name: 'task-mark-state' }),
      deletable('task-delete-state'),
      task({ name: 'task-unmark-state', markedAt: '2026-11-20T00:00:00Z', lastUpdate: '2026-11-21T00:00:00Z' }),
      task({ name: 'task-wait-state', markedAt: '2026-11-22T00:00:00Z' }),
      task({ name: 'task-keep-state', labels: { 'cmstate.io/keep': 'true' } }),
      task({ name: 'task-keepmarked-state', labels: { 'cmstate.io/keep': 'true' }, markedAt: '2026-11-20T00:00:00Z' }),
      task({ name: 'task-fresh-state', lastUpdate: '2026-11-22T07:00:00Z' }),
      task({ name: 'task-failed-state', labels: { 'cmstate.io/status': 'failed' } }),
      task({ name: 'task-bad-state', annotations: { 'cmstate.io/ttl': 'forever' } }),
      archive('task-delete-state-archive-1', { ownerName: 'task-delete-state' }),
      { ...task({ name: 'unrelated' }), labels: {} },
    ];
    const plan = planSweep(objects, { ...POLICY, statuses: ['succeeded'] }, NOW);

    assert.deepEqual(plan.stats, { observed: 11, tasks: 9, archives: 1, kept: 1, waiting: 1, notExpired: 1, filteredByStatus: 1 });
    assert.deepEqual(
      plan.actions.map((a) => `${a.kind} ${a.object.name}`),
      ['mark task-mark-state', 'delete task-delete-state', 'unmark task-unmark-state', 'unmark task-keepmarked-state'],
    );
    assert.deepEqual(
      plan.skipped.map((s) => s.reason),
      ['task-bad-state: annotation cmstate.io/ttl "forever" is not a duration'],
    );
    assert.deepEqual(
      plan.waiting.map((w) => [w.object.name, w.deleteAfter]),
      [['task-wait-state', '2026-11-23T00:00:00Z']],
    );
    const { stats } = plan;
    assert.equal(plan.actions.length + plan.skipped.length + stats.waiting + stats.kept + stats.notExpired + stats.filteredByStatus, stats.tasks);
  });

  test('planSweep agrees with planTask for every task', () => {
    const objects = [task({ name: 'task-x-state' }), deletable('task-y-state'), task({ name: 'task-z-state', lastUpdate: 'bad' })];
    const plan = planSweep(objects, POLICY, NOW);
    const fromTasks = objects.map((o) => planTask(o, POLICY, NOW));
    assert.deepEqual(
      plan.actions.map((a) => ({ ...a, archives: undefined })),
      fromTasks.flatMap((d) => (d.outcome === 'act' ? [{ ...d.action, archives: undefined }] : [])),
    );
    assert.deepEqual(
      plan.skipped,
      fromTasks.flatMap((d) => (d.outcome === 'skip' ? [d.skip] : [])),
    );
  });

  test('two passes over pages: archives indexed in the first, attached per page in the second, give the same plan', () => {
    const page1 = [deletable('task-a-state'), deletable('task-b-state')];
    const page2 = [archive('task-a-state-archive-1', { ownerName: 'task-a-state' }), task({ name: 'task-c-state' })];
    const page3 = [archive('task-b-state-archive-1', { taskId: 'b' }), archive('task-a-state-archive-2', { ownerName: 'task-a-state' })];
    const pages = [page1, page2, page3];

    const index = new Map();
    for (const page of pages) indexArchives(page, index);
    const streamed: SweepAction[] = [];
    for (const page of pages) {
      for (const object of page) {
        const decision = planTask(object, POLICY, NOW);
        if (decision.outcome !== 'act') continue;
        const { action } = decision;
        streamed.push(action.kind === 'delete' ? { ...action, archives: archivesOf(index, action.object) } : action);
      }
    }

    assert.deepEqual(streamed, planSweep(pages.flat(), POLICY, NOW).actions);
    assert.deepEqual(
      streamed.map((a) => [a.object.name, a.archives?.map((r) => r.name)]),
      [
        ['task-a-state', ['task-a-state-archive-1', 'task-a-state-archive-2']],
        ['task-b-state', ['task-b-state-archive-1']],
        ['task-c-state', undefined],
      ],
    );
  });

  test('indexArchives lists an archive seen twice once', () => {
    const a1 = archive('task-a-state-archive-1', { ownerName: 'task-a-state' });
    const index = indexArchives([a1, task()]);
    indexArchives([a1], index);
    assert.deepEqual([...index.entries()], [[taskKey('ns1', 'task-a-state'), [ref(a1)]]]);
  });

  test('archivesOf returns a copy: changing it leaves the index alone', () => {
    const index = indexArchives([archive('task-a-state-archive-1', { ownerName: 'task-a-state' })]);
    const task = { namespace: 'ns1', name: 'task-a-state', resourceVersion: '1' };
    const archives = archivesOf(index, task);
    assert.equal(archives.length, 1);
    archives.push(REF);
    assert.equal(index.get(taskKey('ns1', 'task-a-state'))?.length, 1);
    assert.deepEqual(archivesOf(index, { ...task, name: 'task-z-state' }), []);
  });

  test('no objects: an empty plan', () => {
    assert.deepEqual(planSweep([], POLICY, NOW), {
      actions: [],
      skipped: [],
      waiting: [],
      stats: { observed: 0, tasks: 0, archives: 0, kept: 0, waiting: 0, notExpired: 0, filteredByStatus: 0 },
    });
  });
});

describe('needsLastUpdateFromData', () => {
  const cases: [name: string, object: SweepObject, policy: SweepPolicy, expected: boolean][] = [
    ['task without the annotation', task({ lastUpdate: null }), POLICY, true],
    ['task with the annotation', task(), POLICY, false],
    ['already read', task({ lastUpdate: null, lastUpdateFromData: '2026-11-01T00:00:00Z' }), POLICY, false],
    ['kept', task({ lastUpdate: null, labels: { 'cmstate.io/keep': 'true' } }), POLICY, false],
    ['filtered by status', task({ lastUpdate: null }), { ...POLICY, statuses: ['failed'] }, false],
    ['archive', archive('task-a-state-archive-1'), POLICY, false],
  ];
  for (const [name, object, policy, expected] of cases) {
    test(name, () => assert.equal(needsLastUpdateFromData(object, policy), expected));
  }
});
