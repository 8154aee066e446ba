// What a cluster's controllers do to the objects a client sees, over HTTP: the root-CA publisher
// (kube-root-ca.crt in every namespace) and the garbage collector (dependents of a deleted owner).
// The embedded server imitates both; with CMSTATE_TEST_KUBECONFIG the same tests check that a real
// cluster behaves as the imitation assumes. Both act in their own time, so every check polls.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, Watch } from '@kubernetes/client-node';
import { embeddedOnly, eventually, startTestCluster, type TestCluster } from '../support/cluster.js';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import type { ConfigMap, OwnerReference } from '../../src/kube/types.js';
import { LocalApiServer } from '../../src/local-apiserver/index.js';

const ROOT_CA = 'kube-root-ca.crt';
const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';
const PEM = /^(-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?)+$/;

let cluster: TestCluster;
let client: KubeClient;
let core: CoreV1Api;

before(async () => {
  cluster = await startTestCluster();
  client = cluster.client();
  core = loadKubeConfig({ kubeconfig: cluster.kubeconfig }).kubeConfig.makeApiClient(CoreV1Api);
});
after(async () => cluster.close());

async function get(namespace: string, name: string): Promise<ConfigMap | undefined> {
  try {
    return await client.getConfigMap({ namespace, name });
  } catch (err) {
    if ((err as { kind?: string }).kind === 'not-found') return undefined;
    throw err;
  }
}

const gone = (namespace: string, name: string) => eventually(`${namespace}/${name} to be deleted`, async () => ((await get(namespace, name)) ? undefined : true));

function ownedBy(...owners: ConfigMap[]): OwnerReference[] {
  return owners.map((o) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata.name, uid: o.metadata.uid ?? '' }));
}

function cm(namespace: string, name: string, ownerReferences?: OwnerReference[]): ConfigMap {
  return { metadata: { name, namespace, labels: { test: 'controllers' }, ...(ownerReferences ? { ownerReferences } : {}) }, data: { k: 'v' } };
}

describe('root-CA publisher', () => {
  test('every namespace, new or seeded at start, gets kube-root-ca.crt shaped as a real cluster publishes it', async () => {
    const ns = await cluster.extraNamespace();
    for (const namespace of [ns, 'default']) {
      const published = await eventually(`${namespace}/${ROOT_CA}`, () => get(namespace, ROOT_CA));
      assert.deepEqual(Object.keys(published.data ?? {}), ['ca.crt']);
      assert.match(published.data?.['ca.crt'] ?? '', PEM);
      assert.equal(published.metadata.annotations?.['kubernetes.io/description'], ROOT_CA_DESCRIPTION);
      assert.equal(published.metadata.labels, undefined);
      assert.equal(published.metadata.ownerReferences, undefined);
      assert.equal(published.binaryData, undefined);
    }
  });

  test('deleted, it is published again', async () => {
    const ns = await cluster.extraNamespace();
    const first = await eventually(ROOT_CA, () => get(ns, ROOT_CA));
    assert.equal(await client.deleteConfigMap({ namespace: ns, name: ROOT_CA }, { uid: first.metadata.uid }), 'deleted');
    const again = await eventually(`${ROOT_CA} again`, async () => {
      const current = await get(ns, ROOT_CA);
      return current && current.metadata.uid !== first.metadata.uid ? current : undefined;
    });
    assert.equal(again.data?.['ca.crt'], first.data?.['ca.crt']);
  });

  test('a deleted namespace is left empty: nothing is published into it', async () => {
    const ns = await cluster.extraNamespace();
    await eventually(ROOT_CA, () => get(ns, ROOT_CA));
    await core.deleteNamespace({ name: ns });
    // A real cluster takes a few seconds to finish a namespace's deletion.
    const notFound = (err: { code?: number }) => (err.code === 404 ? true : Promise.reject(err));
    await eventually(`namespace ${ns} to be gone`, () => core.readNamespace({ name: ns }).then(() => undefined, notFound), 120_000);
    assert.deepEqual((await core.listNamespacedConfigMap({ namespace: ns })).items, []);
  });
});

