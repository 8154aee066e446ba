import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidShardError, fnv1a32, inShard, shardKey, shardOf } from '../../../src/job/shard.js';

// Deterministic, varied task ids: a linear congruential generator, so the test needs no randomness.
function names(count: number): string[] {
  const out: string[] = [];
  let seed = 12345;
  for (let i = 0; i < count; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    out.push(`task-${seed.toString(36)}-${i}-state`);
  }
  return out;
}
const NAMES = names(10_000);

describe('fnv1a32', () => {
  // Reference vectors of FNV-1a 32 (isthe.com/chongo/tech/comp/fnv); "é" (UTF-8 c3 a9) computed independently in Python.
  const vectors: [text: string, hash: number][] = [
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
    ['é', 0x1e9de8c1],
  ];
  for (const [text, hash] of vectors) {
    test(`${JSON.stringify(text)} → 0x${hash.toString(16)}`, () => assert.equal(fnv1a32(text), hash));
  }
});

describe('shardKey', () => {
  const cases: [name: string, key: string][] = [
    ['task-a1-state', 'a1'],
    ['task-a1-state-archive-1', 'a1'],
    ['task-a1-state-archive-12', 'a1'],
    ['task-x-state-state', 'x-state'],
    ['task-x-state-state-archive-3', 'x-state'],
    ['task-a-state-archive-1-state', 'a-state-archive-1'],
    ['task-a-state-archive-1-state-archive-2', 'a-state-archive-1'],
    ['cmstate-sweep', 'cmstate-sweep'],
    ['task-a-state-archive-x', 'task-a-state-archive-x'],
  ];
  for (const [name, key] of cases) {
    test(`${name} → ${key}`, () => assert.equal(shardKey(name), key));
  }
});

describe('shardOf / inShard', () => {
  for (let count = 1; count <= 7; count++) {
    test(`${count} shard(s): disjoint, union is every name, roughly even`, () => {
      const sizes = new Array<number>(count).fill(0);
      for (const name of NAMES) {
        const owners = [...Array(count).keys()].filter((index) => inShard(name, index, count));
        assert.equal(owners.length, 1, `${name} is in shards ${owners.join(',')}`);
        assert.equal(owners[0], shardOf(name, count));
        sizes[owners[0]!]! += 1;
      }
      assert.equal(
        sizes.reduce((a, b) => a + b, 0),
        NAMES.length,
      );
      const mean = NAMES.length / count;
      for (const size of sizes) assert.ok(Math.abs(size - mean) < mean * 0.1, `shard sizes ${sizes.join(',')}`);
    });
  }

  test('archives land in the shard of their task, for every count', () => {
    for (const count of [2, 3, 5, 7, 16]) {
      for (const name of NAMES.slice(0, 1_000)) {
        const archiveName = `${name}-archive-${count}`;
        assert.equal(shardOf(archiveName, count), shardOf(name, count), `${archiveName} with ${count} shards`);
      }
    }
  });

  test('stable: the same name always lands in the same shard', () => {
    assert.deepEqual(
      ['task-a-state', 'task-b-state', 'task-c-state', 'other'].map((n) => shardOf(n, 7)),
      ['a', 'b', 'c', 'other'].map((k) => fnv1a32(k) % 7),
    );
  });

  const invalid: [name: string, run: () => unknown, message: string][] = [
    ['count 0', () => shardOf('x', 0), 'invalid shard count 0: use a whole number of 1 or more'],
    ['count 1.5', () => shardOf('x', 1.5), 'invalid shard count 1.5: use a whole number of 1 or more'],
    ['count NaN', () => inShard('x', 0, Number.NaN), 'invalid shard count NaN: use a whole number of 1 or more'],
    ['index = count', () => inShard('x', 3, 3), 'invalid shard index 3: use 0 to 2 for 3 shards'],
    ['index -1', () => inShard('x', -1, 3), 'invalid shard index -1: use 0 to 2 for 3 shards'],
  ];
  for (const [name, run, message] of invalid) {
    test(`rejects ${name}`, () => {
      assert.throws(run, (err: unknown) => err instanceof InvalidShardError && err.message === message);
    });
  }
});
