import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ConfigMap } from '../../../src/kube/types.js';
import { decodeArchive, decodeState, decodeStateLenient, decodeStateWithInfo } from '../../../src/state/decode.js';
import { encodeState } from '../../../src/state/encode.js';
import { StateDecodeError, StateEncodeError } from '../../../src/state/errors.js';
import { FEEDBACK_GZ_KEY } from '../../../src/state/labels.js';
import type { FeedbackEntry, TaskState } from '../../../src/state/schema.js';
import { configMapSize } from '../../../src/state/size.js';
import { entry, makeState } from './fixtures.js';

const ns = 'tasks';

function encoded(state: TaskState = makeState()): ConfigMap {
  return encodeState(state, { namespace: ns }).configMap;
}

/** An encoded ConfigMap with some data keys replaced (undefined removes the key). */
function withData(changes: Record<string, string | undefined>, base: ConfigMap = encoded()): ConfigMap {
  const data = { ...base.data };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete data[key];
    else data[key] = value;
  }
  return { ...base, data };
}

describe('encodeState / decodeState round trip', () => {
  test('every field survives, unicode included, and the data is the wire text', () => {
    const state = makeState({
      task_id: 'fix-42',
      iteration: 3,
      max_iterations: 7,
      status: 'failed',
      last_update: '2025-03-01T12:00:00.123456Z',
      iteration_history: [1, 2, 3].map((n) => ({ iteration: n, started_at: `2025-03-01T0${n}:00:00Z` })),
      status_history: [
        { from: 'pending', to: 'in_progress', at: '2025-03-01T01:00:00Z', reason: 'start' },
        { from: 'in_progress', to: 'failed', at: '2025-03-01T03:30:00Z', reason: 'tests 🔥 ç\u2028x' },
      ],
      error_messages: ['boom', '日本語のエラー', 'quote " and \\ backslash'],
      metadata: { owner: 'équipe', 'repo.url': 'https://example.com/x?y=1', emoji: '🦀' },
      feedback_history: [entry(1, { description: 'Ünïcödé 🎉 — "quoted"\nnewline' }), entry(2, { iteration: 3, severity: 'critical', issue_type: 'security', resolved: true })],
      feedback_archived: 4,
    });
    const { configMap, archives, archivedEntries } = encodeState(state, { namespace: ns, managedBy: 'rust-controller' });
    assert.deepEqual(archives, []);
    assert.equal(archivedEntries, 0);
    assert.deepEqual(decodeState(configMap), state);
    assert.deepEqual(decodeStateWithInfo(configMap), { state, legacy: false });

    assert.equal(configMap.metadata.name, 'task-fix-42-state');
    assert.equal(configMap.metadata.namespace, ns);
    assert.deepEqual(configMap.metadata.labels, {
      'cmstate.io/state': 'task',
      'cmstate.io/task-id': 'fix-42',
      'cmstate.io/status': 'failed',
      'app.kubernetes.io/managed-by': 'rust-controller',
    });
    assert.deepEqual(configMap.metadata.annotations, { 'cmstate.io/last-update': '2025-03-01T12:00:00.123456Z' });
    const data = configMap.data ?? {};
    assert.deepEqual(Object.keys(data).sort(), [
      'error_messages',
      'feedback_archived',
      'feedback_history',
      'iteration',
      'iteration_history',
      'last_update',
      'max_iterations',
      'metadata',
      'status',
      'status_history',
      'task_id',
      'version',
    ]);
    assert.equal(data.version, '1');
    assert.equal(data.iteration, '3');
    assert.equal(data.max_iterations, '7');
    assert.equal(data.feedback_archived, '4');
    assert.equal(data.metadata, '{"owner":"équipe","repo.url":"https://example.com/x?y=1","emoji":"🦀"}');
    assert.equal(data.error_messages, JSON.stringify(state.error_messages));
    assert.equal(configMap.binaryData, undefined);
  });

  test('status_history and error_messages keep their last 50', () => {
    const history = Array.from({ length: 60 }, (_, i) => ({ from: 'in_progress' as const, to: 'in_progress' as const, at: '2025-03-01T09:00:00Z', reason: `r${i}` }));
    const errors = Array.from({ length: 70 }, (_, i) => `e${i}`);
    const result = encodeState(makeState({ status_history: history, error_messages: errors }), { namespace: ns });
    const decoded = decodeState(result.configMap);
    assert.deepEqual(
      decoded.status_history.map((h) => h.reason),
      history.slice(10).map((h) => h.reason),
    );
    assert.deepEqual(decoded.error_messages, errors.slice(20));
    assert.deepEqual(result.state, decoded);
  });

  test('an invalid state is refused with the field named', () => {
    assert.throws(
      () => encodeState(makeState({ last_update: '2025-03-01T12:00:00+02:00' }), { namespace: ns }),
      (e: unknown) => {
        assert.ok(e instanceof StateEncodeError);
        assert.match(e.message, /^task a: invalid state: last_update: not an RFC 3339 UTC timestamp/);
        return true;
      },
    );
  });

  test('the base object keeps its metadata and unknown keys; the feedback form it had is replaced', () => {
    const big = makeState({ feedback_history: Array.from({ length: 400 }, (_, i) => entry(i)) });
    const first = encodeState(big, { namespace: ns, compressionThreshold: 1024 }).configMap;
    assert.ok(first.binaryData?.[FEEDBACK_GZ_KEY]);
    const base: ConfigMap = {
      ...first,
      metadata: {
        ...first.metadata,
        uid: 'uid-1',
        resourceVersion: '77',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'controller', uid: 'p1' }],
        labels: { ...first.metadata.labels, team: 'x', 'cmstate.io/keep': 'true', 'app.kubernetes.io/managed-by': 'go-controller' },
        annotations: { ...first.metadata.annotations, note: 'hi' },
      },
      data: { ...first.data, extra_key: 'kept' },
      binaryData: { ...first.binaryData, 'blob.bin': Buffer.from([1, 2, 3]).toString('base64') },
    };
    const next = encodeState(makeState({ status: 'succeeded' }), { namespace: ns, base }).configMap;
    assert.equal(next.metadata.uid, 'uid-1');
    assert.equal(next.metadata.resourceVersion, '77');
    assert.deepEqual(next.metadata.ownerReferences, base.metadata.ownerReferences);
    assert.equal(next.metadata.labels?.team, 'x');
    assert.equal(next.metadata.labels?.['cmstate.io/keep'], 'true');
    assert.equal(next.metadata.labels?.['cmstate.io/status'], 'succeeded');
    assert.equal(next.metadata.labels?.['app.kubernetes.io/managed-by'], 'go-controller');
    assert.equal(next.metadata.annotations?.note, 'hi');
    assert.equal(next.data?.extra_key, 'kept');
    assert.ok(next.data?.feedback_history);
    assert.deepEqual(next.binaryData, { 'blob.bin': 'AQID' });
  });
});

