// The list splitter must find every item of a list answer however its bytes are chunked, never be
// misled by what is inside strings or items, keep the rest of the document parseable, and stop
// when told. The page collector keeps items by bytes, skips what was already yielded.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fullObjectConcurrency, ListSplitter, ListStreamError, PageCollector, type ItemVerdict } from '../../../src/kube/list-stream.js';

/** Splits `json` fed in chunks of `size` bytes; returns the parsed items and the rest. */
function split(json: string, size: number, verdict: (index: number) => ItemVerdict = () => 'more') {
  const items: unknown[] = [];
  const splitter = new ListSplitter((bytes) => {
    items.push(JSON.parse(bytes.toString('utf8')));
    return verdict(items.length - 1);
  });
  const bytes = Buffer.from(json, 'utf8');
  let going = true;
  for (let at = 0; at < bytes.length && going; at += size) going = splitter.push(bytes.subarray(at, at + size));
  return { items, going, splitter };
}

const TRICKY_ITEMS = [
  { metadata: { name: 'a', namespace: 'n' }, data: { text: 'quotes " and \\" and \\\\ and } ] { [ , :' } },
  { metadata: { name: 'b', annotations: { items: '[1,2]' } }, data: { items: '{"items":[{"x":1}]}' }, nested: [[{}], []] },
  { metadata: { name: 'ü-ñ', labels: { 'k\\"': 'v' } }, data: { emoji: '🙂 \u0000 \n\t' } },
];

describe('ListSplitter', () => {
  test('every item and the rest, whatever the chunk size (1 byte to all at once)', () => {
    const list = { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '7', continue: 'tok"en' }, items: TRICKY_ITEMS };
    const json = JSON.stringify(list, null, 1);
    for (const size of [1, 2, 3, 7, 64, json.length]) {
      const { items, splitter } = split(json, size);
      assert.deepEqual(items, TRICKY_ITEMS, `chunk size ${size}`);
      assert.deepEqual(JSON.parse(splitter.finish()), { ...list, items: [] }, `chunk size ${size}`);
    }
  });

  test('items before metadata, and a nested "items" key inside metadata, are told apart', () => {
    const json = '{"items":[{"metadata":{"name":"x","items":[5]}}],"metadata":{"items":[{"not":"an item"}],"continue":""},"kind":"List"}';
    const { items, splitter } = split(json, 5);
    assert.deepEqual(items, [{ metadata: { name: 'x', items: [5] } }]);
    assert.deepEqual(JSON.parse(splitter.finish()), { items: [], metadata: { items: [{ not: 'an item' }], continue: '' }, kind: 'List' });
  });

  test('"items": null (an empty metadata-only list) and an empty array', () => {
    for (const json of ['{"kind":"PartialObjectMetadataList","metadata":{},"items":null}', '{"metadata":{},"items":[ ]}']) {
      const { items, splitter } = split(json, 4);
      assert.deepEqual(items, []);
      assert.deepEqual(JSON.parse(splitter.finish()), JSON.parse(json.replace('[ ]', '[]')));
    }
  });

  test('stop: no further item is read and finish refuses', () => {
    const json = JSON.stringify({ metadata: {}, items: TRICKY_ITEMS });
    const { items, going, splitter } = split(json, 10, (index) => (index === 1 ? 'stop' : 'more'));
    assert.equal(items.length, 2);
    assert.equal(going, false);
    assert.throws(() => splitter.finish(), ListStreamError);
  });

  test('a truncated answer is an error, not a short list', () => {
    const json = JSON.stringify({ metadata: {}, items: TRICKY_ITEMS });
    for (const cut of [json.length - 1, json.indexOf('quotes') + 3, 20]) {
      const { splitter } = split(json.slice(0, cut), 8);
      assert.throws(() => splitter.finish(), /truncated/);
    }
  });

  test('items that are not objects are refused with a clear message', () => {
    const splitter = new ListSplitter(() => 'more');
    assert.throws(() => splitter.push(Buffer.from('{"items":[1,2]}')), /items array holds "1…", not objects/);
  });
});

describe('PageCollector', () => {
  const item = (name: string, bytes: number) => Buffer.from(JSON.stringify({ metadata: { namespace: 'n', name }, data: { d: 'x'.repeat(bytes) } }));

  test('keeps items until the next would pass the budget; the first is kept however large', () => {
    const collector = new PageCollector(2500, undefined);
    assert.equal(collector.add(item('a', 3000)), 'more');
    assert.equal(collector.add(item('b', 10)), 'stop');
    assert.deepEqual(
      collector.items.map((i) => i.metadata?.name),
      ['a'],
    );
    assert.equal(collector.cut, true);

    const fits = new PageCollector(2500, undefined);
    for (const name of ['a', 'b', 'c']) assert.equal(fits.add(item(name, 700)), 'more');
    assert.equal(fits.add(item('d', 700)), 'stop');
    assert.deepEqual(
      fits.items.map((i) => i.metadata?.name),
      ['a', 'b', 'c'],
    );
  });

  test('skips what was already yielded (keys up to `after`) without counting it', () => {
    const collector = new PageCollector(1000, 'n/b');
    for (const name of ['a', 'b']) assert.equal(collector.add(item(name, 900)), 'more');
    assert.equal(collector.add(item('c', 900)), 'more');
    assert.deepEqual(
      collector.items.map((i) => i.metadata?.name),
      ['c'],
    );
    assert.ok(collector.largest > 900);
  });
});

test('whole objects in flight fit the page budget at the object size limit; never fewer than one', () => {
  const MIB = 1024 * 1024;
  assert.equal(fullObjectConcurrency({ concurrency: 8, pageBytes: 32 * MIB }), 8);
  assert.equal(fullObjectConcurrency({ concurrency: 64, pageBytes: 32 * MIB }), 21);
  assert.equal(fullObjectConcurrency({ concurrency: 8, pageBytes: MIB }), 1);
});