describe('garbage collector', () => {
  test('deleting an owner deletes its dependents and theirs; an object without owners stays', async () => {
    const ns = await cluster.extraNamespace();
    const owner = await client.createConfigMap(cm(ns, 'owner'));
    const dependent = await client.createConfigMap(cm(ns, 'dependent', ownedBy(owner)));
    await client.createConfigMap(cm(ns, 'grandchild', ownedBy(dependent)));
    const bystander = await client.createConfigMap(cm(ns, 'bystander'));

    assert.equal(await client.deleteConfigMap({ namespace: ns, name: 'owner' }), 'deleted');
    await gone(ns, 'dependent');
    await gone(ns, 'grandchild');
    assert.equal((await get(ns, 'bystander'))?.metadata.resourceVersion, bystander.metadata.resourceVersion);
  });

  test('an object written naming an owner that no longer exists is deleted too', async () => {
    const ns = await cluster.extraNamespace();
    const owner = await client.createConfigMap(cm(ns, 'owner'));
    assert.equal(await client.deleteConfigMap({ namespace: ns, name: 'owner' }), 'deleted');
    // Written after its owner is gone, as a restore that kept a stale reference would write it.
    await client.createConfigMap(cm(ns, 'late', ownedBy(owner)));
    await gone(ns, 'late');
  });

  test('a dependent with another owner that still exists stays, without the reference to the deleted one', async () => {
    const ns = await cluster.extraNamespace();
    const [a, b] = [await client.createConfigMap(cm(ns, 'owner-a')), await client.createConfigMap(cm(ns, 'owner-b'))];
    await client.createConfigMap(cm(ns, 'shared', ownedBy(a, b)));
    const onlyA = await client.createConfigMap(cm(ns, 'only-a', ownedBy(a)));

    assert.equal(await client.deleteConfigMap({ namespace: ns, name: 'owner-a' }), 'deleted');
    await gone(ns, onlyA.metadata.name);
    const shared = await eventually('the reference to owner-a to be removed', async () => {
      const current = await get(ns, 'shared');
      return current?.metadata.ownerReferences?.length === 1 ? current : undefined;
    });
    assert.deepEqual(
      shared.metadata.ownerReferences?.map((o) => [o.name, o.uid]),
      [['owner-b', b.metadata.uid]],
    );
    assert.deepEqual(shared.data, { k: 'v' });
  });

  test('an owner deleted and created again under the same name is a different owner: its old dependents go', async () => {
    const ns = await cluster.extraNamespace();
    const old = await client.createConfigMap(cm(ns, 'owner'));
    await client.createConfigMap(cm(ns, 'dependent', ownedBy(old)));
    assert.equal(await client.deleteConfigMap({ namespace: ns, name: 'owner' }), 'deleted');
    await client.createConfigMap(cm(ns, 'owner'));
    await gone(ns, 'dependent');
    assert.ok(await get(ns, 'owner'));
  });

  test("the collector's delete is a watch event with a resourceVersion of its own", async () => {
    const ns = await cluster.extraNamespace();
    const owner = await client.createConfigMap(cm(ns, 'owner'));
    const dependent = await client.createConfigMap(cm(ns, 'dependent', ownedBy(owner)));
    const events: { type: string; resourceVersion: string }[] = [];
    const watch = await new Watch(loadKubeConfig({ kubeconfig: cluster.kubeconfig }).kubeConfig).watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { fieldSelector: 'metadata.name=dependent', resourceVersion: dependent.metadata.resourceVersion },
      (type, obj: ConfigMap) => events.push({ type, resourceVersion: obj.metadata.resourceVersion ?? '' }),
      () => undefined,
    );
    try {
      await client.deleteConfigMap({ namespace: ns, name: 'owner' });
      const deleted = await eventually('a DELETED event for the dependent', async () => events.find((e) => e.type === 'DELETED'));
      assert.match(deleted.resourceVersion, /^\d+$/);
      assert.notEqual(deleted.resourceVersion, dependent.metadata.resourceVersion);
    } finally {
      watch.abort();
    }
  });
});

describe('state loaded from a data file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cmstate-controllers-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test(...embeddedOnly('data file', 'a namespace without kube-root-ca.crt gets one, and owners loaded with their dependents are collected'), async () => {
    const file = path.join(dir, 'data.json');
    const meta = (name: string, uid: string, rv: number, extra: Record<string, unknown> = {}) => ({
      name,
      namespace: 'loaded',
      uid,
      resourceVersion: String(rv),
      creationTimestamp: '2026-11-01T00:00:00Z',
      ...extra,
    });
    await writeFile(
      file,
      JSON.stringify({
        resourceVersion: '40',
        objects: [
          {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: 'loaded', uid: 'ns-uid', resourceVersion: '10', creationTimestamp: '2026-11-01T00:00:00Z' },
            spec: { finalizers: ['kubernetes'] },
            status: { phase: 'Active' },
          },
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('owner', 'owner-uid', 20), data: { k: 'v' } },
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: meta('dependent', 'dependent-uid', 30, { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'owner-uid' }] }),
            data: { k: 'v' },
          },
        ],
      }),
    );
    const server = await LocalApiServer.start({ dataFile: file, garbageCollectionDelayMs: 10 });
    try {
      const kubeconfig = path.join(dir, 'kubeconfig');
      await server.writeKubeconfig(kubeconfig, 'loaded');
      const loaded = new KubeClient(loadKubeConfig({ kubeconfig }).kubeConfig);
      const published = await eventually(ROOT_CA, () => loaded.getConfigMap({ namespace: 'loaded', name: ROOT_CA }).catch(() => undefined));
      assert.match(published.data?.['ca.crt'] ?? '', PEM);
      assert.equal(await loaded.deleteConfigMap({ namespace: 'loaded', name: 'owner' }), 'deleted');
      await eventually('the loaded dependent to be collected', () =>
        loaded.getConfigMap({ namespace: 'loaded', name: 'dependent' }).then(
          () => undefined,
          () => true,
        ),
      );
    } finally {
      await server.close();
    }
  });
});