describe('compression threshold', () => {
  /** One entry whose JSON array is exactly `bytes` UTF-8 bytes, padded with two-byte characters where possible. */
  function feedbackOfBytes(bytes: number): FeedbackEntry[] {
    const empty = Buffer.byteLength(JSON.stringify([entry(1, { description: '' })]));
    const missing = bytes - empty;
    const description = 'é'.repeat(Math.floor(missing / 2)) + 'a'.repeat(missing % 2);
    const entries = [entry(1, { description })];
    assert.equal(Buffer.byteLength(JSON.stringify(entries)), bytes);
    return entries;
  }

  const threshold = 64 * 1024;
  const cases = [
    { name: 'exactly the threshold stays plain', bytes: threshold, compressed: false },
    { name: 'one byte over is gzipped', bytes: threshold + 1, compressed: true },
    { name: 'well under stays plain', bytes: 100_000 - 90_000, compressed: false },
  ];
  for (const c of cases) {
    test(`${c.name} (${c.bytes} bytes of UTF-8, counted as bytes, not characters)`, () => {
      const state = makeState({ feedback_history: feedbackOfBytes(c.bytes) });
      const cm = encoded(state);
      assert.equal(cm.data?.feedback_history !== undefined, !c.compressed);
      assert.equal(cm.binaryData?.[FEEDBACK_GZ_KEY] !== undefined, c.compressed);
      if (c.compressed) {
        const raw = Buffer.from(cm.binaryData?.[FEEDBACK_GZ_KEY] ?? '', 'base64');
        assert.equal(gunzipSync(raw).toString('utf8'), JSON.stringify(state.feedback_history));
      }
      assert.deepEqual(decodeState(cm), state);
    });
  }

  test('the threshold option is honoured', () => {
    const state = makeState();
    const bytes = Buffer.byteLength(JSON.stringify(state.feedback_history));
    assert.ok(encodeState(state, { namespace: ns, compressionThreshold: bytes }).configMap.data?.feedback_history);
    assert.ok(encodeState(state, { namespace: ns, compressionThreshold: bytes - 1 }).configMap.binaryData?.[FEEDBACK_GZ_KEY]);
  });
});

