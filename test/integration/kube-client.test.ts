// The client layer (src/kube/client.ts) over HTTP through the real @kubernetes/client-node: CRUD and
// preconditions, typed errors, selectors, paging and its recovery from expired tokens, the size
// limit, server dry run, every injected fault, the Lease lock, Events, access reviews and the QPS
// limiter. Runs against the embedded server, or a real cluster with CMSTATE_TEST_KUBECONFIG (tests
// that need fault injection, the request log or token expiry are skipped there).

import assert from 'node:assert/strict';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { againstRealCluster, embeddedOnly, startTestCluster, type TestCluster } from '../support/cluster.js';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { AlreadyExistsError, ConflictError, ForbiddenError, GoneError, InvalidError, NotFoundError, ThrottledError, UnavailableError, type KubeError } from '../../src/kube/errors.js';
import { LeaseLock, LockHeldError } from '../../src/kube/lease-lock.js';
import type { RetryPolicy } from '../../src/kube/retry.js';
import type { ConfigMap, ObjectMeta } from '../../src/kube/types.js';
import { runBounded } from '../../src/job/executor.js';
import type { LocalApiServer } from '../../src/local-apiserver/index.js';

const METADATA_LIST = 'as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const MIB = 1024 * 1024;
/** Fast backoff so fault tests take milliseconds; Retry-After still wins over it. */
const FAST_RETRY: RetryPolicy = { maxAttempts: 4, initialDelayMs: 10, maxDelayMs: 40, maxElapsedMs: 10_000, factor: 2, jitter: 0 };

let cluster: TestCluster;
let client: KubeClient;

before(async () => {
  cluster = await startTestCluster();
  client = cluster.client();
});
after(async () => cluster.close());
beforeEach(() => {
  cluster.local?.faults.clear();
  cluster.local?.clearDenyRules();
});

function local(): LocalApiServer {
  if (!cluster.local) throw new Error('this test needs the embedded API server');
  return cluster.local;
}

function cm(namespace: string, name: string, data: Record<string, string> = { k: 'v' }, labels?: Record<string, string>): ConfigMap {
  return { metadata: { name, namespace, ...(labels ? { labels } : {}) }, data };
}

const keyOf = (meta: ObjectMeta) => `${meta.namespace}/${meta.name}`;

/** Many objects: seeded without HTTP on the embedded server, created 16 at a time on a real one. */
async function seedMany(objects: ConfigMap[]): Promise<void> {
  if (cluster.local) {
    cluster.local.seed(objects);
    return;
  }
  await runBounded(objects, 16, async (o) => {
    await client.createConfigMap(o);
  });
}

async function collect<T extends { metadata: ObjectMeta }>(pages: AsyncIterable<T[]>): Promise<{ keys: string[]; pageSizes: number[]; items: T[] }> {
  const items: T[] = [];
  const pageSizes: number[] = [];
  for await (const page of pages) {
    pageSizes.push(page.length);
    items.push(...page);
  }
  return { keys: items.map((i) => keyOf(i.metadata)), pageSizes, items };
}

