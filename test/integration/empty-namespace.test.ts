// A namespace without task states — a fresh install's first scheduled runs. kube-apiserver answers an
// empty metadata-only list with `"items": null` (the local server too, as the conformance record
// shows), so every job and every StateManager operation that lists archives must take null for none.
// The namespace still holds the cluster's kube-root-ca.crt, which no job may count.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { cli } from '../support/cli.js';
import { eventually, startTestCluster, type TestCluster } from '../support/cluster.js';
import { StateManager } from '../../src/state/manager.js';

const NOW = '2026-11-20T12:00:00Z';

let cluster: TestCluster;
let ns: string;
let dir: string;

before(async () => {
  cluster = await startTestCluster();
  dir = await mkdtemp(join(tmpdir(), 'cmstate-empty-'));
});
after(async () => {
  await cluster.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  ns = await cluster.extraNamespace();
  // A cluster publishes it a moment after the namespace is created; the jobs must not count it.
  const client = cluster.client();
  await eventually('kube-root-ca.crt', async () => {
    try {
      return await client.getConfigMap({ namespace: ns, name: 'kube-root-ca.crt' });
    } catch {
      return undefined;
    }
  });
});

const job = (...args: string[]) => cli([...args, '--kubeconfig', cluster.kubeconfig, '-n', ns, '--now', NOW, ...(args[0] === 'metrics' ? [] : ['--output', 'json'])]);

describe('a namespace without task states', () => {
  for (const args of [['sweep'], ['repair', '--snapshot-dir', 'SNAPSHOTS'], ['snapshot', '--dir', 'SNAPSHOTS'], ['metrics']]) {
    test(`cmstate ${args[0]} exits 0 and observes nothing`, async () => {
      const run = await job(...args.map((a) => (a === 'SNAPSHOTS' ? join(dir, ns) : a)));
      assert.equal(run.code, 0, run.stderr);
      if (args[0] === 'metrics') {
        // Without a Pushgateway the exposition text is printed: every status counts 0.
        const counts = run.stdout.filter((line) => line.startsWith(`cmstate_task_states{namespace="${ns}"`));
        assert.equal(counts.length, 6, run.stdout.join('\n'));
        for (const line of counts) assert.match(line, / 0$/);
      } else {
        assert.equal(run.json<{ observed: number }>().observed, 0);
      }
    });
  }

  test('a metadata-only list whose last page is empty ("items": null after a continue token)', async () => {
    const client = cluster.client();
    for (const name of ['a-1', 'a-2']) await client.createConfigMap({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels: { batch: 'null-page' } } });
    // After a full page, keys remain that do not match: the server hands out a continue token
    // and then an empty page.
    await client.createConfigMap({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'z-other', namespace: ns } });
    const names: string[] = [];
    for await (const page of client.listConfigMapMetadataPages({ namespace: ns, labelSelector: 'batch=null-page', pageSize: 2 })) names.push(...page.map((o) => o.metadata.name));
    assert.deepEqual(names, ['a-1', 'a-2']);
  });

  test('cmstate state delete of a task without archives deletes it', async () => {
    assert.equal((await cli(['state', 'init', 'lonely', '--kubeconfig', cluster.kubeconfig, '-n', ns])).code, 0);
    const run = await cli(['state', 'delete', 'lonely', '--kubeconfig', cluster.kubeconfig, '-n', ns]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await cli(['state', 'get', 'lonely', '--kubeconfig', cluster.kubeconfig, '-n', ns])).code, 1);
  });

  test('StateManager: the feedback history of a task without archives, and its deletion', async () => {
    const states = new StateManager({ client: cluster.client(), namespace: ns });
    await states.getOrCreate('fresh');
    await states.appendFeedback('fresh', { id: 'f-1', timestamp: NOW, iteration: 0, author: 'a', severity: 'info', issue_type: 'other', description: 'one', resolved: false });
    const page = await states.feedbackHistory('fresh');
    assert.deepEqual(
      page.entries.map((e) => e.id),
      ['f-1'],
    );
    assert.deepEqual(await states.delete('fresh'), { deleted: 1 });
  });
});