describe('budget and archives', () => {
  /** Entries with incompressible descriptions, so sizes are predictable; every third one resolved. */
  function manyEntries(count: number): FeedbackEntry[] {
    const noise = (i: number): string => [1, 2, 3, 4].map((k) => createHash('sha256').update(`${i}/${k}`).digest('base64')).join(' ');
    return Array.from({ length: count }, (_, i) => entry(i, { resolved: i % 3 === 1, description: noise(i) }));
  }

  function checkArchiving(options: { count: number; budget: number; target?: number; existing: number; archivedBefore: number }) {
    const entries = manyEntries(options.count);
    const state = makeState({ feedback_history: entries, feedback_archived: options.archivedBefore });
    const result = encodeState(state, {
      namespace: ns,
      budgetBytes: options.budget,
      archiveTargetBytes: options.target,
      compressionThreshold: 4096,
      existingArchiveCount: options.existing,
      parentUid: 'parent-uid',
    });
    const kept = decodeState(result.configMap);
    const archived = result.archives.map(decodeArchive);
    return { entries, result, kept, archived };
  }

  test('nothing moves while the state fits the budget', () => {
    const { result, kept, entries } = checkArchiving({ count: 200, budget: 200_000, existing: 0, archivedBefore: 0 });
    assert.equal(result.archives.length, 0);
    assert.equal(result.archivedEntries, 0);
    assert.deepEqual(kept.feedback_history, entries);
  });

  test('many entries: none lost, order kept, resolved first, archives within budget with owner refs', () => {
    const budget = 40_000;
    const { entries, result, kept, archived } = checkArchiving({ count: 3000, budget, target: 20_000, existing: 2, archivedBefore: 5 });
    const position = new Map(entries.map((e, i) => [e.id, i]));
    const archivedIds = archived.flatMap((a) => a.entries.map((e) => e.id));
    const keptIds = kept.feedback_history.map((e) => e.id);

    assert.ok(result.archives.length >= 3, `expected several archives, got ${result.archives.length}`);
    assert.deepEqual([...archivedIds, ...keptIds].sort(), entries.map((e) => e.id).sort(), 'every entry exactly once');
    assert.equal(result.archivedEntries, archivedIds.length);
    assert.equal(kept.feedback_archived, 5 + archivedIds.length);
    assert.deepEqual(result.state, kept);

    const ascending = (ids: string[]) => ids.every((id, i) => i === 0 || (position.get(id) ?? 0) > (position.get(ids[i - 1] ?? '') ?? 0));
    assert.ok(ascending(keptIds), 'kept entries in original order');
    assert.ok(ascending(archivedIds), 'archived entries in original order, across archives');

    const keptResolved = kept.feedback_history.filter((e) => e.resolved).length;
    const archivedOpen = archived.flatMap((a) => a.entries).filter((e) => !e.resolved).length;
    assert.ok(keptResolved === 0 || archivedOpen === 0, 'open entries move only after every resolved one');
    const oldestKeptOpen = kept.feedback_history.find((e) => !e.resolved);
    const archivedOpenIds = archived
      .flatMap((a) => a.entries)
      .filter((e) => !e.resolved)
      .map((e) => position.get(e.id) ?? 0);
    if (oldestKeptOpen !== undefined)
      assert.ok(
        archivedOpenIds.every((p) => p < (position.get(oldestKeptOpen.id) ?? 0)),
        'the oldest open entries move first',
      );

    assert.ok(configMapSize(result.configMap) <= 20_000, 'state at most the archive target');
    result.archives.forEach((cm, i) => {
      const n = 3 + i;
      assert.ok(configMapSize(cm) <= budget, `archive ${n} within the budget`);
      assert.equal(cm.metadata.name, `task-a-state-archive-${n}`);
      assert.equal(cm.metadata.namespace, ns);
      assert.equal(cm.metadata.labels?.['cmstate.io/state'], 'archive');
      assert.equal(cm.metadata.labels?.['cmstate.io/task-id'], 'a');
      assert.deepEqual(cm.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'task-a-state', uid: 'parent-uid' }]);
      assert.equal(cm.data?.version, '1');
      assert.equal(cm.data?.task_id, 'a');
      assert.equal(cm.data?.archive_index, String(n));
      assert.equal(cm.data?.feedback_history === undefined, cm.binaryData?.[FEEDBACK_GZ_KEY] !== undefined, 'exactly one feedback form');
      assert.equal(archived[i]?.index, n);
    });
    // Archives are filled: all but the last hold at least half the budget.
    result.archives.slice(0, -1).forEach((cm) => assert.ok(configMapSize(cm) > budget / 2));
  });

  test('only resolved entries move when they free enough room', () => {
    const full = configMapSize(encodeState(makeState({ feedback_history: manyEntries(300) }), { namespace: ns, compressionThreshold: 4096 }).configMap);
    const { kept, archived } = checkArchiving({ count: 300, budget: full - 1000, target: full - 5000, existing: 0, archivedBefore: 0 });
    const moved = archived.flatMap((a) => a.entries);
    assert.ok(moved.length > 0);
    assert.ok(moved.every((e) => e.resolved));
    assert.ok(
      kept.feedback_history.some((e) => e.resolved),
      'the newer resolved entries stay',
    );
  });

  test('without a target the state is brought to half the budget, archives have no owner without a uid', () => {
    const entries = manyEntries(800);
    const result = encodeState(makeState({ feedback_history: entries }), { namespace: ns, budgetBytes: 50_000, compressionThreshold: 4096 });
    assert.ok(configMapSize(result.configMap) <= 25_000);
    assert.ok(configMapSize(result.configMap) > 20_000, 'not much more than needed moved');
    assert.equal(result.archives[0]?.metadata.name, 'task-a-state-archive-1');
    assert.equal(result.archives[0]?.metadata.ownerReferences, undefined);
  });

  test('the base uid is the default owner of new archives', () => {
    const base = { ...encoded(), metadata: { ...encoded().metadata, uid: 'base-uid' } };
    const result = encodeState(makeState({ feedback_history: manyEntries(800) }), { namespace: ns, budgetBytes: 50_000, base });
    assert.equal(result.archives[0]?.metadata.ownerReferences?.[0]?.uid, 'base-uid');
  });

  test('a state too large without any feedback is refused', () => {
    const state = makeState({ metadata: { blob: 'x'.repeat(5000) }, feedback_history: manyEntries(100) });
    assert.throws(
      () => encodeState(state, { namespace: ns, budgetBytes: 4000 }),
      (e: unknown) => e instanceof StateEncodeError && /exceed the budget of 4000 bytes/.test(e.message),
    );
  });

  test('an entry larger than the budget alone is refused, never dropped', () => {
    const state = makeState({ feedback_history: [entry(1, { resolved: true, description: 'z'.repeat(10_000) }), ...manyEntries(50)] });
    assert.throws(
      () => encodeState(state, { namespace: ns, budgetBytes: 6000, compressionThreshold: 1_000_000 }),
      (e: unknown) => e instanceof StateEncodeError && /alone exceeds the budget/.test(e.message),
    );
  });

  test('5 MiB of feedback, archived down from one state, encodes in well under the time a per-entry gzip would take', () => {
    let seed = 3;
    // mulberry32: a small deterministic generator whose output does not repeat within the test.
    const next = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const words = Array.from({ length: 800 }, () => Array.from({ length: 3 + Math.floor(next() * 8) }, () => letters[Math.floor(next() * 26)]).join(''));
    const sentence = (n: number) => Array.from({ length: n }, () => words[Math.floor(next() ** 2 * words.length)]).join(' ');
    const entries = Array.from({ length: 7000 }, (_, i) => entry(i, { resolved: next() < 0.5, description: sentence(40 + Math.floor(next() * 80)) }));
    assert.ok(Buffer.byteLength(JSON.stringify(entries)) > 5 * 1024 * 1024);
    const started = performance.now();
    const result = encodeState(makeState({ feedback_history: entries }), { namespace: ns });
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 3000, `encode took ${Math.round(elapsed)} ms`);
    assert.ok(result.archives.length > 0);
    const total = decodeState(result.configMap).feedback_history.length + result.archives.map(decodeArchive).reduce((n, a) => n + a.entries.length, 0);
    assert.equal(total, entries.length);
  });
});