async function rejectsWith<E extends KubeError>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${(err as Error).name}: ${(err as Error).message}`);
    return err;
  }
  assert.fail(`expected ${type.name}, but the call succeeded`);
}

function requestsTo(path: string, method?: string) {
  return local().requests.filter((r) => r.path === path && (method === undefined || r.method === method));
}

describe('CRUD and preconditions', () => {
  test('create, get, replace, merge patch, JSON patch, delete', async () => {
    const ns = await cluster.extraNamespace();
    const created = await client.createConfigMap(cm(ns, 'crud', { a: '1' }, { app: 'x' }));
    assert.equal(created.metadata.namespace, ns);
    assert.match(created.metadata.uid ?? '', /\S/);
    assert.match(created.metadata.resourceVersion ?? '', /^\d+$/);
    assert.deepEqual(created.data, { a: '1' });

    const got = await client.getConfigMap({ namespace: ns, name: 'crud' });
    assert.deepEqual(got.data, { a: '1' });
    assert.equal(got.metadata.uid, created.metadata.uid);
    assert.deepEqual(got.metadata.labels, { app: 'x' });

    const replaced = await client.replaceConfigMap({ ...got, data: { a: '2', b: '3' } });
    assert.deepEqual(replaced.data, { a: '2', b: '3' });
    assert.notEqual(replaced.metadata.resourceVersion, got.metadata.resourceVersion);

    const merged = await client.mergePatchConfigMap({ namespace: ns, name: 'crud' }, { metadata: { labels: { tier: 'web' } }, data: { b: null, c: '4' } });
    assert.deepEqual(merged.data, { a: '2', c: '4' });
    assert.deepEqual(merged.metadata.labels, { app: 'x', tier: 'web' });

    assert.equal(await client.deleteConfigMap({ namespace: ns, name: 'crud' }), 'deleted');
    await rejectsWith(client.getConfigMap({ namespace: ns, name: 'crud' }), NotFoundError);
  });

  test('409 ConflictError: replace with a stale resourceVersion, merge patch carrying a stale one', async () => {
    const ns = await cluster.extraNamespace();
    const v1 = await client.createConfigMap(cm(ns, 'c', { n: '1' }));
    const v2 = await client.replaceConfigMap({ ...v1, data: { n: '2' } });

    const stale = await rejectsWith(client.replaceConfigMap({ ...v1, data: { n: 'stale' } }), ConflictError);
    assert.equal(stale.code, 409);
    assert.equal(stale.kind, 'conflict');
    assert.equal(stale.context.verb, 'update');

    const patch = await rejectsWith(client.mergePatchConfigMap({ namespace: ns, name: 'c' }, { metadata: { resourceVersion: v1.metadata.resourceVersion }, data: { n: 'stale' } }), ConflictError);
    assert.equal(patch.code, 409);

    const now = await client.getConfigMap({ namespace: ns, name: 'c' });
    assert.deepEqual(now.data, { n: '2' });
    assert.equal(now.metadata.resourceVersion, v2.metadata.resourceVersion);
    // The current resourceVersion makes the same patch pass.
    const ok = await client.mergePatchConfigMap({ namespace: ns, name: 'c' }, { metadata: { resourceVersion: v2.metadata.resourceVersion }, data: { n: '3' } });
    assert.deepEqual(ok.data, { n: '3' });
  });

  // cmstate itself never sends a JSON patch; the API server's answers to one, through client-node.
  test('a JSON patch applies in order, and one whose test op fails is 422 and changes nothing', async () => {
    const ns = await cluster.extraNamespace();
    const core = loadKubeConfig({ kubeconfig: cluster.kubeconfig }).kubeConfig.makeApiClient(CoreV1Api);
    const jsonPatch = (ops: object[]) => core.patchNamespacedConfigMap({ namespace: ns, name: 'j', body: ops }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    await client.createConfigMap(cm(ns, 'j', { owner: 'me', extra: 'x' }));
    const patched = await jsonPatch([
      { op: 'test', path: '/data/owner', value: 'me' },
      { op: 'replace', path: '/data/owner', value: 'you' },
      { op: 'remove', path: '/data/extra' },
    ]);
    assert.deepEqual(patched.data, { owner: 'you' });
    const before = await client.getConfigMap({ namespace: ns, name: 'j' });
    const err = await jsonPatch([
      { op: 'test', path: '/data/owner', value: 'someone-else' },
      { op: 'replace', path: '/data/owner', value: 'thief' },
    ]).then(
      () => assert.fail('the patch applied'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiException, String(err));
    assert.equal(err.code, 422);
    const after = await client.getConfigMap({ namespace: ns, name: 'j' });
    assert.deepEqual(after.data, { owner: 'you' });
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
  });

  test('preconditioned delete: uid or resourceVersion mismatch is a conflict, a missing object is not-found', async () => {
    const ns = await cluster.extraNamespace();
    const v1 = await client.createConfigMap(cm(ns, 'd'));
    const v2 = await client.replaceConfigMap({ ...v1, data: { k: 'changed' } });
    const ref = { namespace: ns, name: 'd' };

    await rejectsWith(client.deleteConfigMap(ref, { uid: '00000000-0000-0000-0000-000000000000' }), ConflictError);
    await rejectsWith(client.deleteConfigMap(ref, { uid: v1.metadata.uid, resourceVersion: v1.metadata.resourceVersion }), ConflictError);
    assert.equal((await client.getConfigMap(ref)).metadata.uid, v1.metadata.uid, 'still there');

    assert.equal(await client.deleteConfigMap(ref, { uid: v2.metadata.uid, resourceVersion: v2.metadata.resourceVersion }), 'deleted');
    assert.equal(await client.deleteConfigMap(ref, { uid: v2.metadata.uid }), 'not-found');
    assert.equal(await client.deleteConfigMap({ namespace: ns, name: 'never-existed' }), 'not-found');
  });

  test('creating an existing name is AlreadyExistsError, not a conflict to retry', async () => {
    const ns = await cluster.extraNamespace();
    await client.createConfigMap(cm(ns, 'dup'));
    const err = await rejectsWith(client.createConfigMap(cm(ns, 'dup', { other: 'x' })), AlreadyExistsError);
    assert.equal(err.code, 409);
    assert.equal(err.kind, 'already-exists');
    assert.deepEqual((await client.getConfigMap({ namespace: ns, name: 'dup' })).data, { k: 'v' });
  });
});

describe('selectors', () => {
  // name → labels
  const objects: Record<string, Record<string, string>> = {
    'prod-web': { env: 'prod', tier: 'web' },
    'prod-db': { env: 'prod', tier: 'db' },
    'staging-web': { env: 'staging', tier: 'web' },
    'dev-x': { env: 'dev' },
    bare: {},
  };
  let ns: string;
  before(async () => {
    ns = await cluster.extraNamespace();
    for (const [name, labels] of Object.entries(objects)) await client.createConfigMap(cm(ns, name, { k: 'v' }, labels));
  });

  const cases: [string, { labelSelector?: string; fieldSelector?: string }, string[]][] = [
    ['equality', { labelSelector: 'env=prod' }, ['prod-db', 'prod-web']],
    ['double equals', { labelSelector: 'env==staging' }, ['staging-web']],
    ['inequality (also matches objects without the label)', { labelSelector: 'env!=prod' }, ['bare', 'dev-x', 'staging-web']],
    ['set-based in', { labelSelector: 'env in (prod,staging)' }, ['prod-db', 'prod-web', 'staging-web']],
    ['set-based notin', { labelSelector: 'env notin (prod,dev)' }, ['bare', 'staging-web']],
    ['existence', { labelSelector: 'tier' }, ['prod-db', 'prod-web', 'staging-web']],
    ['negated existence', { labelSelector: '!tier' }, ['bare', 'dev-x']],
    ['conjunction', { labelSelector: 'env=prod,tier!=db' }, ['prod-web']],
    ['field selector metadata.name', { fieldSelector: 'metadata.name=dev-x' }, ['dev-x']],
    ['field selector metadata.name!=', { fieldSelector: 'metadata.name!=bare', labelSelector: '!tier' }, ['dev-x']],
  ];
  // The namespace also holds kube-root-ca.crt (a real cluster's root-CA publisher puts it in every
  // namespace), which matches what an object without labels matches: only the test's objects count.
  const ours = (items: { metadata: ObjectMeta }[]) =>
    items
      .map((i) => i.metadata.name)
      .filter((name) => Object.hasOwn(objects, name))
      .sort();
  for (const [what, selectors, expected] of cases) {
    test(`${what}: ${JSON.stringify(selectors)}`, async () => {
      const full = await collect(client.listConfigMapPages({ namespace: ns, ...selectors }));
      assert.deepEqual(ours(full.items), expected);
      const meta = await collect(client.listConfigMapMetadataPages({ namespace: ns, ...selectors }));
      assert.deepEqual(ours(meta.items), expected);
    });
  }
});

describe('connections', () => {
  /** A TCP proxy in front of the embedded server that counts the connections made through it. */
  async function countingProxy(target: URL): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
    let connections = 0;
    const open = new Set<net.Socket>();
    const proxy = net.createServer((socket) => {
      connections++;
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const end of [socket, upstream]) {
        open.add(end);
        end.on('close', () => open.delete(end));
      }
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as net.AddressInfo;
    // Kept-alive connections would hold close() until they time out.
    const close = () =>
      new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        for (const socket of open) socket.destroy();
      });
    return { url: `http://127.0.0.1:${port}`, connections: () => connections, close };
  }

  test(...embeddedOnly('connections counted through a local proxy', 'deletes with preconditions in their body reuse the connections: a few for 100 deletes, not one each'), async () => {
    const ns = await cluster.extraNamespace();
    await seedMany(Array.from({ length: 100 }, (_, i) => cm(ns, `conn-${i}`)));
    const proxy = await countingProxy(new URL(local().url));
    try {
      const kubeConfig = loadKubeConfig({ kubeconfig: cluster.kubeconfig }).kubeConfig;
      kubeConfig.clusters = kubeConfig.clusters.map((c) => ({ ...c, server: proxy.url }));
      const viaProxy = new KubeClient(kubeConfig, { qps: 0 });
      const objects: ConfigMap[] = [];
      for await (const page of viaProxy.listConfigMapPages({ namespace: ns })) objects.push(...page.filter((o) => o.metadata.name.startsWith('conn-')));
      await runBounded(objects, 8, async (o) => {
        assert.equal(await viaProxy.deleteConfigMap({ namespace: ns, name: o.metadata.name }, { uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion }), 'deleted');
      });
      assert.ok(proxy.connections() <= 16, `${proxy.connections()} connections for 1 list and 100 deletes`);
    } finally {
      await proxy.close();
    }
  });
});

