import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConfigMap } from '../../../src/kube/types.js';
import { archiveConfigMapName, ownerConfigMapName, parseArchiveName, stateConfigMapName, taskIdFromName, taskOfArchive } from '../../../src/state/labels.js';
import { configMapSize } from '../../../src/state/size.js';

describe('names', () => {
  test('state and archive names', () => {
    assert.equal(stateConfigMapName('fix-42'), 'task-fix-42-state');
    assert.equal(archiveConfigMapName('fix-42', 3), 'task-fix-42-state-archive-3');
  });

  const ids: [string, string | undefined][] = [
    ['task-fix-42-state', 'fix-42'],
    ['task-a-state', 'a'],
    ['task-state-state', 'state'],
    ['task--state', undefined],
    ['task-A-state', undefined],
    ['task-a-state-archive-1', undefined],
    ['other', undefined],
  ];
  for (const [name, id] of ids) test(`taskIdFromName(${name}) = ${id}`, () => assert.equal(taskIdFromName(name), id));

  const archives: [string, { taskId: string; index: number } | undefined][] = [
    ['task-a-state-archive-1', { taskId: 'a', index: 1 }],
    ['task-a-state-archive-1-state-archive-12', { taskId: 'a-state-archive-1', index: 12 }],
    ['task-a-state-archive-0', undefined],
    ['task-a-state', undefined],
  ];
  for (const [name, parsed] of archives) test(`parseArchiveName(${name})`, () => assert.deepEqual(parseArchiveName(name), parsed));
});

describe('configMapSize', () => {
  const cases: { name: string; cm: Pick<ConfigMap, 'data' | 'binaryData'>; bytes: number }[] = [
    { name: 'empty', cm: {}, bytes: 0 },
    { name: 'UTF-8 bytes of data values, keys excluded', cm: { data: { a: 'é', bbbbbb: '🦀' } }, bytes: 2 + 4 },
    { name: 'decoded bytes of binaryData', cm: { binaryData: { k: Buffer.alloc(10).toString('base64') } }, bytes: 10 },
    { name: 'both', cm: { data: { a: 'xyz' }, binaryData: { k: 'AQID' } }, bytes: 6 },
  ];
  for (const c of cases) test(c.name, () => assert.equal(configMapSize(c.cm), c.bytes));
});

describe('taskOfArchive: which task state an archive belongs to, one precedence for every job', () => {
  const name = 'task-b-state-archive-2';
  test('the owner first (garbage collection follows it), then the task-id label, then the name', () => {
    assert.equal(taskOfArchive({ name, labels: { 'cmstate.io/task-id': 'c' }, ownerName: 'task-a-state' }), 'task-a-state');
    assert.equal(taskOfArchive({ name, labels: { 'cmstate.io/task-id': 'c' } }), 'task-c-state');
    assert.equal(taskOfArchive({ name }), 'task-b-state');
    assert.equal(taskOfArchive({ name: 'not-an-archive' }), undefined);
  });
  test('the owner is the ConfigMap among the owner references', () => {
    const ownerReferences = [
      { kind: 'Deployment', name: 'controller' },
      { kind: 'ConfigMap', name: 'task-a-state' },
    ];
    assert.equal(ownerConfigMapName({ ownerReferences }), 'task-a-state');
    assert.equal(ownerConfigMapName({}), undefined);
  });
});
