import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WatchLineSplitter } from '../../../src/kube/watch-stream.js';

test('watch lines are split as they arrive, across chunks and inside multi-byte characters', () => {
  const splitter = new WatchLineSplitter();
  const bytes = Buffer.from('{"type":"ADDED","x":"é"}\n\n{"type":"BOOKMARK"}\n{"type":"MOD');
  const cut = bytes.indexOf(0xa9); // the second byte of é
  assert.deepEqual(splitter.push(bytes.subarray(0, cut)), []);
  assert.deepEqual(splitter.push(bytes.subarray(cut)), ['{"type":"ADDED","x":"é"}', '{"type":"BOOKMARK"}']);
  assert.deepEqual(splitter.push(Buffer.from('IFIED"}\n')), ['{"type":"MODIFIED"}']);
});
