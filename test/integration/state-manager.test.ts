// The StateManager against an API server over HTTP: concurrent writers from separate clients,
// feedback across compression and archives, legacy migration, recovery, deletion.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DateTime } from 'luxon';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedOnly, startTestCluster, type TestCluster } from '../support/cluster.js';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { LocalApiServer } from '../../src/local-apiserver/index.js';
import { StateManager, type StateManagerOptions } from '../../src/state/manager.js';
import { InvalidTransitionError, MaxIterationsError, StateNotFoundError } from '../../src/state/errors.js';
import { configMapSize } from '../../src/state/size.js';
import { API_SIZE_LIMIT } from '../../src/state/labels.js';
import type { FeedbackEntry } from '../../src/state/schema.js';

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster();
});
after(async () => cluster.close());

/** A manager with a client of its own, as a separate controller would have. */
function manager(namespace: string, options: Partial<StateManagerOptions> = {}): StateManager {
  return new StateManager({ client: cluster.client(), namespace, ...options });
}

let entrySeq = 0;
function entry(id: string, bytes: number, iteration = 0, resolved = false): FeedbackEntry {
  entrySeq++;
  return {
    id,
    timestamp: DateTime.fromMillis(Date.UTC(2026, 10, 1) + entrySeq * 1000, { zone: 'utc' }).toISO({ suppressMilliseconds: true })!,
    iteration,
    author: 'reviewer',
    severity: 'medium',
    issue_type: 'bug',
    // Random text does not compress much, so archives are really needed.
    description: randomBytes(Math.ceil(bytes * 0.75))
      .toString('base64')
      .slice(0, bytes),
    resolved,
  };
}

async function writeKubeconfigFile(server: LocalApiServer): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'cmstate-sm-')), 'kubeconfig');
  await server.writeKubeconfig(file);
  return file;
}

async function allConfigMaps(namespace: string) {
  const all = [];
  for await (const page of cluster.client().listConfigMapPages({ namespace, labelSelector: 'cmstate.io/state' })) all.push(...page);
  return all;
}

