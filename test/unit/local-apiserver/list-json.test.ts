// The local API server's list serializers, which produce a list in pieces (the head, each item's
// cached JSON, the end) so that no list has to be one string: joined, the pieces are the list as
// kube-apiserver writes it, byte for byte.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listPieces } from '../../../src/local-apiserver/list-json.js';
import { CONFIGMAPS } from '../../../src/local-apiserver/resources.js';
import type { KubeObject } from '../../../src/local-apiserver/resource-def.js';
import { StoredObject } from '../../../src/local-apiserver/store.js';
import { tablePieces, type IncludeObject } from '../../../src/local-apiserver/table.js';

const CREATED = '2026-12-01T12:00:00Z';
const NOW = Date.parse(CREATED) + 90_000;

function stored(name: string, rv: number, data: Record<string, string>): StoredObject {
  const obj: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: String(rv), creationTimestamp: CREATED },
    data,
  };
  return new StoredObject(CONFIGMAPS, `ns/${name}`, obj, rv);
}

const ITEMS = [stored('a', 101, { k: 'v' }), stored('b', 102, { 'é"\\': 'x'.repeat(5000), two: '2' })];

/** What kube-apiserver writes as a list item: the object without the apiVersion and kind the list states once. */
function item(s: StoredObject): Record<string, unknown> {
  const { apiVersion: _apiVersion, kind: _kind, ...rest } = s.obj;
  return rest;
}

const partial = (s: StoredObject) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: s.obj.metadata });

describe('listPieces', () => {
  const cases: { name: string; metadataOnly: boolean; listMeta: Record<string, unknown>; items: StoredObject[]; expected: unknown }[] = [
    {
      name: 'a full list: items without apiVersion and kind',
      metadataOnly: false,
      listMeta: { resourceVersion: '102' },
      items: ITEMS,
      expected: { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '102' }, items: ITEMS.map(item) },
    },
    {
      name: 'an empty full list: "items":[]',
      metadataOnly: false,
      listMeta: { resourceVersion: '102' },
      items: [],
      expected: { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '102' }, items: [] },
    },
    {
      name: 'a metadata-only page with a continue token',
      metadataOnly: true,
      listMeta: { resourceVersion: '102', continue: 'token', remainingItemCount: 3 },
      items: ITEMS,
      expected: {
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        metadata: { resourceVersion: '102', continue: 'token', remainingItemCount: 3 },
        items: ITEMS.map(partial),
      },
    },
    {
      name: 'an empty metadata-only list: "items":null (a Go nil slice)',
      metadataOnly: true,
      listMeta: { resourceVersion: '102' },
      items: [],
      expected: { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: '102' }, items: null },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const pieces = [...listPieces(CONFIGMAPS, c.metadataOnly, c.listMeta, c.items)];
      assert.equal(pieces.join(''), JSON.stringify(c.expected));
      // Each item is a piece of its own: the cached serialization, never concatenated with the rest.
      for (const s of c.items) assert.ok(pieces.includes(c.metadataOnly ? s.metadataJson() : s.itemJson()));
    });
  }
});

describe('tablePieces', () => {
  const objects: Record<IncludeObject, (s: StoredObject) => unknown> = { None: () => null, Metadata: partial, Object: (s) => s.obj };
  for (const include of ['None', 'Metadata', 'Object'] as const) {
    test(`includeObject=${include}: rows of cells and ${include === 'None' ? 'no object' : include === 'Metadata' ? 'a PartialObjectMetadata' : 'the whole object'}`, () => {
      const pieces = [...tablePieces('ConfigMap', ITEMS, { resourceVersion: '102' }, include, NOW)];
      const json = pieces.join('');
      const table = JSON.parse(json) as { columnDefinitions: unknown[] };
      const expected = {
        kind: 'Table',
        apiVersion: 'meta.k8s.io/v1',
        metadata: { resourceVersion: '102' },
        columnDefinitions: table.columnDefinitions,
        rows: ITEMS.map((s) => ({ cells: [s.name, Object.keys(s.obj['data'] as object).length, '90s'], object: objects[include](s) })),
      };
      assert.equal(json, JSON.stringify(expected));
      assert.deepEqual(
        table.columnDefinitions.map((d) => (d as { name: string }).name),
        ['Name', 'Data', 'Age'],
      );
      if (include === 'Object') for (const s of ITEMS) assert.ok(pieces.includes(s.json()));
    });
  }

  test('an empty Table: "rows":[]', () => {
    const json = [...tablePieces('ConfigMap', [], { resourceVersion: '102' }, 'Metadata', NOW)].join('');
    assert.match(json, /^\{"kind":"Table","apiVersion":"meta\.k8s\.io\/v1","metadata":\{"resourceVersion":"102"\},"columnDefinitions":\[.*\],"rows":\[\]\}$/);
  });

  test('a kind without a printer throws at once, before a piece is produced (the answer is then still a Status)', () => {
    assert.throws(() => tablePieces('Secret', ITEMS, {}, 'None', NOW), /no Table printer for Secret/);
  });
});
