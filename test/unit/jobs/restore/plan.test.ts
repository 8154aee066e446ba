// Restore's pure decisions (jobs/restore/plan.ts): what a run restores, where, with which owners,
// and what becomes of each object.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ownedByConfigMap, prepareObject, restoreAction, selected, targetNamespace } from '../../../../jobs/restore/plan.js';
import { parseLabelSelector } from '../../../../src/kube/selectors.js';
import type { ConfigMap } from '../../../../src/kube/types.js';

const state = (id: string, labels: Record<string, string> = {}): ConfigMap => ({
  metadata: { name: `task-${id}-state`, namespace: 'snap', uid: `old-${id}`, labels: { 'cmstate.io/state': 'task', 'cmstate.io/task-id': id, ...labels } },
  data: {},
});
const archive = (id: string, n: number): ConfigMap => ({
  metadata: {
    name: `task-${id}-state-archive-${n}`,
    namespace: 'snap',
    labels: { 'cmstate.io/state': 'archive' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: `task-${id}-state`, uid: `old-${id}`, controller: true }],
  },
  data: {},
});

describe('restore plan', () => {
  test('what becomes of an object: create what is missing; overwrite replaces, create-missing leaves what exists', () => {
    assert.equal(restoreAction('create-missing', false), 'create');
    assert.equal(restoreAction('create-missing', true), 'skip-exists');
    assert.equal(restoreAction('overwrite', false), 'create');
    assert.equal(restoreAction('overwrite', true), 'overwrite');
  });

  test('--task selects a task with its archives (by label or by name); --selector by labels', () => {
    const taskIds = new Set(['a']);
    assert.equal(selected(state('a'), { taskIds }), true);
    assert.equal(selected(archive('a', 1), { taskIds }), true, 'an archive without the label, by its name');
    assert.equal(selected(state('b'), { taskIds }), false);
    const selector = parseLabelSelector('team=x');
    assert.equal(selected(state('a', { team: 'x' }), { selector }), true);
    assert.equal(selected(state('a', { team: 'y' }), { selector }), false);
    assert.equal(selected(state('a', { team: 'x' }), { taskIds: new Set(['b']), selector }), false, 'both must match');
  });

  test("owners first: archives are owned; the namespace is the override or the snapshot's", () => {
    assert.equal(ownedByConfigMap(state('a')), false);
    assert.equal(ownedByConfigMap(archive('a', 1)), true);
    assert.equal(targetNamespace(state('a'), undefined), 'snap');
    assert.equal(targetNamespace(state('a'), 'elsewhere'), 'elsewhere');
  });

  test('owner references point at the owners of now; a missing owner or another kind is dropped, not kept stale', () => {
    const kept = prepareObject(archive('a', 1), 'dest', (name) => (name === 'task-a-state' ? 'new-a' : undefined));
    assert.equal(kept.object.metadata.namespace, 'dest');
    assert.deepEqual(kept.object.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'task-a-state', uid: 'new-a', controller: true }]);
    assert.deepEqual(kept.droppedOwners, []);

    const orphan = prepareObject(archive('a', 1), 'dest', () => undefined);
    assert.equal(orphan.object.metadata.ownerReferences, undefined, 'a stale uid would have the garbage collector delete it');
    assert.deepEqual(orphan.droppedOwners, ['ConfigMap/task-a-state']);

    const foreign = archive('a', 2);
    foreign.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'controller', uid: 'd-1' }];
    assert.deepEqual(prepareObject(foreign, 'dest', () => 'any').droppedOwners, ['Deployment/controller']);
  });
});