describe('StateManager', () => {
  test('50 concurrent increments from separate clients (max 100) end at exactly 50', async () => {
    const ns = await cluster.extraNamespace();
    await manager(ns).getOrCreate('race', { maxIterations: 100 });
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => manager(ns).incrementIteration('race')));
    assert.equal(results.filter((r) => r.status === 'rejected').length, 0);
    const state = await manager(ns).get('race');
    assert.equal(state.iteration, 50);
    assert.deepEqual(
      state.iteration_history.map((h) => h.iteration),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.equal(state.status, 'in_progress');
    // Every increment returned a distinct iteration: none was lost or applied twice.
    const seen = results.map((r) => (r.status === 'fulfilled' ? r.value.iteration : -1)).sort((a, b) => a - b);
    assert.deepEqual(
      seen,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
  });

  test('a delete racing writers on the same task retries its conflicts until it lands, and every writer then finds the state gone', async () => {
    const ns = await cluster.extraNamespace();
    await manager(ns).getOrCreate('contested', { maxIterations: 10_000 });
    let deleting = false;
    const writer = async () => {
      const mgr = manager(ns);
      for (;;) {
        try {
          await mgr.incrementIteration('contested');
        } catch (err) {
          assert.ok(err instanceof StateNotFoundError, String(err));
          assert.ok(deleting, 'the state went missing before the delete was sent');
          return;
        }
      }
    };
    const writers = Array.from({ length: 8 }, () => writer());
    const deleter = manager(ns);
    for (let i = 0; i < 5; i++) await deleter.incrementIteration('contested');
    // On the embedded server the first delete is held back while the writers go on, so its
    // resourceVersion precondition fails at least once (a 409, retried after a fresh read); on a
    // cluster the writers' own pace makes such conflicts likely, not certain.
    cluster.local?.faults.add({ match: { method: 'DELETE', path: '/configmaps/task-contested-state' }, fault: { kind: 'latency', ms: 200 }, times: 1 });
    cluster.local?.clearRequests();
    deleting = true;
    assert.deepEqual(await deleter.delete('contested'), { deleted: 1 });
    await Promise.all(writers);
    await assert.rejects(deleter.get('contested'), StateNotFoundError);
    if (cluster.local) {
      const deletes = cluster.local.requests.filter((r) => r.method === 'DELETE' && r.path.endsWith('/task-contested-state'));
      assert.equal(deletes[0]?.status, 409, 'the first delete met a write');
      assert.equal(deletes.at(-1)?.status, 200);
    }
  });

  test('with the default maximum of 10, exactly 10 of 50 concurrent increments succeed', async () => {
    const ns = await cluster.extraNamespace();
    await manager(ns).getOrCreate('capped');
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => manager(ns).incrementIteration('capped')));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 10);
    assert.equal(refused.length, 40);
    assert.ok(
      refused.every((r) => r.reason instanceof MaxIterationsError),
      String(refused.find((r) => !(r.reason instanceof MaxIterationsError))?.reason),
    );
    const state = await manager(ns).get('capped');
    assert.equal(state.iteration, 10);
    assert.equal(state.status, 'max_iterations_reached');
    assert.equal(state.status_history.filter((h) => h.to === 'max_iterations_reached').length, 1);
  });

  test('200 concurrent feedback appends (some retried) keep exactly the distinct entries across compression and archives', async () => {
    const ns = await cluster.extraNamespace();
    const options = { budgetBytes: 60_000, compressionThreshold: 8_000 };
    await manager(ns, options).getOrCreate('fb');
    const distinct = Array.from({ length: 150 }, (_, i) => entry(`e-${i}`, 1000, 0, i % 4 === 0));
    const retries = distinct.filter((_, i) => i % 3 === 0).slice(0, 50);
    const appends = [...distinct, ...retries];
    assert.equal(appends.length, 200);
    const results = await Promise.allSettled(appends.map((e) => manager(ns, options).appendFeedback('fb', e)));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(failures.length, 0, String(failures[0]?.reason));
    const appended = results.filter((r) => r.status === 'fulfilled' && r.value.appended).length;
    assert.equal(appended, 150, 'each distinct id appended exactly once');

    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await manager(ns, options).feedbackHistory('fb', { limit: 40, cursor });
      ids.push(...page.entries.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    assert.equal(ids.length, 150);
    assert.deepEqual(new Set(ids), new Set(distinct.map((e) => e.id)));
    const objects = await allConfigMaps(ns);
    assert.ok(
      objects.some((cm) => cm.metadata.labels?.['cmstate.io/state'] === 'archive'),
      'archives were written',
    );
    const state = await manager(ns).get('fb');
    assert.equal(state.feedback_history.length + state.feedback_archived, 150);
  });

  test('a 5 MiB feedback history stays readable page by page and no ConfigMap exceeds 1 MiB', async () => {
    const ns = await cluster.extraNamespace();
    const mgr = manager(ns);
    await mgr.getOrCreate('big');
    const written = Array.from({ length: 270 }, (_, i) => entry(`big-${String(i).padStart(3, '0')}`, 20_000, 0, i % 2 === 0));
    for (const e of written) await mgr.appendFeedback('big', e);
    const pages: FeedbackEntry[][] = [];
    let cursor: string | undefined;
    do {
      const page = await mgr.feedbackHistory('big', { limit: 25, cursor });
      pages.push(page.entries);
      cursor = page.nextCursor;
    } while (cursor);
    const read = pages.flat();
    assert.equal(read.length, 270);
    assert.deepEqual(
      read.map((e) => e.id),
      written.map((e) => e.id),
      'oldest first, nothing lost or repeated',
    );
    const objects = await allConfigMaps(ns);
    const total = read.reduce((sum, e) => sum + e.description.length, 0);
    assert.ok(total >= 5 * 1024 * 1024, `history is ${total} bytes`);
    assert.ok(objects.length > 3);
    for (const cm of objects) assert.ok(configMapSize(cm) <= API_SIZE_LIMIT, `${cm.metadata.name} is ${configMapSize(cm)} bytes`);
  });

  test('appending is idempotent by entry id; an entry ahead of the iteration is refused', async () => {
    const ns = await cluster.extraNamespace();
    const mgr = manager(ns);
    await mgr.getOrCreate('idem');
    const e = entry('same', 100);
    assert.equal((await mgr.appendFeedback('idem', e)).appended, true);
    assert.equal((await mgr.appendFeedback('idem', e)).appended, false);
    await assert.rejects(mgr.appendFeedback('idem', entry('ahead', 10, 3)), /iteration 3, but the task is at iteration 0/);
    await assert.rejects(mgr.appendFeedback('idem', { ...e, id: 'bad', severity: 'urgent' as never }), /severity/);
    assert.equal((await mgr.get('idem')).feedback_history.length, 1);
  });

  test('the status machine refuses forbidden moves and leaves the state as it was', async () => {
    const ns = await cluster.extraNamespace();
    const mgr = manager(ns);
    await mgr.getOrCreate('machine');
    await assert.rejects(mgr.setStatus('machine', 'succeeded', 'too early'), InvalidTransitionError);
    await mgr.incrementIteration('machine');
    const done = await mgr.setStatus('machine', 'succeeded', 'tests green');
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(
      done.status_history.map((h) => `${h.from}->${h.to}`),
      ['pending->in_progress', 'in_progress->succeeded'],
    );
    await assert.rejects(mgr.incrementIteration('machine'), InvalidTransitionError);
    await assert.rejects(mgr.setStatus('machine', 'in_progress', 'again'), /succeeded is terminal|terminal/);
    const cm = await cluster.client().getConfigMap({ namespace: ns, name: 'task-machine-state' });
    assert.equal(cm.metadata.labels?.['cmstate.io/status'], 'succeeded');
    assert.equal(cm.metadata.annotations?.['cmstate.io/last-update'], cm.data?.last_update);
  });

  test('a legacy ConfigMap reads as version 0 and migrates on the next write without losing a value', async () => {
    const ns = await cluster.extraNamespace();
    await cluster.client().createConfigMap({
      metadata: { name: 'task-old-state', namespace: ns, labels: { 'cmstate.io/state': 'task' } },
      data: { iteration: '3', last_update: '2026-10-01T08:00:00Z', owner_team: 'platform' },
    });
    const mgr = manager(ns);
    const recovered = await mgr.recoverState('old');
    assert.ok(recovered.findings.some((f) => f.rule === 'legacy-version'));
    const legacy = await mgr.get('old');
    assert.equal(legacy.iteration, 3);
    assert.equal(legacy.iteration_history.length, 3);
    const migrated = await mgr.incrementIteration('old');
    assert.equal(migrated.iteration, 4);
    const cm = await cluster.client().getConfigMap({ namespace: ns, name: 'task-old-state' });
    assert.equal(cm.data?.version, '1');
    assert.equal(cm.data?.owner_team, 'platform', 'unknown keys are kept');
    assert.ok(
      JSON.parse(cm.data!.iteration_history!)
        .slice(0, 3)
        .every((h: { recovered?: boolean }) => h.recovered === true),
    );
  });

  test('recoverState returns the findings of a corrupted state instead of throwing', async () => {
    const ns = await cluster.extraNamespace();
    const mgr = manager(ns);
    await mgr.getOrCreate('broken');
    const cm = await cluster.client().getConfigMap({ namespace: ns, name: 'task-broken-state' });
    await cluster.client().replaceConfigMap({ ...cm, data: { ...cm.data, iteration: '7', iteration_history: '[{"iteration": 1' } });
    const recovered = await mgr.recoverState('broken');
    assert.equal(recovered.state, undefined);
    assert.ok(
      recovered.findings.some((f) => f.rule === 'field-invalid'),
      JSON.stringify(recovered.findings),
    );
    await assert.rejects(mgr.get('broken'), /task-broken-state: data.iteration_history/);
  });

  test('delete removes the state and its archives; a missing task is a typed error', async () => {
    const ns = await cluster.extraNamespace();
    const mgr = manager(ns, { budgetBytes: 60_000, compressionThreshold: 10_000 });
    await mgr.getOrCreate('gone');
    for (let i = 0; i < 40; i++) await mgr.appendFeedback('gone', entry(`g-${i}`, 4000));
    const before = await allConfigMaps(ns);
    assert.ok(before.length > 1);
    // The archives are owned by the state: whether this call or a cluster's garbage collector
    // deletes each one first, every one counts.
    assert.deepEqual(await mgr.delete('gone'), { deleted: before.length });
    assert.equal((await allConfigMaps(ns)).length, 0);
    await assert.rejects(mgr.get('gone'), StateNotFoundError);
    await assert.rejects(mgr.delete('gone'), StateNotFoundError);
  });

  test(...embeddedOnly('fault injection and a server of its own', 'delete counts the archives a garbage collector deletes first'), async () => {
    // A collector that acts at once, and archive deletes that arrive late: it removes every
    // archive before this call's own delete does, which then finds it gone (404).
    const server = await LocalApiServer.start({ garbageCollectionDelayMs: 0 });
    try {
      const client = new KubeClient(loadKubeConfig({ kubeconfig: await writeKubeconfigFile(server) }).kubeConfig, { qps: 1000 });
      const mgr = new StateManager({ client, namespace: 'default', budgetBytes: 60_000, compressionThreshold: 10_000 });
      await mgr.getOrCreate('raced');
      for (let i = 0; i < 40; i++) await mgr.appendFeedback('raced', entry(`r-${i}`, 4000));
      server.faults.add({ match: { method: 'DELETE', path: /state-archive-/ }, fault: { kind: 'latency', ms: 100 } });
      const objects = [];
      for await (const page of client.listConfigMapMetadataPages({ namespace: 'default', labelSelector: 'cmstate.io/task-id=raced' })) objects.push(...page);
      assert.ok(objects.length > 1, 'the state has archives');
      assert.deepEqual(await mgr.delete('raced'), { deleted: objects.length });
      assert.equal(server.requests.filter((r) => r.method === 'DELETE' && r.status === 404).length, objects.length - 1, 'the collector won every race');
    } finally {
      await server.close();
    }
  });
});