describe('pages bounded by bytes', () => {
  // Small objects, then large ones, then small again, in key order: the pager starts with
  // --page-size pages and must cut the first page holding large objects at the byte budget.
  const small = (i: number) => `s${i}`.repeat(200);
  const large = (i: number) => `L${i}`.padEnd(600 * 1024, 'x');
  const layout = [...Array.from({ length: 10 }, (_, i) => ['a', small(i)]), ...Array.from({ length: 8 }, (_, i) => ['b', large(i)]), ...Array.from({ length: 10 }, (_, i) => ['c', small(i)])];
  let ns: string;
  let expected: string[];
  before(async () => {
    ns = await cluster.extraNamespace();
    const objects = layout.map(([prefix, data], i) => cm(ns, `${prefix}-${String(i).padStart(3, '0')}`, { d: data as string }, { batch: 'bytes' }));
    for (const o of objects) await client.createConfigMap(o);
    expected = objects.map((o) => keyOf(o.metadata));
  });

  const bytesOf = (page: ConfigMap[]) => page.reduce((sum, o) => sum + (o.data?.['d']?.length ?? 0), 0);
  const keysOf = (pages: { metadata: ObjectMeta }[][]) => pages.flat().map((o) => keyOf(o.metadata));
  async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[][]> {
    const all: T[][] = [];
    for await (const page of pages) all.push(page);
    return all;
  }
  const listed = (pageSize: number, pageBytes: number) => collect(client.listConfigMapPages({ namespace: ns, labelSelector: 'batch=bytes', pageSize, pageBytes }));

  test('no page holds more than the budget; every object once, in order; a cut costs requests, not objects', async () => {
    const budget = 1.5 * MIB;
    cluster.local?.clearRequests();
    const pages = await listed(100, budget);
    assert.deepEqual(keysOf(pages), expected);
    for (const page of pages) assert.ok(bytesOf(page) <= budget, `a page of ${page.length} objects holds ${bytesOf(page)} bytes`);
    assert.ok(
      pages.every((page) => page.filter((o) => o.metadata.name.startsWith('b-')).length <= 2),
      `large objects per page: ${pages.map((p) => p.filter((o) => o.metadata.name.startsWith('b-')).length).join(',')}`,
    );
    if (cluster.local) {
      // First request: 10 small + 2 large, cut. Then pages of 2 large objects (the limit now
      // follows the largest seen), each asked for once more after a cut: few requests, not one per object.
      const lists = requestsTo(`/api/v1/namespaces/${ns}/configmaps`, 'GET');
      assert.ok(lists.length <= 8, `${lists.length} list requests`);
      assert.ok(lists.every((r) => r.status === 200));
    }
  });

  test(...embeddedOnly('request log', 'a request after a cut never asks for more than --page-size objects'), async () => {
    // 13 a page: the first answer is cut after 10 small and 2 large objects; asking again for
    // what was yielded plus what fits (12 + 2) would pass the page size.
    local().clearRequests();
    const pages = await listed(13, 1.5 * MIB);
    assert.deepEqual(keysOf(pages), expected);
    const limits = requestsTo(`/api/v1/namespaces/${ns}/configmaps`, 'GET').map((r) => Number(r.query.get('limit')));
    assert.ok(
      limits.every((limit) => limit >= 1 && limit <= 13),
      `limits ${limits.join(',')}`,
    );
  });

  test(...embeddedOnly('fault injection', 'an answer cut off mid-stream is asked for again: nothing of it is yielded twice or lost'), async () => {
    // The connection drops after the whole body was written but before it ended: the objects
    // parsed from it so far belong to a failed attempt and must not reach the caller.
    const fault = local().faults.add({ match: { verb: 'list', path: `/namespaces/${ns}/configmaps?` }, fault: { kind: 'lose-response' }, times: 1 });
    local().clearRequests();
    const pages = await listed(100, 1.5 * MIB);
    assert.deepEqual(keysOf(pages), expected);
    assert.equal(fault.fired, 1, 'the first answer was lost');
  });

  test('a budget smaller than one object: one object per page, none lost', async () => {
    const pages = await listed(100, 1024);
    assert.deepEqual(keysOf(pages), expected);
    assert.ok(pages.every((page) => page.length === 1 || bytesOf(page) <= 1024));
  });

  test('metadata-only pages are bounded the same way', async () => {
    const pages = await collect(client.listConfigMapMetadataPages({ namespace: ns, labelSelector: 'batch=bytes', pageSize: 100, pageBytes: 1000 }));
    assert.deepEqual(keysOf(pages), expected);
    assert.ok(pages.length > 5, `${pages.length} pages`);
  });
});