describe('legacy version 0', () => {
  const legacy = (data: Record<string, string>, name = 'task-old-1-state'): ConfigMap => ({ metadata: { name, namespace: ns, uid: 'u-old' }, data });

  test('iteration and last_update only: a full version-1 state with defaults', () => {
    const decoded = decodeStateWithInfo(legacy({ iteration: '3', last_update: '2024-05-01T10:00:00Z' }));
    assert.equal(decoded.legacy, true);
    assert.deepEqual(decoded.state, {
      version: 1,
      task_id: 'old-1',
      iteration: 3,
      max_iterations: 10,
      status: 'in_progress',
      last_update: '2024-05-01T10:00:00Z',
      iteration_history: [1, 2, 3].map((n) => ({ iteration: n, started_at: '2024-05-01T10:00:00Z', recovered: true })),
      status_history: [],
      error_messages: [],
      metadata: {},
      feedback_history: [],
      feedback_archived: 0,
    });
  });

  const defaults: { name: string; data: Record<string, string>; expect: Partial<TaskState> }[] = [
    { name: 'iteration 0 is pending', data: { iteration: '0', last_update: '2024-05-01T10:00:00Z' }, expect: { status: 'pending', iteration_history: [] } },
    { name: 'an iteration above 10 raises the default maximum', data: { iteration: '12', last_update: '2024-05-01T10:00:00Z' }, expect: { max_iterations: 12 } },
    { name: 'an offset timestamp becomes UTC', data: { iteration: '0', last_update: '2024-05-01T12:00:00+02:00' }, expect: { last_update: '2024-05-01T10:00:00.000Z' } },
    { name: 'a timestamp without offset is UTC', data: { iteration: '0', last_update: '2024-05-01T10:00:00.5' }, expect: { last_update: '2024-05-01T10:00:00.500Z' } },
    { name: 'epoch seconds become RFC 3339', data: { iteration: '0', last_update: '1714557600' }, expect: { last_update: '2024-05-01T10:00:00.000Z' } },
    {
      name: 'known keys it wrote are read',
      data: { iteration: '1', last_update: '2024-05-01T10:00:00Z', max_iterations: '5', status: 'failed', error_messages: '["x"]' },
      expect: { max_iterations: 5, status: 'failed', error_messages: ['x'] },
    },
    {
      name: 'a partial history is padded, recovered only where missing',
      data: { iteration: '2', last_update: '2024-05-01T10:00:00Z', iteration_history: '[{"iteration":2,"started_at":"2024-05-01T09:00:00Z"}]' },
      expect: {
        iteration_history: [
          { iteration: 1, started_at: '2024-05-01T10:00:00Z', recovered: true },
          { iteration: 2, started_at: '2024-05-01T09:00:00Z' },
        ],
      },
    },
  ];
  for (const c of defaults) {
    test(c.name, () => {
      const { state, legacy: isLegacy } = decodeStateWithInfo(legacy(c.data));
      assert.equal(isLegacy, true);
      for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(state[key as keyof TaskState], value, key);
    });
  }

  test('migration by re-encoding loses no value: known keys in the state, unknown keys untouched', () => {
    const feedback = [entry(1)];
    const original = legacy({
      iteration: '1',
      last_update: '2024-05-01T10:00:00Z',
      feedback_history: JSON.stringify(feedback),
      controller_note: 'written by v0',
      'weird.key': '{"not":"ours"}',
    });
    const { state, legacy: isLegacy } = decodeStateWithInfo(original);
    assert.equal(isLegacy, true);
    const migrated = encodeState(state, { namespace: ns, base: original }).configMap;
    const again = decodeStateWithInfo(migrated);
    assert.equal(again.legacy, false);
    assert.deepEqual(again.state, state);
    assert.deepEqual(again.state.feedback_history, feedback);
    assert.equal(migrated.data?.controller_note, 'written by v0');
    assert.equal(migrated.data?.['weird.key'], '{"not":"ours"}');
    assert.equal(migrated.data?.version, '1');
    assert.equal(migrated.metadata.uid, 'u-old');
    for (const [key, value] of Object.entries(original.data ?? {})) {
      if (key === 'feedback_history') assert.deepEqual(JSON.parse(migrated.data?.[key] ?? ''), JSON.parse(value));
      else if (key === 'iteration' || key === 'last_update') assert.equal(migrated.data?.[key], value);
      else assert.equal(migrated.data?.[key], value, `${key} kept`);
    }
  });

  test('a legacy map without last_update cannot be decoded strictly', () => {
    assert.throws(() => decodeState(legacy({ iteration: '2' })), { message: 'task-old-1-state: data.last_update: missing' });
  });
});

