import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseByteQuantity } from '../../../src/util/quantity.js';

test('byte quantities as Kubernetes writes them; anything else is undefined', () => {
  assert.equal(parseByteQuantity('32Mi'), 32 * 1024 * 1024);
  assert.equal(parseByteQuantity('1Gi'), 1024 ** 3);
  assert.equal(parseByteQuantity('1.5Mi'), 1.5 * 1024 * 1024);
  assert.equal(parseByteQuantity('33554432'), 33554432);
  assert.equal(parseByteQuantity('2M'), 2_000_000);
  for (const bad of ['', '32 MB', '32mi', '-1Mi', 'Mi', '1e6', '32MiB']) assert.equal(parseByteQuantity(bad), undefined, bad);
});