describe('paging', () => {
  const total = 3000;
  const pageSize = 200;
  // One seeded namespace for the read-only paging tests: seeding 3,000 objects per test would cost
  // minutes on a real cluster.
  let ns: string;
  let expected: string[];
  before(async () => {
    ns = await cluster.extraNamespace();
    const objects = Array.from({ length: total }, (_, i) => cm(ns, `page-${String(i).padStart(5, '0')}`, { i: String(i) }, { batch: 'paging' }));
    await seedMany(objects);
    expected = objects.map((o) => keyOf(o.metadata)).sort();
  });

  // The test's objects by their label: the namespace also holds kube-root-ca.crt. Their names sort
  // after it, so the page holding the last of them ends the namespace and no empty page follows.
  type PageOptions = Parameters<KubeClient['listConfigMapPages']>[0];
  const selected = (options: PageOptions): PageOptions => ({ ...options, labelSelector: 'batch=paging' });
  const pagers = [
    ['full objects', (options: PageOptions) => client.listConfigMapPages(selected(options))],
    ['metadata only', (options: PageOptions) => client.listConfigMapMetadataPages(selected(options))],
  ] as const;

  for (const [what, pager] of pagers) {
    test(`${what}: 3,000 objects in pages of 200, each exactly once`, async () => {
      const { keys, pageSizes } = await collect(pager({ namespace: ns, pageSize }));
      assert.equal(keys.length, total);
      assert.equal(new Set(keys).size, total, 'no duplicates');
      assert.deepEqual([...keys].sort(), expected, 'the union is every object');
      assert.equal(pageSizes.length, total / pageSize);
      assert.ok(
        pageSizes.every((n) => n === pageSize),
        `page sizes ${pageSizes.join(',')}`,
      );
    });
  }

  test('metadata-only pages carry no data; the request asks for PartialObjectMetadataList', async () => {
    cluster.local?.clearRequests();
    const { items } = await collect(client.listConfigMapMetadataPages(selected({ namespace: ns, pageSize: 1000 })));
    assert.equal(items.length, total);
    for (const item of items) {
      assert.equal('data' in item, false);
      assert.equal(item.metadata.labels?.['batch'], 'paging');
      assert.match(item.metadata.resourceVersion ?? '', /^\d+$/);
    }
    if (cluster.local) {
      const lists = requestsTo(`/api/v1/namespaces/${ns}/configmaps`, 'GET');
      assert.equal(lists.length, 3);
      for (const r of lists) assert.ok(r.accept?.includes(METADATA_LIST), `Accept: ${r.accept}`);
      cluster.local.clearRequests();
      await collect(client.listConfigMapPages(selected({ namespace: ns, pageSize: 1000 })));
      for (const r of requestsTo(`/api/v1/namespaces/${ns}/configmaps`, 'GET')) assert.equal(r.accept?.includes(METADATA_LIST), false);
    }
    const full = await collect(client.listConfigMapPages(selected({ namespace: ns, pageSize: 1000 })));
    assert.ok(full.items.every((i) => i.data?.['i'] !== undefined));
  });

  for (const [what, pager] of pagers) {
    test(...embeddedOnly('token expiry', `${what}: an expired continue token restarts the list and still yields every object once`), async () => {
      const server = local();
      server.clearRequests();
      const iterator = pager({ namespace: ns, pageSize })[Symbol.asyncIterator]();
      const keys: string[] = [];
      let pages = 0;
      for (;;) {
        // Consumed page by page, the token of the next request expiring in between (as after an
        // etcd compaction while the caller works on a page); more times than MAX_LIST_RESTARTS.
        if (pages === 1 || pages === 4 || pages === 5 || pages === 6 || pages === 9) server.expireContinueTokens();
        const next = await iterator.next();
        if (next.done) break;
        pages++;
        keys.push(...next.value.map((i) => keyOf(i.metadata)));
      }
      assert.equal(keys.length, total);
      assert.equal(new Set(keys).size, total, 'no duplicates');
      assert.deepEqual([...keys].sort(), expected);
      const gone = requestsTo(`/api/v1/namespaces/${ns}/configmaps`).filter((r) => r.status === 410);
      assert.equal(gone.length, 5, 'one 410 per expiry, each followed by a restart');
    });
  }

  test(...embeddedOnly('fault injection', 'a list that expires on every request gives up with GoneError'), async () => {
    const server = local();
    const iterator = client.listConfigMapPages(selected({ namespace: ns, pageSize }))[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).done, false);
    // Every list request after the first page answers 410: no progress is possible.
    server.faults.add({ match: { verb: 'list', path: `/namespaces/${ns}/configmaps?` }, fault: { kind: 'status', code: 410 } });
    const err = await rejectsWith(iterator.next(), GoneError);
    assert.equal(err.code, 410);
  });

  test('all namespaces (namespace undefined) lists across namespaces', async () => {
    const a = await cluster.extraNamespace();
    const b = await cluster.extraNamespace();
    const marker = `m${Date.now().toString(36)}`;
    await client.createConfigMap(cm(a, 'one', {}, { marker }));
    await client.createConfigMap(cm(b, 'two', {}, { marker }));
    await client.createConfigMap(cm(b, 'three', {}, { marker }));
    await client.createConfigMap(cm(b, 'unmarked'));
    const expectedKeys = [`${a}/one`, `${b}/three`, `${b}/two`].sort();
    const full = await collect(client.listConfigMapPages({ labelSelector: `marker=${marker}`, pageSize: 2 }));
    assert.deepEqual([...full.keys].sort(), expectedKeys);
    const meta = await collect(client.listConfigMapMetadataPages({ labelSelector: `marker=${marker}`, pageSize: 2 }));
    assert.deepEqual([...meta.keys].sort(), expectedKeys);
    if (cluster.local)
      assert.ok(
        cluster.local.requests.some((r) => r.path === '/api/v1/configmaps'),
        'the cluster-wide list endpoint',
      );
  });

  test(...embeddedOnly('seeding and token expiry', 'all namespaces: a restart resumes correctly when one namespace name prefixes another'), async () => {
    // "team" and "team-a": etcd orders keys as bytes of "<namespace>/<name>", so "team-a/…" comes
    // before "team/…"; the pager skips what it yielded by that same order.
    const server = local();
    const base = `p${Date.now().toString(36)}`;
    const marker = base;
    const objects: ConfigMap[] = [];
    for (const namespace of [base, `${base}-a`, `${base}-b`]) {
      for (let i = 0; i < 5; i++) objects.push(cm(namespace, `x-${i}`, {}, { marker }));
    }
    server.seed(objects);
    const iterator = client.listConfigMapMetadataPages({ labelSelector: `marker=${marker}`, pageSize: 4 })[Symbol.asyncIterator]();
    const keys: string[] = [];
    for (let page = 0; ; page++) {
      if (page > 0) server.expireContinueTokens();
      const next = await iterator.next();
      if (next.done) break;
      keys.push(...next.value.map((i) => keyOf(i.metadata)));
    }
    assert.deepEqual([...keys].sort(), objects.map((o) => keyOf(o.metadata)).sort());
    assert.equal(new Set(keys).size, objects.length);
  });
});