describe('strict decode errors', () => {
  const gz = (text: string) => gzipSync(text).toString('base64');
  const withGz = (value: string): ConfigMap => {
    const base = withData({ feedback_history: undefined });
    return { ...base, binaryData: { [FEEDBACK_GZ_KEY]: value } };
  };
  const cases: { name: string; cm: ConfigMap; message: string; rule: string }[] = [
    { name: 'unsupported version', cm: withData({ version: '2' }), message: 'data.version: unsupported version "2" (this reader knows 1)', rule: 'field-invalid' },
    { name: 'missing key', cm: withData({ status_history: undefined }), message: 'data.status_history: missing', rule: 'field-invalid' },
    { name: 'bad task id', cm: withData({ task_id: 'Not_Valid' }), message: 'data.task_id: not a task id: 1-63 of [a-z0-9-], starting and ending with [a-z0-9]', rule: 'field-invalid' },
    { name: 'iteration not a number', cm: withData({ iteration: 'two' }), message: 'data.iteration: not a decimal integer: "two"', rule: 'field-invalid' },
    { name: 'negative iteration', cm: withData({ iteration: '-1' }), message: 'data.iteration: not a decimal integer: "-1"', rule: 'field-invalid' },
    { name: 'zero max_iterations', cm: withData({ max_iterations: '0' }), message: 'data.max_iterations: must be at least 1, got 0', rule: 'field-invalid' },
    { name: 'unknown status', cm: withData({ status: 'done' }), message: 'data.status: unknown status "done"', rule: 'status-unknown' },
    {
      name: 'last_update with an offset',
      cm: withData({ last_update: '2025-03-01T12:00:00+01:00' }),
      message: 'data.last_update: not an RFC 3339 UTC timestamp (expected e.g. 2025-01-31T12:00:00Z)',
      rule: 'field-invalid',
    },
    { name: 'iteration_history not JSON', cm: withData({ iteration_history: '[{"iteration":1,}]' }), message: 'data.iteration_history: not valid JSON at position 16', rule: 'field-invalid' },
    {
      name: 'iteration_history entry incomplete',
      cm: withData({ iteration_history: '[{"iteration":1}]' }),
      message: 'data.iteration_history: [0].started_at: Invalid input: expected string, received undefined',
      rule: 'field-invalid',
    },
    {
      name: 'iteration_history recovered false',
      cm: withData({ iteration_history: '[{"iteration":1,"started_at":"2025-03-01T09:00:00Z","recovered":false}]' }),
      message: 'data.iteration_history: [0].recovered: Invalid input: expected true',
      rule: 'field-invalid',
    },
    {
      name: 'status_history with an unknown status',
      cm: withData({ status_history: '[{"from":"x","to":"failed","at":"2025-03-01T09:00:00Z","reason":""}]' }),
      message: 'data.status_history: [0].from: Invalid option: expected one of "pending"|"in_progress"|"succeeded"|"failed"|"max_iterations_reached"|"cancelled"',
      rule: 'field-invalid',
    },
    { name: 'error_messages not strings', cm: withData({ error_messages: '[1]' }), message: 'data.error_messages: [0]: Invalid input: expected string, received number', rule: 'field-invalid' },
    { name: 'metadata not string values', cm: withData({ metadata: '{"a":1}' }), message: 'data.metadata: a: Invalid input: expected string, received number', rule: 'field-invalid' },
    { name: 'metadata not an object', cm: withData({ metadata: '[]' }), message: 'data.metadata: Invalid input: expected record, received array', rule: 'field-invalid' },
    {
      name: 'feedback entry with unknown field',
      cm: withData({ feedback_history: JSON.stringify([{ ...entry(1), extra: 1 }]) }),
      message: 'data.feedback_history: [0]: Unrecognized key: "extra"',
      rule: 'field-invalid',
    },
    {
      name: 'feedback entry bad severity',
      cm: withData({ feedback_history: JSON.stringify([entry(1), { ...entry(2), severity: 'huge' }]) }),
      message: 'data.feedback_history: [1].severity: Invalid option: expected one of "info"|"low"|"medium"|"high"|"critical"',
      rule: 'field-invalid',
    },
    { name: 'feedback_archived fractional', cm: withData({ feedback_archived: '1.5' }), message: 'data.feedback_archived: not a decimal integer: "1.5"', rule: 'field-invalid' },
    { name: 'no feedback form', cm: withData({ feedback_history: undefined }), message: 'data.feedback_history: missing (and no binaryData.feedback_history.json.gz)', rule: 'field-invalid' },
    {
      name: 'both feedback forms',
      cm: { ...encoded(), binaryData: { [FEEDBACK_GZ_KEY]: gz('[]') } },
      message: 'data.feedback_history: present together with binaryData.feedback_history.json.gz; exactly one form is allowed',
      rule: 'both-feedback-forms',
    },
    { name: 'gzip form not base64', cm: withGz('%%%'), message: 'binaryData.feedback_history.json.gz: not valid base64', rule: 'compressed-invalid' },
    {
      name: 'gzip form not gzip',
      cm: withGz(Buffer.from('plain text').toString('base64')),
      message: 'binaryData.feedback_history.json.gz: does not decompress: incorrect header check',
      rule: 'compressed-invalid',
    },
    {
      name: 'gzip form truncated',
      cm: withGz(gzipSync('[]').subarray(0, 12).toString('base64')),
      message: 'binaryData.feedback_history.json.gz: does not decompress: unexpected end of file',
      rule: 'compressed-invalid',
    },
    { name: 'gzip form holding bad JSON', cm: withGz(gz('[{')), message: 'binaryData.feedback_history.json.gz: not valid JSON at position 2', rule: 'field-invalid' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(
        () => decodeState(c.cm),
        (e: unknown) => {
          assert.ok(e instanceof StateDecodeError);
          assert.equal(e.message, `task-a-state: ${c.message}`);
          assert.equal(e.rule, c.rule);
          assert.equal(e.configMapName, 'task-a-state');
          assert.equal(e.taskId, 'a');
          return true;
        },
      );
    });
  }

  test('a JSON error does not quote the input', () => {
    const long = `[${'x'.repeat(5000)}]`;
    assert.throws(
      () => decodeState(withData({ error_messages: long })),
      (e: unknown) => e instanceof Error && e.message.length < 200 && !e.message.includes('xxxxxxxxxx'),
    );
  });
});

