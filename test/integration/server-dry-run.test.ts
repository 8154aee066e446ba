// --dry-run=server never deletes. kube-apiserver reads DeleteOptions from the body whenever a DELETE
// has one and then ignores the query's dryRun, so a dry run has to travel in the body: these tests
// would delete for real (on a real cluster, and on the local server, which reads DELETE the same
// way) if the client put dryRun in the query beside a preconditions body.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { cli } from '../support/cli.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { stateConfigMap } from '../support/states.js';
import type { KubeClient } from '../../src/kube/client.js';
import { ConflictError } from '../../src/kube/errors.js';
import type { ConfigMap } from '../../src/kube/types.js';
import { archiveConfigMapName, LABEL_STATE, LABEL_TASK_ID, STATE_VALUE_ARCHIVE } from '../../src/state/labels.js';

const NOW = '2026-11-20T12:00:00Z';
const LONG_AGO = '2026-10-01T00:00:00Z';

let cluster: TestCluster;
let client: KubeClient;
let ns: string;

before(async () => {
  cluster = await startTestCluster();
  client = cluster.client();
});
after(async () => cluster.close());
beforeEach(async () => {
  ns = await cluster.extraNamespace();
});

async function exists(name: string): Promise<boolean> {
  try {
    await client.getConfigMap({ namespace: ns, name });
    return true;
  } catch (err) {
    if ((err as { kind?: string }).kind === 'not-found') return false;
    throw err;
  }
}

/** Expired states the sweeper marked long ago: past TTL and grace, so a sweep deletes them. */
function markedExpired(count: number): ConfigMap[] {
  return Array.from({ length: count }, (_, i) =>
    stateConfigMap({
      id: `marked-${i}`,
      namespace: ns,
      lastUpdate: LONG_AGO,
      status: 'succeeded',
      labels: { 'cmstate.io/sweep': 'marked' },
      annotations: { 'cmstate.io/marked-at': LONG_AGO },
    }),
  );
}

describe('--dry-run=server deletes nothing', () => {
  test('KubeClient: a server dry-run delete, with and without preconditions, leaves the object', async () => {
    const [a, b] = await Promise.all(markedExpired(2).map((cm) => client.createConfigMap(cm)));
    const dry = cluster.client({ serverDryRun: true });
    assert.equal(await dry.deleteConfigMap({ namespace: ns, name: a!.metadata.name }, { resourceVersion: a!.metadata.resourceVersion!, uid: a!.metadata.uid! }), 'deleted');
    assert.equal(await dry.deleteConfigMap({ namespace: ns, name: b!.metadata.name }), 'deleted');
    assert.ok(await exists(a!.metadata.name), 'the preconditioned dry-run delete deleted nothing');
    assert.ok(await exists(b!.metadata.name), 'the plain dry-run delete deleted nothing');
    // The same client without dry run does delete: the check above can tell the difference.
    assert.equal(await client.deleteConfigMap({ namespace: ns, name: a!.metadata.name }, { resourceVersion: a!.metadata.resourceVersion! }), 'deleted');
    assert.equal(await exists(a!.metadata.name), false);
  });

  test('KubeClient: a server dry-run delete still checks preconditions and existence', async () => {
    const [a] = await Promise.all(markedExpired(1).map((cm) => client.createConfigMap(cm)));
    const dry = cluster.client({ serverDryRun: true });
    await assert.rejects(
      dry.deleteConfigMap({ namespace: ns, name: a!.metadata.name }, { resourceVersion: '1' }),
      (err: Error) => err instanceof ConflictError,
      'a stale resourceVersion is a conflict, dry run or not',
    );
    assert.equal(await dry.deleteConfigMap({ namespace: ns, name: 'task-never-state' }), 'not-found');
    assert.ok(await exists(a!.metadata.name));
  });

  test('cmstate sweep --dry-run=server reports the deletes and keeps every state', async () => {
    const states = markedExpired(10);
    for (const cm of states) await client.createConfigMap(cm);
    const run = await cli(['sweep', '--kubeconfig', cluster.kubeconfig, '-n', ns, '--now', NOW, '--dry-run=server', '--output', 'json', '--qps', '500']);
    assert.equal(run.code, 0, run.stderr);
    const summary = run.json<{ dry_run: boolean; applied: Record<string, number> }>();
    assert.equal(summary.dry_run, true);
    assert.equal(summary.applied['delete'], 10, JSON.stringify(summary));
    for (const cm of states) assert.ok(await exists(cm.metadata.name), `${cm.metadata.name} survived the dry run`);
  });

  test('cmstate state delete --dry-run=server keeps the state', async () => {
    const [cm] = markedExpired(1);
    await client.createConfigMap(cm!);
    const run = await cli(['state', 'delete', 'marked-0', '--kubeconfig', cluster.kubeconfig, '-n', ns, '--dry-run=server']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(await exists(cm!.metadata.name));
  });

  test('cmstate repair --dry-run=server keeps an orphan archive', async () => {
    const snapshots = await mkdtemp(join(tmpdir(), 'cmstate-dry-repair-'));
    try {
      const orphan: ConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: archiveConfigMapName('gone', 1), namespace: ns, labels: { [LABEL_STATE]: STATE_VALUE_ARCHIVE, [LABEL_TASK_ID]: 'gone' } },
        data: { version: '1', task_id: 'gone', archive_index: '1', feedback_history: '[]' },
      };
      await client.createConfigMap(orphan);
      const run = await cli(['repair', '--kubeconfig', cluster.kubeconfig, '-n', ns, '--now', NOW, '--dry-run=server', '--output', 'json', '--snapshot-dir', snapshots]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json<{ planned: Record<string, number> }>().planned['delete_orphan'], 1);
      assert.ok(await exists(orphan.metadata.name), 'the orphan archive survived the dry run');
    } finally {
      await rm(snapshots, { recursive: true, force: true });
    }
  });
});