describe('size limit and server dry run', () => {
  test('1 MiB: exactly 1,048,576 bytes is accepted, one more byte is 422 InvalidError with tooLarge', async () => {
    const ns = await cluster.extraNamespace();
    // Values count (keys do not): two values summing to exactly 1 MiB.
    const exact = await client.createConfigMap(cm(ns, 'exact', { a: 'x'.repeat(MIB - 10), b: 'y'.repeat(10) }));
    assert.equal((exact.data?.['a']?.length ?? 0) + (exact.data?.['b']?.length ?? 0), MIB);

    const err = await rejectsWith(client.createConfigMap(cm(ns, 'over', { a: 'x'.repeat(MIB - 10), b: 'y'.repeat(11) })), InvalidError);
    assert.equal(err.code, 422);
    assert.equal(err.tooLarge, true);
    assert.match(err.message, /1048576/, 'carries the server message');
    await rejectsWith(client.getConfigMap({ namespace: ns, name: 'over' }), NotFoundError);

    // A multi-byte character counts as its UTF-8 bytes.
    const utf8 = await rejectsWith(client.createConfigMap(cm(ns, 'utf8', { a: 'é'.repeat(MIB / 2 + 1) })), InvalidError);
    assert.equal(utf8.tooLarge, true);
    // Growing an existing object over the limit is refused the same way.
    const grow = await rejectsWith(client.mergePatchConfigMap({ namespace: ns, name: 'exact' }, { data: { c: 'z' } }), InvalidError);
    assert.equal(grow.tooLarge, true);
  });

  test('serverDryRun: every write is validated and answered, nothing persists', async () => {
    const ns = await cluster.extraNamespace();
    const dry = cluster.client({ serverDryRun: true });
    assert.equal(dry.serverDryRun, true);
    cluster.local?.clearRequests();

    const created = await dry.createConfigMap(cm(ns, 'ghost', { a: '1' }));
    assert.equal(created.metadata.name, 'ghost');
    await rejectsWith(client.getConfigMap({ namespace: ns, name: 'ghost' }), NotFoundError);
    // Validation still runs.
    await rejectsWith(dry.createConfigMap(cm(ns, 'big', { a: 'x'.repeat(MIB + 1) })), InvalidError);

    const real = await client.createConfigMap(cm(ns, 'real', { a: '1' }));
    const replaced = await dry.replaceConfigMap({ ...real, data: { a: 'replaced' } });
    assert.deepEqual(replaced.data, { a: 'replaced' }, 'the answer shows the result');
    await dry.mergePatchConfigMap({ namespace: ns, name: 'real' }, { data: { a: 'merged' } });
    assert.equal(await dry.deleteConfigMap({ namespace: ns, name: 'real' }), 'deleted');
    await dry.createEvent({ involved: { kind: 'ConfigMap', namespace: ns, name: 'real' }, type: 'Normal', reason: 'DryRun', message: 'not stored' }, new Date());

    const still = await client.getConfigMap({ namespace: ns, name: 'real' });
    assert.deepEqual(still.data, { a: '1' });
    assert.equal(still.metadata.resourceVersion, real.metadata.resourceVersion);
    const core = loadKubeConfig({ kubeconfig: cluster.kubeconfig }).kubeConfig.makeApiClient(CoreV1Api);
    assert.deepEqual((await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=real' })).items, []);

    if (cluster.local) {
      const writes = cluster.local.requests.filter((r) => r.method !== 'GET' && r.path.includes(`/namespaces/${ns}/`));
      const dryWrites = writes.filter((r) => r.query.get('dryRun') === 'All');
      // Every write of the dry-run client but its delete (5), none of the plain client's create: the
      // delete says dryRun in its DeleteOptions body, which the request log does not keep ('real' is
      // still there).
      assert.equal(dryWrites.length, 5);
      assert.deepEqual(
        writes
          .filter((r) => !dryWrites.includes(r))
          .map((r) => r.method)
          .sort(),
        ['DELETE', 'POST'],
      );
    }
  });
});

describe(...embeddedOnly('fault injection', 'faults and recovery'), () => {
  test('429 with Retry-After: retried after the wait the server asked for', async () => {
    const ns = await cluster.extraNamespace();
    await client.createConfigMap(cm(ns, 'r'));
    const handle = local().faults.add({ match: { verb: 'get', path: `/namespaces/${ns}/configmaps/r` }, fault: { kind: 'status', code: 429, retryAfterSeconds: 1 }, times: 1 });
    const retries: { err: KubeError; delayMs: number }[] = [];
    const c = cluster.client({ retry: FAST_RETRY, onRetry: (err, _attempt, delayMs) => retries.push({ err, delayMs }) });
    const started = performance.now();
    const got = await c.getConfigMap({ namespace: ns, name: 'r' });
    const elapsed = performance.now() - started;
    assert.equal(got.metadata.name, 'r');
    assert.equal(handle.fired, 1);
    assert.equal(retries.length, 1);
    assert.ok(retries[0]?.err instanceof ThrottledError);
    assert.equal((retries[0]?.err as ThrottledError).retryAfterSeconds, 1);
    assert.equal(retries[0]?.delayMs, 1000, 'Retry-After wins over the 10 ms backoff');
    assert.ok(elapsed >= 990, `waited ${elapsed.toFixed(0)} ms`);
    assert.ok(elapsed < 3000, `waited ${elapsed.toFixed(0)} ms`);
  });

  test('500 on a write: retried, and the write lands once', async () => {
    const ns = await cluster.extraNamespace();
    const handle = local().faults.add({ match: { method: 'POST', path: `/namespaces/${ns}/configmaps` }, fault: { kind: 'status', code: 500 }, times: 2 });
    const codes: (number | undefined)[] = [];
    const c = cluster.client({ retry: FAST_RETRY, onRetry: (err) => codes.push(err.code) });
    const created = await c.createConfigMap(cm(ns, 'five-hundred'));
    assert.equal(created.metadata.name, 'five-hundred');
    assert.equal(handle.fired, 2);
    assert.deepEqual(codes, [500, 500]);
    assert.equal(requestsTo(`/api/v1/namespaces/${ns}/configmaps`, 'POST').length, 3);
  });

  test('a dropped connection mid-list: retried, the pager still yields everything', async () => {
    const ns = await cluster.extraNamespace();
    local().seed(Array.from({ length: 50 }, (_, i) => cm(ns, `d-${i}`, { k: 'v' }, { batch: 'dropped' })));
    const handle = local().faults.add({ match: { verb: 'list', path: `/namespaces/${ns}/configmaps` }, fault: { kind: 'drop' }, nth: 2 });
    const errors: KubeError[] = [];
    const c = cluster.client({ retry: FAST_RETRY, onRetry: (err) => errors.push(err) });
    const { keys } = await collect(c.listConfigMapPages({ namespace: ns, labelSelector: 'batch=dropped', pageSize: 10 }));
    assert.equal(keys.length, 50);
    assert.equal(new Set(keys).size, 50);
    assert.equal(handle.fired, 1);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof UnavailableError, errors[0]?.name);
    assert.equal(errors[0]?.code, undefined, 'no HTTP status: the connection was dropped');
  });

  const endless = [
    ['HTTP 503', { kind: 'status', code: 503 }, 503],
    ['dropped connections', { kind: 'drop' }, undefined],
  ] as const;
  for (const [what, fault, code] of endless) {
    test(`a fault that never ends (${what}): UnavailableError after the bounded attempts`, async () => {
      const ns = await cluster.extraNamespace();
      await client.createConfigMap(cm(ns, 'e'));
      const handle = local().faults.add({ match: { verb: 'get', path: `/namespaces/${ns}/configmaps/e` }, fault, rate: 1 });
      const c = cluster.client({ retry: FAST_RETRY });
      const started = performance.now();
      const err = await rejectsWith(c.getConfigMap({ namespace: ns, name: 'e' }), UnavailableError);
      assert.equal(err.code, code);
      assert.equal(err.transient, true);
      assert.equal(handle.fired, FAST_RETRY.maxAttempts);
      assert.ok(performance.now() - started < 2000, 'gives up in bounded time');
      handle.remove();
      assert.equal((await c.getConfigMap({ namespace: ns, name: 'e' })).metadata.name, 'e', 'recovers once the fault ends');
    });
  }

  test('latency beyond requestTimeoutMs: a timeout, treated as transient and retried', async () => {
    const ns = await cluster.extraNamespace();
    await client.createConfigMap(cm(ns, 'slow'));
    const handle = local().faults.add({ match: { verb: 'get', path: `/namespaces/${ns}/configmaps/slow` }, fault: { kind: 'latency', ms: 1500 }, times: 1 });
    const errors: KubeError[] = [];
    const c = cluster.client({ retry: FAST_RETRY, requestTimeoutMs: 300, onRetry: (err) => errors.push(err) });
    const started = performance.now();
    const got = await c.getConfigMap({ namespace: ns, name: 'slow' });
    const elapsed = performance.now() - started;
    assert.equal(got.metadata.name, 'slow');
    assert.equal(handle.fired, 1);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof UnavailableError, errors[0]?.name);
    assert.match(errors[0]?.message ?? '', /timed out/);
    assert.ok(elapsed >= 300 && elapsed < 1400, `${elapsed.toFixed(0)} ms: did not wait for the slow answer`);

    local().faults.add({ match: { verb: 'get', path: `/namespaces/${ns}/configmaps/slow` }, fault: { kind: 'latency', ms: 1000 } });
    const timedOut = await rejectsWith(cluster.client({ retry: { ...FAST_RETRY, maxAttempts: 2 }, requestTimeoutMs: 150 }).getConfigMap({ namespace: ns, name: 'slow' }), UnavailableError);
    assert.match(timedOut.message, /timed out/);
  });

  test('403 ForbiddenError names the verb and the resource, and is not retried', async () => {
    const ns = await cluster.extraNamespace();
    await client.createConfigMap(cm(ns, 'f'));
    local().deny({ verb: 'delete', resource: 'configmaps', namespace: ns });
    local().clearRequests();
    const err = await rejectsWith(client.deleteConfigMap({ namespace: ns, name: 'f' }), ForbiddenError);
    assert.equal(err.code, 403);
    assert.equal(err.context.verb, 'delete');
    assert.equal(err.context.resource, 'configmaps');
    assert.match(err.message, /delete/);
    assert.match(err.message, /configmaps/);
    assert.equal(requestsTo(`/api/v1/namespaces/${ns}/configmaps/f`, 'DELETE').length, 1);
    assert.equal((await client.getConfigMap({ namespace: ns, name: 'f' })).metadata.name, 'f', 'other verbs still allowed');
  });
});