describe('decodeStateLenient', () => {
  test('never throws: broken keys become findings, the rest decodes', () => {
    const cm = withData({ iteration_history: '[', status: 'weird', metadata: undefined });
    const { state, fields, findings, legacy } = decodeStateLenient(cm);
    assert.equal(legacy, false);
    assert.deepEqual(
      findings.map((f) => [f.rule, f.invariant, f.severity]),
      [
        ['status-unknown', 5, 'error'],
        ['field-invalid', 6, 'error'],
        ['field-invalid', 6, 'error'],
      ],
    );
    assert.deepEqual(
      findings.map((f) => f.message),
      ['task-a-state: data.status: unknown status "weird"', 'task-a-state: data.iteration_history: not valid JSON (Unexpected end of JSON input)', 'task-a-state: data.metadata: missing'],
    );
    // The same, for code: the object, the key and the detail apart, no message to parse.
    assert.deepEqual(
      findings.map((f) => [f.object, f.key, f.detail]),
      [
        ['task-a-state', 'data.status', 'data.status: unknown status "weird"'],
        ['task-a-state', 'data.iteration_history', 'data.iteration_history: not valid JSON (Unexpected end of JSON input)'],
        ['task-a-state', 'data.metadata', 'data.metadata: missing'],
      ],
    );
    assert.equal(fields.status, 'invalid');
    assert.equal(fields.iteration_history, 'invalid');
    assert.equal(fields.metadata, 'missing');
    assert.equal(fields.feedback_history, 'ok');
    assert.equal(state.status, undefined);
    assert.equal(state.iteration, 2);
    assert.deepEqual(state.feedback_history, makeState().feedback_history);
  });

  test('both forms: every entry of either is kept, and it is a finding', () => {
    const cm = { ...encoded(), binaryData: { [FEEDBACK_GZ_KEY]: gzipSync(JSON.stringify([entry(2, { iteration: 2, resolved: true }), entry(9)])).toString('base64') } };
    const { state, findings } = decodeStateLenient(cm);
    assert.deepEqual(
      state.feedback_history?.map((e) => e.id),
      ['fb-1', 'fb-2', 'fb-9'],
    );
    assert.deepEqual(
      findings.map((f) => f.rule),
      ['both-feedback-forms'],
    );
  });

  test('a legacy map decodes with its defaults and a legacy-version warning', () => {
    const { state, fields, findings, legacy } = decodeStateLenient({ metadata: { name: 'task-b-state' }, data: { iteration: '1', last_update: '2024-05-01T10:00:00Z' } });
    assert.equal(legacy, true);
    assert.equal(state.task_id, 'b');
    assert.equal(fields.task_id, 'defaulted');
    assert.equal(fields.iteration, 'ok');
    assert.deepEqual(
      findings.map((f) => [f.rule, f.invariant, f.severity]),
      [['legacy-version', null, 'warning']],
    );
  });
});

describe('decodeArchive', () => {
  const archive = (data: Record<string, string>, binaryData?: Record<string, string>): ConfigMap => ({ metadata: { name: 'task-a-state-archive-1' }, data, ...(binaryData ? { binaryData } : {}) });

  test('plain and gzip forms', () => {
    const entries = [entry(1), entry(2)];
    assert.deepEqual(decodeArchive(archive({ version: '1', task_id: 'a', archive_index: '1', feedback_history: JSON.stringify(entries) })), { task_id: 'a', index: 1, entries });
    assert.deepEqual(decodeArchive(archive({ version: '1', task_id: 'a', archive_index: '3' }, { [FEEDBACK_GZ_KEY]: gzipSync(JSON.stringify(entries)).toString('base64') })), {
      task_id: 'a',
      index: 3,
      entries,
    });
  });

  const bad: { name: string; data: Record<string, string>; message: string }[] = [
    { name: 'no version', data: { task_id: 'a', archive_index: '1', feedback_history: '[]' }, message: 'task-a-state-archive-1: data.version: missing' },
    { name: 'index 0', data: { version: '1', task_id: 'a', archive_index: '0', feedback_history: '[]' }, message: 'task-a-state-archive-1: data.archive_index: must be at least 1, got 0' },
    { name: 'no entries', data: { version: '1', task_id: 'a', archive_index: '1' }, message: 'task-a-state-archive-1: data.feedback_history: missing (and no binaryData.feedback_history.json.gz)' },
    {
      name: 'bad entries',
      data: { version: '1', task_id: 'a', archive_index: '1', feedback_history: '{}' },
      message: 'task-a-state-archive-1: data.feedback_history: Invalid input: expected array, received object',
    },
  ];
  for (const c of bad) {
    test(`refuses ${c.name}`, () => {
      assert.throws(
        () => decodeArchive(archive(c.data)),
        (e: unknown) => e instanceof StateDecodeError && e.message === c.message,
      );
    });
  }
});