describe('leases, events, access reviews, version', () => {
  test('Lease lock: acquire, a second holder is refused, release, take over an expired lease', async (t) => {
    const ns = await cluster.extraNamespace();
    const ref = { namespace: ns, name: 'cmstate-sweep' };
    const first = new LeaseLock(client, { ref, holder: 'run-1', durationSeconds: 30 });
    const second = new LeaseLock(client, { ref, holder: 'run-2', durationSeconds: 30 });
    const third = new LeaseLock(client, { ref, holder: 'run-3', durationSeconds: 30 });
    // A failed assertion must not leave a renewal loop keeping the test process alive.
    t.after(async () => {
      for (const lock of [first, second, third]) await lock.release().catch(() => undefined);
    });
    await first.acquire();
    const held = await client.getLease(ref);
    assert.equal(held.spec?.holderIdentity, 'run-1');
    assert.equal(held.spec?.leaseDurationSeconds, 30);
    assert.ok(Math.abs(Date.parse(held.spec?.renewTime ?? '') - Date.now()) < 60_000, `renewTime ${held.spec?.renewTime}`);
    if (cluster.local) {
      // MicroTime: a real API server rejects anything but six fractional digits.
      const stored = cluster.local.getObject('coordination.k8s.io/v1', 'Lease', ns, 'cmstate-sweep') as unknown as { spec: { renewTime: string; acquireTime: string } };
      assert.match(stored.spec.renewTime, /\.\d{6}Z$/);
      assert.match(stored.spec.acquireTime, /\.\d{6}Z$/);
    }

    await assert.rejects(second.acquire(), (err: unknown) => err instanceof LockHeldError && err.holder === 'run-1' && err.expiresAt.getTime() > Date.now());

    await first.release();
    await rejectsWith(client.getLease(ref), NotFoundError);
    await second.acquire();
    assert.equal((await client.getLease(ref)).spec?.holderIdentity, 'run-2');
    await second.release();

    // A crashed run's lease: last renewed long ago, so it has expired and may be taken over.
    const longAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    await client.createLease({
      metadata: { name: ref.name, namespace: ns },
      spec: { holderIdentity: 'crashed', leaseDurationSeconds: 60, acquireTime: longAgo, renewTime: longAgo, leaseTransitions: 2 },
    });
    await third.acquire();
    const taken = await client.getLease(ref);
    assert.equal(taken.spec?.holderIdentity, 'run-3');
    assert.equal(taken.spec?.leaseTransitions, 3);
    await third.release();
    await rejectsWith(client.getLease(ref), NotFoundError);
  });

  test('Event creation', async () => {
    const ns = await cluster.extraNamespace();
    const target = await client.createConfigMap(cm(ns, 'task-1-state'));
    const when = new Date();
    await client.createEvent(
      {
        involved: { kind: 'ConfigMap', namespace: ns, name: 'task-1-state', uid: target.metadata.uid, resourceVersion: target.metadata.resourceVersion },
        type: 'Warning',
        reason: 'Quarantined',
        message: 'invariant broken',
        action: 'Quarantine',
      },
      when,
    );
    const core = loadKubeConfig({ kubeconfig: cluster.kubeconfig }).kubeConfig.makeApiClient(CoreV1Api);
    const events = (await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=task-1-state' })).items;
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event?.involvedObject.name, 'task-1-state');
    assert.equal(event?.involvedObject.uid, target.metadata.uid);
    assert.equal(event?.type, 'Warning');
    assert.equal(event?.reason, 'Quarantined');
    assert.equal(event?.message, 'invariant broken');
    assert.equal(event?.source?.component, 'cmstate');
  });

  test('canI: allowed', async () => {
    const ns = await cluster.extraNamespace();
    assert.equal(await client.canI('get', 'configmaps', ns), true);
    assert.equal(await client.canI('create', 'leases', ns, 'coordination.k8s.io'), true);
  });

  test(...embeddedOnly('deny rules', 'canI: a denied verb answers false, only where denied'), async () => {
    const ns = await cluster.extraNamespace();
    local().deny({ verb: 'delete', resource: 'configmaps', namespace: ns });
    assert.equal(await client.canI('delete', 'configmaps', ns), false);
    assert.equal(await client.canI('patch', 'configmaps', ns), true);
    assert.equal(await client.canI('delete', 'configmaps', cluster.namespace), true);
  });

  test('serverVersion', async () => {
    assert.match(await client.serverVersion(), /^v\d+\.\d+\.\d+/);
  });
});

describe('rate and throughput', () => {
  test('the QPS limiter really limits: 40 gets at qps 20 (burst 10) take ≥ 1.5 s', async (t) => {
    const ns = await cluster.extraNamespace();
    await client.createConfigMap(cm(ns, 'q'));
    const limited = cluster.client({ qps: 20, burst: 10 });
    const started = performance.now();
    await Promise.all(Array.from({ length: 40 }, () => limited.getConfigMap({ namespace: ns, name: 'q' })));
    const seconds = (performance.now() - started) / 1000;
    t.diagnostic(`40 gets at qps 20, burst 10: ${seconds.toFixed(2)} s`);
    // 10 at once, then 30 more at 50 ms intervals.
    assert.ok(seconds >= 1.45, `${seconds} s`);
    assert.ok(seconds < 4, `${seconds} s`);
  });

  test('throughput through KubeClient (reported)', async (t) => {
    const ns = await cluster.extraNamespace();
    const fast = cluster.client({ qps: 100_000 });
    const n = againstRealCluster ? 300 : 1000;
    const payload = 'x'.repeat(512);
    let started = performance.now();
    await runBounded(
      Array.from({ length: n }, (_, i) => i),
      16,
      async (i) => {
        await fast.createConfigMap(cm(ns, `t-${i}`, { state: payload }, { batch: 'throughput' }));
      },
    );
    const createRate = n / ((performance.now() - started) / 1000);
    if (cluster.local) cluster.local.seed(Array.from({ length: 9000 }, (_, i) => cm(ns, `s-${i}`, { state: payload }, { batch: 'throughput' })));
    const expectedCount = cluster.local ? n + 9000 : n;

    started = performance.now();
    const full = await collect(fast.listConfigMapPages({ namespace: ns, labelSelector: 'batch=throughput', pageSize: 500 }));
    const listRate = full.keys.length / ((performance.now() - started) / 1000);
    started = performance.now();
    const meta = await collect(fast.listConfigMapMetadataPages({ namespace: ns, labelSelector: 'batch=throughput', pageSize: 500 }));
    const metaRate = meta.keys.length / ((performance.now() - started) / 1000);
    assert.equal(full.keys.length, expectedCount);
    assert.equal(meta.keys.length, expectedCount);
    t.diagnostic(`KubeClient create (16 in flight): ${createRate.toFixed(0)} ConfigMaps/s`);
    t.diagnostic(`KubeClient list, pages of 500: ${listRate.toFixed(0)} objects/s full, ${metaRate.toFixed(0)} objects/s metadata only (${expectedCount} objects)`);
    assert.ok(createRate > 20, 'creates are not pathologically slow');
  });
});
