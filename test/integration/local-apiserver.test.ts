// The local API server over real HTTP (fetch): semantics, errors, paging, watch, faults, authz,
// persistence. Each test works in its own namespace so tests do not see each other's objects.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { LocalApiServer, seededRandom, type KubeObject } from '../../src/local-apiserver/index.js';

const META_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const META_ONE = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

interface Reply {
  status: number;
  // Tests read arbitrary fields of JSON answers.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

interface CallOptions {
  body?: unknown;
  contentType?: string;
  accept?: string;
}

let server: LocalApiServer;

/** The admin's credentials, as the kubeconfig carries them (without a token file, sending none is the admin too). */
const admin = (s: LocalApiServer) => ({ authorization: `Bearer ${s.adminToken}` });

async function call(method: string, path: string, opts: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.accept) headers['accept'] = opts.accept;
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const cms = (ns: string, rest = '') => `/api/v1/namespaces/${ns}/configmaps${rest}`;

async function namespace(name: string): Promise<string> {
  const r = await call('POST', '/api/v1/namespaces', { body: { metadata: { name } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return name;
}

async function createCm(ns: string, name: string, extra: Partial<KubeObject> & { labels?: Record<string, string> } = {}): Promise<Reply> {
  const { labels, ...rest } = extra;
  return call('POST', cms(ns), { body: { metadata: { name, ...(labels ? { labels } : {}) }, data: { k: 'v' }, ...rest } });
}

function assertStatus(r: Reply, code: number, reason: string): void {
  assert.equal(r.status, code, JSON.stringify(r.body));
  assert.equal(r.body.kind, 'Status');
  assert.equal(r.body.apiVersion, 'v1');
  assert.equal(r.body.status, 'Failure');
  assert.equal(r.body.reason, reason);
  assert.equal(r.body.code, code);
  assert.equal(typeof r.body.message, 'string');
}

before(async () => {
  server = await LocalApiServer.start();
});

after(async () => {
  await server.close();
});

describe('CRUD', () => {
  test('create, get, list, replace, delete with real Status bodies', async () => {
    const ns = await namespace('crud');
    const created = await createCm(ns, 'a', { labels: { app: 'x' } });
    assert.equal(created.status, 201);
    const meta = created.body.metadata;
    assert.match(meta.uid, /^[0-9a-f-]{36}$/);
    assert.match(meta.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(meta.resourceVersion, /^\d+$/);
    assert.equal(meta.namespace, 'crud');
    assert.equal(created.body.kind, 'ConfigMap');

    const again = await createCm(ns, 'a');
    assertStatus(again, 409, 'AlreadyExists');
    assert.equal(again.body.message, 'configmaps "a" already exists');
    assert.deepEqual(again.body.details, { name: 'a', kind: 'configmaps' });

    const got = await call('GET', cms(ns, '/a'));
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, created.body);

    const missing = await call('GET', cms(ns, '/nope'));
    assertStatus(missing, 404, 'NotFound');
    assert.equal(missing.body.message, 'configmaps "nope" not found');

    const list = await call('GET', cms(ns));
    assert.equal(list.body.kind, 'ConfigMapList');
    // Every namespace also holds the cluster's kube-root-ca.crt, as on a real cluster.
    assert.deepEqual(
      list.body.items.map((i: KubeObject) => i.metadata.name),
      ['a', 'kube-root-ca.crt'],
    );
    assert.match(list.body.metadata.resourceVersion, /^\d+$/);

    const replaced = await call('PUT', cms(ns, '/a'), { body: { ...created.body, data: { k: 'v2' } } });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.data.k, 'v2');
    assert.equal(replaced.body.metadata.uid, meta.uid);
    assert.equal(replaced.body.metadata.creationTimestamp, meta.creationTimestamp);
    assert.ok(Number(replaced.body.metadata.resourceVersion) > Number(meta.resourceVersion));

    const noop = await call('PUT', cms(ns, '/a'), { body: replaced.body });
    assert.equal(noop.body.metadata.resourceVersion, replaced.body.metadata.resourceVersion, 'a no-op update keeps the resourceVersion');

    const deleted = await call('DELETE', cms(ns, '/a'));
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.status, 'Success');
    assert.equal(deleted.body.details.uid, meta.uid);
    assertStatus(await call('GET', cms(ns, '/a')), 404, 'NotFound');
    assertStatus(await call('DELETE', cms(ns, '/a')), 404, 'NotFound');
  });

  test('creating in a missing namespace is 404 for the namespace; default exists', async () => {
    const r = await createCm('no-such-ns', 'a');
    assertStatus(r, 404, 'NotFound');
    assert.equal(r.body.message, 'namespaces "no-such-ns" not found');
    assert.deepEqual(r.body.details, { name: 'no-such-ns', kind: 'namespaces' });
    assert.equal((await call('GET', '/api/v1/namespaces/default')).body.status.phase, 'Active');
  });

  test('generateName gives a unique name', async () => {
    const ns = await namespace('generate');
    const r = await call('POST', cms(ns), { body: { metadata: { generateName: 'job-' } } });
    assert.equal(r.status, 201);
    assert.match(r.body.metadata.name, /^job-[a-z0-9]{5}$/);
  });

  test('replace: a stale resourceVersion is 409 Conflict, an empty one is unconditional', async () => {
    const ns = await namespace('replace');
    const v1 = (await createCm(ns, 'a')).body;
    const v2 = (await call('PUT', cms(ns, '/a'), { body: { ...v1, data: { k: 'v2' } } })).body;
    const stale = await call('PUT', cms(ns, '/a'), { body: { ...v1, data: { k: 'v3' } } });
    assertStatus(stale, 409, 'Conflict');
    assert.equal(stale.body.message, 'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again');
    const unconditional = await call('PUT', cms(ns, '/a'), {
      body: { metadata: { name: 'a', resourceVersion: '' }, data: { k: 'v4' } },
    });
    assert.equal(unconditional.status, 200);
    assert.equal(unconditional.body.data.k, 'v4');
    assert.ok(Number(unconditional.body.metadata.resourceVersion) > Number(v2.metadata.resourceVersion));
    assertStatus(await call('PUT', cms(ns, '/b'), { body: { metadata: { name: 'b' } } }), 404, 'NotFound');
    assertStatus(await call('PUT', cms(ns, '/a'), { body: { metadata: { name: 'other' } } }), 400, 'BadRequest');
  });

  test('merge patch: resourceVersion in metadata is a precondition', async () => {
    const ns = await namespace('mergepatch');
    const v1 = (await createCm(ns, 'a')).body;
    const type = 'application/merge-patch+json';
    const ok = await call('PATCH', cms(ns, '/a'), {
      contentType: type,
      body: { metadata: { resourceVersion: v1.metadata.resourceVersion, labels: { l: '1' } }, data: { k: null, n: 'x' } },
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.data, { n: 'x' });
    assert.deepEqual(ok.body.metadata.labels, { l: '1' });
    const stale = await call('PATCH', cms(ns, '/a'), {
      contentType: type,
      body: { metadata: { resourceVersion: v1.metadata.resourceVersion }, data: { n: 'y' } },
    });
    assertStatus(stale, 409, 'Conflict');
    assert.equal((await call('GET', cms(ns, '/a'))).body.data.n, 'x');
    assertStatus(await call('PATCH', cms(ns, '/zzz'), { contentType: type, body: {} }), 404, 'NotFound');
  });

  test('delete preconditions: uid and resourceVersion', async () => {
    const ns = await namespace('predelete');
    const v1 = (await createCm(ns, 'a')).body;
    const { uid, resourceVersion } = v1.metadata;
    const badUid = await call('DELETE', cms(ns, '/a'), { body: { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } } });
    assertStatus(badUid, 409, 'Conflict');
    assert.equal(
      badUid.body.message,
      `Operation cannot be fulfilled on ConfigMap "a": the UID in the precondition (00000000-0000-0000-0000-000000000000) does not match the UID in record (${uid}). The object might have been deleted and then recreated`,
    );
    assert.deepEqual(badUid.body.details, { name: 'a', kind: 'ConfigMap' });
    const badRv = await call('DELETE', cms(ns, '/a'), { body: { preconditions: { uid, resourceVersion: '1' } } });
    assertStatus(badRv, 409, 'Conflict');
    assert.equal(
      badRv.body.message,
      `Operation cannot be fulfilled on ConfigMap "a": the ResourceVersion in the precondition (1) does not match the ResourceVersion in record (${resourceVersion}). The object might have been modified`,
    );
    assert.equal((await call('GET', cms(ns, '/a'))).status, 200, 'a failed precondition deletes nothing');
    const ok = await call('DELETE', cms(ns, '/a'), { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid, resourceVersion } } });
    assert.equal(ok.status, 200);
    assert.equal((await call('GET', cms(ns, '/a'))).status, 404);
  });

  test('deleting a namespace deletes its objects; default cannot be deleted', async () => {
    const ns = await namespace('doomed');
    await createCm(ns, 'a');
    await call('POST', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, { body: { metadata: { name: 'l' } } });
    const r = await call('DELETE', `/api/v1/namespaces/${ns}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status.phase, 'Terminating');
    // Terminating first: no new content, and a second delete is a conflict, until the namespace
    // controller has emptied and removed it.
    const late = await createCm(ns, 'late');
    assertStatus(late, 403, 'Forbidden');
    assert.equal(late.body.details.causes[0].reason, 'NamespaceTerminating');
    assertStatus(await call('DELETE', `/api/v1/namespaces/${ns}`), 409, 'Conflict');
    const deadline = Date.now() + 5000;
    while ((await call('GET', `/api/v1/namespaces/${ns}`)).status !== 404) {
      assert.ok(Date.now() < deadline, 'the namespace is removed');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal((await call('GET', cms(ns))).body.items.length, 0);
    assert.equal((await call('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/l`)).status, 404);
    await namespace(ns);
    assert.equal((await call('GET', cms(ns, '/a'))).status, 404, 'a recreated namespace is empty');
    // The namespaces every cluster starts with; the NamespaceLifecycle plugin protects three of them.
    for (const name of ['default', 'kube-system', 'kube-public']) assertStatus(await call('DELETE', `/api/v1/namespaces/${name}?dryRun=All`), 403, 'Forbidden');
    const lease = await call('DELETE', '/api/v1/namespaces/kube-node-lease?dryRun=All');
    assert.equal(lease.status, 200, 'kube-node-lease exists and may be deleted');
    assert.equal(lease.body.status.phase, 'Terminating');
  });

  test('leases: full CRUD under coordination.k8s.io', async () => {
    const ns = await namespace('leases');
    const base = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;
    const spec = { holderIdentity: 'pod-a', leaseDurationSeconds: 30, acquireTime: '2024-01-01T00:00:00.000000Z' };
    const created = await call('POST', base, { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'sweep' }, spec } });
    assert.equal(created.status, 201);
    assert.equal(created.body.apiVersion, 'coordination.k8s.io/v1');
    const taken = await call('PUT', `${base}/sweep`, { body: { ...created.body, spec: { ...spec, holderIdentity: 'pod-b' } } });
    assert.equal(taken.body.spec.holderIdentity, 'pod-b');
    const lost = await call('PUT', `${base}/sweep`, { body: { ...created.body, spec: { ...spec, holderIdentity: 'pod-c' } } });
    assertStatus(lost, 409, 'Conflict');
    assert.match(lost.body.message, /^Operation cannot be fulfilled on leases.coordination.k8s.io "sweep"/);
    assert.deepEqual(lost.body.details, { name: 'sweep', group: 'coordination.k8s.io', kind: 'leases' });
    const badSpec = await call('POST', base, { body: { metadata: { name: 'bad' }, spec: { leaseDurationSeconds: 0 } } });
    assertStatus(badSpec, 422, 'Invalid');
    assert.equal((await call('GET', base)).body.kind, 'LeaseList');
    assert.equal((await call('DELETE', `${base}/sweep`)).status, 200);
  });

  test('events: create, get, list with field selectors', async () => {
    const ns = await namespace('events');
    const base = `/api/v1/namespaces/${ns}/events`;
    const event = {
      metadata: { name: 'a.1' },
      involvedObject: { kind: 'ConfigMap', namespace: ns, name: 'a' },
      reason: 'Deleted',
      message: 'swept',
      type: 'Normal',
    };
    assert.equal((await call('POST', base, { body: event })).status, 201);
    assert.equal((await call('GET', `${base}/a.1`)).body.reason, 'Deleted');
    const byObject = await call('GET', `${base}?fieldSelector=involvedObject.name%3Da,reason%3DDeleted`);
    assert.equal(byObject.body.items.length, 1);
    assert.equal((await call('GET', `${base}?fieldSelector=involvedObject.name%3Db`)).body.items.length, 0);
  });

  test('unknown paths are 404, unsupported methods 405, bad JSON 400', async () => {
    assertStatus(await call('GET', '/api/v1/namespaces/default/secrets'), 404, 'NotFound');
    const page = await fetch(`${server.url}/nope`, { headers: admin(server) });
    assert.deepEqual([page.status, page.headers.get('content-type'), await page.text()], [404, 'text/plain; charset=utf-8', '404 page not found\n']);
    assertStatus(await call('PUT', cms('default')), 405, 'MethodNotAllowed');
    assertStatus(await call('POST', cms('default', '/x')), 405, 'MethodNotAllowed');
    assertStatus(await call('POST', cms('default'), { body: '{not json' }), 400, 'BadRequest');
    const typed = await call('POST', cms('default'), { body: { metadata: { name: 'typed' }, data: { a: 1 } } });
    assertStatus(typed, 400, 'BadRequest');
    assert.match(typed.body.message, /cannot unmarshal number into Go struct field ConfigMap.data of type string/);
    const strict = await call('POST', cms('default', '?fieldValidation=Strict'), { body: { metadata: { name: 'x' }, spec: {} } });
    assertStatus(strict, 400, 'BadRequest');
    assert.equal(strict.body.message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "spec"');
    const warned = await call('POST', cms('default'), { body: { metadata: { name: 'warned' }, spec: {} } });
    assert.equal(warned.status, 201);
    assert.equal(warned.headers.get('warning'), '299 - "unknown field \\"spec\\""');
    assert.equal(warned.body.spec, undefined, 'unknown fields are dropped');
  });

  test('discovery documents', async () => {
    const v1 = await call('GET', '/api/v1');
    const cm = v1.body.resources.find((r: { name: string }) => r.name === 'configmaps');
    assert.deepEqual(cm.shortNames, ['cm']);
    assert.ok(cm.verbs.includes('watch'));
    const names = v1.body.resources.map((r: { name: string; shortNames?: string[] }) => `${r.name}:${r.shortNames}`);
    assert.deepEqual(names.sort(), ['configmaps:cm', 'events:ev', 'namespaces:ns']);
    const groups = (await call('GET', '/apis')).body.groups.map((g: { name: string }) => g.name);
    assert.deepEqual(groups, ['events.k8s.io', 'authorization.k8s.io', 'coordination.k8s.io']);
    assert.equal((await call('GET', '/apis/coordination.k8s.io/v1')).body.resources[0].name, 'leases');
    assert.equal((await call('GET', '/version')).body.minor, '32');
    assert.deepEqual(Object.keys((await call('GET', '/openapi/v3')).body.paths).sort(), ['api/v1', 'apis/authorization.k8s.io/v1', 'apis/coordination.k8s.io/v1', 'apis/events.k8s.io/v1']);
  });
});

describe('selectors over HTTP', () => {
  before(async () => {
    await namespace('sel-a');
    await namespace('sel-b');
    server.seed([
      { metadata: { name: 'web', namespace: 'sel-a', labels: { app: 'web', tier: 'front' } } },
      { metadata: { name: 'db', namespace: 'sel-a', labels: { app: 'db', tier: 'back' } } },
      { metadata: { name: 'bare', namespace: 'sel-a' } },
      { metadata: { name: 'web', namespace: 'sel-b', labels: { app: 'web', canary: 'true' } } },
    ]);
  });

  const names = async (path: string) => {
    const r = await call('GET', path);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.items.map((i: KubeObject) => `${i.metadata.namespace}/${i.metadata.name}`);
  };
  const q = (selector: string) => encodeURIComponent(selector);

  const cases: [string, string, string[]][] = [
    ['equality =', `labelSelector=${q('app=web')}`, ['sel-a/web']],
    ['equality ==', `labelSelector=${q('app==db')}`, ['sel-a/db']],
    // The namespace's kube-root-ca.crt has no labels: selectors that match a missing key match it.
    ['inequality (matches missing)', `labelSelector=${q('app!=web')}`, ['sel-a/bare', 'sel-a/db', 'sel-a/kube-root-ca.crt']],
    ['in', `labelSelector=${q('tier in (front,back)')}`, ['sel-a/db', 'sel-a/web']],
    ['notin', `labelSelector=${q('tier notin (front)')}`, ['sel-a/bare', 'sel-a/db', 'sel-a/kube-root-ca.crt']],
    ['exists', `labelSelector=${q('tier')}`, ['sel-a/db', 'sel-a/web']],
    ['not exists', `labelSelector=${q('!tier')}`, ['sel-a/bare', 'sel-a/kube-root-ca.crt']],
    ['AND', `labelSelector=${q('app=web,tier=front')}`, ['sel-a/web']],
    ['field name =', `fieldSelector=${q('metadata.name=db')}`, ['sel-a/db']],
    ['field name ==', `fieldSelector=${q('metadata.name==db')}`, ['sel-a/db']],
    ['field name !=', `fieldSelector=${q('metadata.name!=db')}`, ['sel-a/bare', 'sel-a/kube-root-ca.crt', 'sel-a/web']],
    ['field and label', `fieldSelector=${q('metadata.name!=db')}&labelSelector=app`, ['sel-a/web']],
  ];
  for (const [what, query, expected] of cases) {
    test(what, async () => {
      assert.deepEqual(await names(`${cms('sel-a')}?${query}`), expected);
    });
  }

  test('all namespaces, field selector on namespace', async () => {
    assert.deepEqual(await names(`/api/v1/configmaps?labelSelector=${q('app=web')}`), ['sel-a/web', 'sel-b/web']);
    assert.deepEqual(await names(`/api/v1/configmaps?labelSelector=app&fieldSelector=${q('metadata.namespace=sel-b')}`), ['sel-b/web']);
    assert.deepEqual(await names(`/api/v1/configmaps?labelSelector=${q('app=web')}&fieldSelector=${q('metadata.namespace!=sel-a')}`), ['sel-b/web']);
  });

  test('bad selectors are 400', async () => {
    assertStatus(await call('GET', `${cms('sel-a')}?labelSelector=${q('app in (')}`), 400, 'BadRequest');
    assertStatus(await call('GET', `${cms('sel-a')}?labelSelector=${q('app=-x-')}`), 400, 'BadRequest');
    const field = await call('GET', `${cms('sel-a')}?fieldSelector=${q('data.k=v')}`);
    assertStatus(field, 400, 'BadRequest');
    // ConfigMaps have no field label conversion of their own: apimachinery's default words it.
    assert.equal(field.body.message, '"data.k" is not a known field selector: only "metadata.name", "metadata.namespace"');
    const events = await call('GET', `/api/v1/namespaces/sel-a/events?fieldSelector=${q('data.k=v')}`);
    assertStatus(events, 400, 'BadRequest');
    assert.equal(events.body.message, 'field label not supported: data.k');
  });
});

describe('paging', () => {
  const total = 5000;
  /** The seeded objects and the namespace's kube-root-ca.crt, which sorts after them. */
  const inNamespace = total + 1;
  before(async () => {
    await namespace('paging');
    // Seeded out of order: the server must page in (namespace, name) order regardless.
    const objects = Array.from({ length: total }, (_, i) => ({
      metadata: { name: `cm-${String((i * 7919) % total).padStart(5, '0')}`, namespace: 'paging', labels: { even: String(i % 2 === 0) } },
      data: { i: String(i) },
    }));
    server.seed(objects);
  });

  async function collect(path: string, limit: number): Promise<{ names: string[]; pages: number; rvs: Set<string> }> {
    const names: string[] = [];
    const rvs = new Set<string>();
    let token = '';
    let pages = 0;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const r = await call('GET', `${path}${sep}limit=${limit}${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.items.length <= limit);
      names.push(...r.body.items.map((i: KubeObject) => i.metadata.name));
      rvs.add(r.body.metadata.resourceVersion);
      token = r.body.metadata.continue ?? '';
      pages++;
    } while (token);
    return { names, pages, rvs };
  }

  test('5,000 objects in pages: all, once each, in stable order, one resourceVersion', async () => {
    const { names, pages, rvs } = await collect(cms('paging'), 237);
    assert.equal(names.length, inNamespace);
    assert.equal(new Set(names).size, inNamespace, 'no duplicates');
    assert.deepEqual(names, [...names].sort(), 'sorted by name');
    assert.equal(pages, Math.ceil(inNamespace / 237));
    assert.equal(rvs.size, 1, 'every page reports the first page resourceVersion');
    const again = await collect(cms('paging'), 1000);
    assert.deepEqual(again.names, names, 'stable order across page sizes');
  });

  test('first page carries remainingItemCount; the last page has no continue', async () => {
    const first = await call('GET', `${cms('paging')}?limit=1000`);
    assert.equal(first.body.metadata.remainingItemCount, inNamespace - 1000);
    const exact = await call('GET', `${cms('paging')}?limit=${inNamespace}`);
    assert.equal(exact.body.items.length, inNamespace);
    assert.equal(exact.body.metadata.continue, undefined);
    assert.equal(exact.body.metadata.remainingItemCount, undefined);
  });

  test('paging with a label selector returns exactly the matching objects', async () => {
    const { names } = await collect(`${cms('paging')}?labelSelector=even%3Dtrue`, 300);
    assert.equal(names.length, total / 2);
    assert.equal(new Set(names).size, total / 2);
  });

  test('paging all namespaces orders by namespace then name', async () => {
    const { names } = await collect('/api/v1/configmaps', 700);
    assert.ok(names.length >= total);
  });

  test('pages after the first show the objects as they were at the revision of the first', async () => {
    const ns = await namespace('paging-at-revision');
    for (const name of ['a', 'b', 'c', 'd']) await createCm(ns, name, { labels: { set: 'x' } });
    const first = await call('GET', `${cms(ns)}?labelSelector=set%3Dx&limit=2`);
    assert.deepEqual(
      first.body.items.map((i: KubeObject) => i.metadata.name),
      ['a', 'b'],
    );
    const c = (await call('GET', cms(ns, '/c'))).body;
    // After the first page: c changes, d goes, e comes.
    await call('PATCH', cms(ns, '/c'), { contentType: 'application/merge-patch+json', body: { data: { k: 'changed' } } });
    await call('DELETE', cms(ns, '/d'));
    await createCm(ns, 'e', { labels: { set: 'x' } });
    const rest = await call('GET', `${cms(ns)}?labelSelector=set%3Dx&limit=2&continue=${encodeURIComponent(first.body.metadata.continue)}`);
    assert.equal(rest.status, 200, JSON.stringify(rest.body));
    assert.deepEqual(
      rest.body.items.map((i: KubeObject) => i.metadata.name),
      ['c', 'd'],
    );
    assert.deepEqual([rest.body.items[0].data.k, rest.body.items[0].metadata.resourceVersion], ['v', c.metadata.resourceVersion]);
    assert.equal(rest.body.metadata.resourceVersion, first.body.metadata.resourceVersion);
    const now = await call('GET', `${cms(ns)}?labelSelector=set%3Dx`);
    assert.deepEqual(
      now.body.items.map((i: KubeObject) => i.metadata.name),
      ['a', 'b', 'c', 'e'],
    );
  });

  test('a continue token the server cannot read is 400, worded as storage.DecodeContinue words it', async () => {
    const token = (body: unknown) => Buffer.from(JSON.stringify(body)).toString('base64url');
    const cases: [string, string][] = [
      ['a+b', 'illegal base64 data at input byte 1'],
      ['abcde', 'illegal base64 data at input byte 4'],
      [token(null), 'server does not recognize this encoded version '],
      [token([1]), 'json: cannot unmarshal array into Go value of type storage.continueToken'],
      [token({ v: 'meta.k8s.io/v1', rv: 'x', start: 'a' }), 'json: cannot unmarshal string into Go struct field continueToken.rv of type int64'],
      [token({ v: 'meta.k8s.io/v1', rv: 0, start: 'a' }), 'incorrect encoded start resourceVersion (version meta.k8s.io/v1)'],
      [token({ v: 'meta.k8s.io/v1', rv: 5, start: '' }), 'encoded start key empty (version meta.k8s.io/v1)'],
      [token({ v: 'meta.k8s.io/v1', rv: 5, start: '../other/x' }), '../other/x'],
    ];
    for (const [continueToken, why] of cases) {
      const r = await call('GET', `${cms('default')}?limit=1&continue=${encodeURIComponent(continueToken)}`);
      assertStatus(r, 400, 'BadRequest');
      assert.equal(r.body.message, `invalid continue token: continue key is not valid: ${why}`, continueToken);
    }
  });

  test('a continued list whose revision has left the history is 410 Expired', async () => {
    const small = await LocalApiServer.start({ watchHistorySize: 2 });
    try {
      small.seed(Array.from({ length: 4 }, (_, i) => ({ metadata: { name: `h${i}`, labels: { set: 'h' } } })));
      const get = async (path: string) => (await fetch(`${small.url}${path}`)).json() as Promise<{ metadata: { continue?: string }; code?: number }>;
      const first = await get(`${cms('default')}?labelSelector=set%3Dh&limit=2`);
      for (let i = 0; i < 6; i++) small.seed([{ metadata: { name: `later-${i}` } }]);
      const gone = await get(`${cms('default')}?labelSelector=set%3Dh&limit=2&continue=${encodeURIComponent(first.metadata.continue ?? '')}`);
      assert.equal(gone.code, 410);
    } finally {
      await small.close();
    }
  });

  test('an expired token is 410 Expired, a garbage token 400', async () => {
    const first = await call('GET', `${cms('paging')}?limit=10`);
    const token = first.body.metadata.continue as string;
    server.expireContinueTokens();
    const gone = await call('GET', `${cms('paging')}?limit=10&continue=${encodeURIComponent(token)}`);
    assertStatus(gone, 410, 'Expired');
    assert.match(gone.body.message, /^The provided continue parameter is too old to display a consistent list result\./);
    assert.equal(typeof gone.body.metadata.continue, 'string', 'a fresh (inconsistent) token to continue with');
    const garbage = await call('GET', `${cms('paging')}?limit=10&continue=not-a-token`);
    assertStatus(garbage, 400, 'BadRequest');
    assert.match(garbage.body.message, /^invalid continue token/);
    // The fresh token of a 410 continues at the latest revision, after where the expired one stopped.
    const resumed = await call('GET', `${cms('paging')}?limit=10&continue=${encodeURIComponent(gone.body.metadata.continue)}`);
    assert.equal(resumed.status, 200);
    assert.deepEqual(resumed.body.items[0].metadata.name, 'cm-00010');
    // A list started after the expiry pages on, even though nothing was written in between.
    const fresh = await call('GET', `${cms('paging')}?limit=10`);
    assert.equal((await call('GET', `${cms('paging')}?limit=10&continue=${encodeURIComponent(fresh.body.metadata.continue)}`)).status, 200);
  });

  test('tokens expire after continueTokenTtlMs (injected clock)', async () => {
    let now = Date.parse('2025-01-01T00:00:00Z');
    const clocked = await LocalApiServer.start({ continueTokenTtlMs: 60000, now: () => now });
    try {
      clocked.seed(Array.from({ length: 5 }, (_, i) => ({ metadata: { name: `c${i}` } })));
      const page = async (token: string) =>
        fetch(`${clocked.url}${cms('default')}?limit=2${token ? `&continue=${encodeURIComponent(token)}` : ''}`).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as { metadata: { continue?: string } },
        }));
      const first = await page('');
      now += 59000;
      const second = await page(first.body.metadata.continue as string);
      assert.equal(second.status, 200);
      now += 60001;
      const third = await page(second.body.metadata.continue as string);
      assert.equal(third.status, 410);
    } finally {
      await clocked.close();
    }
  });
});

describe('size limit and validation', () => {
  const MiB = 1048576;
  let ns: string;
  before(async () => {
    ns = await namespace('sizes');
  });

  const sizeCases: [string, Record<string, unknown>, number][] = [
    ['data at exactly 1 MiB', { data: { a: 'x'.repeat(MiB) } }, 201],
    ['data one byte over', { data: { a: 'x'.repeat(MiB + 1) } }, 422],
    ['keys do not count', { data: { ['k'.repeat(253)]: 'x'.repeat(MiB) } }, 201],
    ['split across keys, exactly', { data: { a: 'x'.repeat(MiB / 2), b: 'x'.repeat(MiB / 2) } }, 201],
    ['multi-byte UTF-8 counts bytes: é is 2', { data: { a: 'é'.repeat(MiB / 2) } }, 201],
    ['multi-byte UTF-8, one é over', { data: { a: 'é'.repeat(MiB / 2 + 1) } }, 422],
    ['binaryData counts decoded bytes, exactly', { binaryData: { b: Buffer.alloc(MiB, 7).toString('base64') } }, 201],
    ['binaryData one decoded byte over', { binaryData: { b: Buffer.alloc(MiB + 1, 7).toString('base64') } }, 422],
    ['data plus binaryData', { data: { a: 'x'.repeat(MiB / 2) }, binaryData: { b: Buffer.alloc(MiB / 2, 1).toString('base64') } }, 201],
    ['data plus binaryData, one over', { data: { a: 'x'.repeat(MiB / 2 + 1) }, binaryData: { b: Buffer.alloc(MiB / 2, 1).toString('base64') } }, 422],
  ];
  sizeCases.forEach(([what, fields, code], i) => {
    test(`${what} → ${code}`, async () => {
      const name = `size-${i}`;
      const r = await call('POST', cms(ns), { body: { metadata: { name }, ...fields } });
      assert.equal(r.status, code, r.status === 201 ? 'created' : r.body.message);
      if (code === 422) {
        assertStatus(r, 422, 'Invalid');
        assert.equal(r.body.message, `ConfigMap "${name}" is invalid: []: Too long: may not be more than 1048576 bytes`);
        assert.deepEqual(r.body.details.causes, [{ reason: 'FieldValueTooLong', message: 'Too long: may not be more than 1048576 bytes', field: '[]' }]);
        assert.equal(r.body.details.kind, 'ConfigMap');
      }
    });
  });

  test('an update over the limit is 422 too and keeps the object', async () => {
    const v1 = (await createCm(ns, 'grow')).body;
    const r = await call('PUT', cms(ns, '/grow'), { body: { ...v1, data: { a: 'x'.repeat(MiB + 1) } } });
    assertStatus(r, 422, 'Invalid');
    assert.deepEqual((await call('GET', cms(ns, '/grow'))).body.data, { k: 'v' });
  });

  const invalidCases: [string, Record<string, unknown>, string][] = [
    ['uppercase name', { metadata: { name: 'Bad_Name' } }, 'metadata.name'],
    ['name too long', { metadata: { name: 'a'.repeat(254) } }, 'metadata.name'],
    ['missing name', { metadata: {} }, 'metadata.name'],
    ['bad label key', { metadata: { name: 'x', labels: { 'bad key': 'v' } } }, 'metadata.labels'],
    ['label value too long', { metadata: { name: 'x', labels: { k: 'v'.repeat(64) } } }, 'metadata.labels'],
    ['bad label value', { metadata: { name: 'x', labels: { k: '-v' } } }, 'metadata.labels'],
    ['bad data key', { metadata: { name: 'x' }, data: { 'a/b': 'v' } }, 'data[a/b]'],
    ['bad binaryData key', { metadata: { name: 'x' }, binaryData: { 'a b': 'AA==' } }, 'binaryData[a b]'],
    ['key in data and binaryData', { metadata: { name: 'x' }, data: { k: 'v' }, binaryData: { k: 'AA==' } }, 'data[k]'],
  ];
  for (const [what, body, field] of invalidCases) {
    test(`422 Invalid: ${what}`, async () => {
      const r = await call('POST', cms(ns), { body });
      assertStatus(r, 422, 'Invalid');
      assert.ok(
        r.body.details.causes.some((c: { field: string }) => c.field === field),
        JSON.stringify(r.body.details.causes),
      );
      assert.match(r.body.message, /^ConfigMap ".*" is invalid: /);
    });
  }

  test('a 63-character label value is valid', async () => {
    assert.equal((await call('POST', cms(ns), { body: { metadata: { name: 'lv', labels: { k: 'v'.repeat(63) } } } })).status, 201);
  });

  test('invalid base64 in binaryData is rejected while decoding (400, as the real server)', async () => {
    const r = await call('POST', cms(ns), { body: { metadata: { name: 'b64' }, binaryData: { k: 'not base64!' } } });
    assertStatus(r, 400, 'BadRequest');
    assert.match(r.body.message, /illegal base64 data at input byte/);
  });

  test('an immutable ConfigMap refuses data changes', async () => {
    const v1 = (await call('POST', cms(ns), { body: { metadata: { name: 'frozen' }, data: { a: '1' }, immutable: true } })).body;
    const r = await call('PUT', cms(ns, '/frozen'), { body: { ...v1, data: { a: '2' } } });
    assertStatus(r, 422, 'Invalid');
    const labelsOnly = await call('PUT', cms(ns, '/frozen'), { body: { ...v1, metadata: { ...v1.metadata, labels: { ok: 'yes' } } } });
    assert.equal(labelsOnly.status, 200);
  });
});

describe('representations', () => {
  test('metadata-only list and get never carry data; the request log records the Accept header', async () => {
    const ns = await namespace('meta');
    await createCm(ns, 'a', { labels: { app: 'x' } });
    server.clearRequests();
    const list = await call('GET', `${cms(ns)}?labelSelector=app`, { accept: META_LIST });
    assert.equal(list.body.kind, 'PartialObjectMetadataList');
    assert.equal(list.body.apiVersion, 'meta.k8s.io/v1');
    assert.equal(list.body.items.length, 1);
    const item = list.body.items[0];
    assert.deepEqual(Object.keys(item).sort(), ['apiVersion', 'kind', 'metadata']);
    assert.equal(item.kind, 'PartialObjectMetadata');
    assert.deepEqual(item.metadata.labels, { app: 'x' });
    const one = await call('GET', cms(ns, '/a'), { accept: META_ONE });
    assert.equal(one.body.kind, 'PartialObjectMetadata');
    assert.equal(one.body.data, undefined);
    assert.deepEqual(
      server.requests.map((r) => [r.method, r.path, r.accept, r.status, r.verb]),
      [
        ['GET', `${cms(ns)}`, META_LIST, 200, 'list'],
        ['GET', cms(ns, '/a'), META_ONE, 200, 'get'],
      ],
    );
    assertStatus(await call('GET', cms(ns, '/a'), { accept: META_LIST }), 406, 'NotAcceptable');
  });

  test('Table for kubectl', async () => {
    const ns = await namespace('table');
    await call('POST', cms(ns), { body: { metadata: { name: 'a' }, data: { x: '1', y: '2' }, binaryData: { z: 'AA==' } } });
    const r = await call('GET', cms(ns), { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    assert.equal(r.body.kind, 'Table');
    assert.deepEqual(
      r.body.columnDefinitions.map((c: { name: string }) => c.name),
      ['Name', 'Data', 'Age'],
    );
    assert.deepEqual(r.body.rows[0].cells.slice(0, 2), ['a', 3]);
    assert.equal(r.body.rows[0].object.kind, 'PartialObjectMetadata');
  });
});

describe('dry run', () => {
  test('dryRun=All validates and answers but persists nothing', async () => {
    const ns = await namespace('dry');
    const created = await call('POST', cms(ns, '?dryRun=All'), { body: { metadata: { name: 'a' }, data: { k: 'v' } } });
    assert.equal(created.status, 201);
    assert.equal(created.body.metadata.name, 'a');
    assert.equal((await call('GET', cms(ns, '/a'))).status, 404);
    const invalid = await call('POST', cms(ns, '?dryRun=All'), { body: { metadata: { name: 'A' } } });
    assertStatus(invalid, 422, 'Invalid');

    const real = (await createCm(ns, 'b')).body;
    const rv = server.resourceVersion;
    const put = await call('PUT', cms(ns, '/b?dryRun=All'), { body: { ...real, data: { k: 'dry' } } });
    assert.equal(put.body.data.k, 'dry');
    const patched = await call('PATCH', cms(ns, '/b?dryRun=All'), { contentType: 'application/merge-patch+json', body: { data: { k: 'dry' } } });
    assert.equal(patched.body.data.k, 'dry');
    const deleted = await call('DELETE', cms(ns, '/b?dryRun=All'));
    assert.equal(deleted.status, 200);
    const deletedByOptions = await call('DELETE', cms(ns, '/b'), { body: { dryRun: ['All'] } });
    assert.equal(deletedByOptions.status, 200);
    const after = await call('GET', cms(ns, '/b'));
    assert.deepEqual(after.body, real);
    assert.equal(server.resourceVersion, rv, 'no resourceVersion was consumed');
    assertStatus(await call('POST', cms(ns, '?dryRun=Some'), { body: { metadata: { name: 'c' } } }), 422, 'Invalid');
  });
});

describe('patch types', () => {
  let ns: string;
  before(async () => {
    ns = await namespace('patches');
  });

  test('JSON patch: operations apply; a failing test is 422 and changes nothing', async () => {
    await createCm(ns, 'j');
    const type = 'application/json-patch+json';
    const ok = await call('PATCH', cms(ns, '/j'), {
      contentType: type,
      body: [
        { op: 'test', path: '/data/k', value: 'v' },
        { op: 'add', path: '/data/n', value: '1' },
        { op: 'replace', path: '/data/k', value: 'w' },
        { op: 'add', path: '/metadata/labels', value: {} },
        { op: 'add', path: '/metadata/labels/example.com~1team', value: 'x' },
        { op: 'copy', from: '/data/n', path: '/data/m' },
        { op: 'move', from: '/data/m', path: '/data/o' },
        { op: 'remove', path: '/data/n' },
      ],
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.data, { k: 'w', o: '1' });
    assert.deepEqual(ok.body.metadata.labels, { 'example.com/team': 'x' });
    const failed = await call('PATCH', cms(ns, '/j'), {
      contentType: type,
      body: [
        { op: 'test', path: '/data/k', value: 'v' },
        { op: 'replace', path: '/data/k', value: 'never' },
      ],
    });
    assertStatus(failed, 422, 'Invalid');
    // The real server wraps the reason away: a bare 422 with empty details.
    assert.equal(failed.body.message, 'the server rejected our request due to an error in our request');
    assert.deepEqual(failed.body.details, {});
    assert.equal((await call('GET', cms(ns, '/j'))).body.data.k, 'w');
    const missing = await call('PATCH', cms(ns, '/j'), { contentType: type, body: [{ op: 'remove', path: '/data/zzz' }] });
    assertStatus(missing, 422, 'Invalid');
    const stale = await call('PATCH', cms(ns, '/j'), {
      contentType: type,
      body: [{ op: 'replace', path: '/metadata/resourceVersion', value: '1' }],
    });
    assertStatus(stale, 409, 'Conflict');
    assertStatus(await call('PATCH', cms(ns, '/j'), { contentType: type, body: { not: 'a list' } }), 400, 'BadRequest');
  });

  test('strategic merge patch merges ownerReferences by uid', async () => {
    const owner = (uid: string, name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', name, uid });
    await call('POST', cms(ns), { body: { metadata: { name: 's', ownerReferences: [owner('u1', 'one')] }, data: { a: '1' } } });
    const type = 'application/strategic-merge-patch+json';
    const r = await call('PATCH', cms(ns, '/s'), {
      contentType: type,
      body: { metadata: { ownerReferences: [owner('u2', 'two'), { ...owner('u1', 'renamed') }] }, data: { b: '2' } },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // As strategicpatch orders a merged list: the patch's entries in the patch's order.
    assert.deepEqual(
      r.body.metadata.ownerReferences.map((o: { uid: string; name: string }) => `${o.uid}:${o.name}`),
      ['u2:two', 'u1:renamed'],
    );
    assert.deepEqual(r.body.data, { a: '1', b: '2' });
    const removed = await call('PATCH', cms(ns, '/s'), { contentType: type, body: { metadata: { ownerReferences: [{ uid: 'u1', $patch: 'delete' }] } } });
    assert.deepEqual(
      removed.body.metadata.ownerReferences.map((o: { uid: string }) => o.uid),
      ['u2'],
    );
  });

  test('a Content-Type that is no patch type is 415 (the route consumes patch types only)', async () => {
    await createCm(ns, 'u');
    const r = await call('PATCH', cms(ns, '/u'), { contentType: 'application/json', body: { data: {} } });
    assertStatus(r, 415, 'UnsupportedMediaType');
    assert.equal(r.body.message, '415: Unsupported Media Type');
  });
});

describe('watch', () => {
  /** Reads newline-delimited watch events from a streaming fetch. */
  async function openWatch(path: string) {
    const controller = new AbortController();
    const res = await fetch(`${server.url}${path}`, { signal: controller.signal });
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    return {
      async next(): Promise<{ type: string; object: KubeObject }> {
        for (;;) {
          const nl = buffer.indexOf('\n');
          if (nl !== -1) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            return JSON.parse(line);
          }
          const { value, done } = await reader.read();
          if (done) throw new Error('watch ended');
          buffer += decoder.decode(value, { stream: true });
        }
      },
      close: () => controller.abort(),
    };
  }

  test('delivers ADDED, MODIFIED, DELETED from a resourceVersion, respecting the label selector', async () => {
    const ns = await namespace('watched');
    await createCm(ns, 'before', { labels: { app: 'w' } });
    const rv = server.resourceVersion;
    const w = await openWatch(`${cms(ns)}?watch=true&resourceVersion=${rv}&labelSelector=app%3Dw`);
    try {
      await createCm(ns, 'ignored', { labels: { app: 'other' } });
      const created = (await createCm(ns, 'a', { labels: { app: 'w' } })).body;
      await call('PATCH', cms(ns, '/a'), { contentType: 'application/merge-patch+json', body: { data: { k: 'v2' } } });
      await call('PATCH', cms(ns, '/a'), { contentType: 'application/merge-patch+json', body: { metadata: { labels: { app: 'gone' } } } });
      await call('DELETE', cms(ns, '/before'));
      const events = [await w.next(), await w.next(), await w.next(), await w.next()];
      assert.deepEqual(
        events.map((e) => `${e.type} ${e.object.metadata.name}`),
        ['ADDED a', 'MODIFIED a', 'DELETED a', 'DELETED before'],
      );
      assert.equal(events[0]?.object.metadata['uid'], created.metadata.uid);
      assert.equal((events[1]?.object as KubeObject & { data: Record<string, string> }).data['k'], 'v2');
      // Leaving the selection is a DELETED of the object as it last matched, at the new revision.
      assert.deepEqual(events[2]?.object.metadata.labels, { app: 'w' });
      assert.ok(Number(events[2]?.object.metadata['resourceVersion']) > Number(events[1]?.object.metadata['resourceVersion']));
      assert.ok(Number(events[3]?.object.metadata['resourceVersion']) > Number(rv));
    } finally {
      w.close();
    }
  });

  test('without a resourceVersion it starts with the current objects as ADDED', async () => {
    const ns = await namespace('watched2');
    await createCm(ns, 'x');
    const w = await openWatch(`${cms(ns)}?watch=1&fieldSelector=metadata.name%3Dx`);
    try {
      const first = await w.next();
      assert.equal(`${first.type} ${first.object.metadata.name}`, 'ADDED x');
      await call('DELETE', cms(ns, '/x'));
      assert.equal((await w.next()).type, 'DELETED');
    } finally {
      w.close();
    }
  });

  test('a resourceVersion older than the retained history is an ERROR event with 410 Expired', async () => {
    const small = await LocalApiServer.start({ watchHistorySize: 2 });
    try {
      small.seed(Array.from({ length: 6 }, (_, i) => ({ metadata: { name: `h${i}` } })));
      const text = await (await fetch(`${small.url}${cms('default')}?watch=true&resourceVersion=1`)).text();
      const event = JSON.parse(text.trim());
      assert.equal(event.type, 'ERROR');
      assert.equal(event.object.code, 410);
      assert.equal(event.object.reason, 'Expired');
    } finally {
      await small.close();
    }
  });

  test('close() ends open watches', async () => {
    const own = await LocalApiServer.start();
    // Selecting nothing, so the watch has no initial events to send (default holds kube-root-ca.crt).
    const res = await fetch(`${own.url}${cms('default')}?watch=true&labelSelector=none`, { headers: admin(own) });
    const reading = res.text();
    await own.close();
    assert.equal(await reading, '');
  });
});

describe('faults', () => {
  test('latency delays the answer', async (t) => {
    const handle = server.faults.add({ match: { path: '/api/v1/namespaces/default/configmaps' }, fault: { kind: 'latency', ms: 150 } });
    try {
      const started = performance.now();
      const r = await call('GET', cms('default'));
      const elapsed = performance.now() - started;
      assert.equal(r.status, 200);
      assert.ok(elapsed >= 145, `took ${elapsed} ms`);
      t.diagnostic(`latency fault: ${elapsed.toFixed(0)} ms`);
    } finally {
      handle.remove();
    }
  });

  test('429 carries Retry-After and details.retryAfterSeconds', async () => {
    const handle = server.faults.add({ match: { verb: 'list' }, fault: { kind: 'status', code: 429, retryAfterSeconds: 3 } });
    try {
      const r = await call('GET', cms('default'));
      assertStatus(r, 429, 'TooManyRequests');
      assert.equal(r.headers.get('retry-after'), '3');
      assert.equal(r.body.details.retryAfterSeconds, 3);
      assert.equal((await call('GET', cms('default', '/x'))).status, 404, 'only list requests match');
    } finally {
      handle.remove();
    }
    assert.equal((await call('GET', cms('default'))).status, 200, 'removed');
  });

  test('500 and 503 are real Status bodies', async () => {
    server.faults.add({ match: { method: 'POST' }, fault: { kind: 'status', code: 500 }, times: 1 });
    server.faults.add({ match: { method: 'POST' }, fault: { kind: 'status', code: 503 }, times: 1 });
    assertStatus(await createCm('default', 'f1'), 500, 'InternalError');
    assertStatus(await createCm('default', 'f1'), 503, 'ServiceUnavailable');
    assert.equal((await createCm('default', 'f1')).status, 201);
    server.faults.clear();
  });

  test('drop destroys the connection: fetch rejects', async () => {
    const handle = server.faults.add({ match: { path: /\/configmaps\/dropme$/ }, fault: { kind: 'drop' } });
    await assert.rejects(fetch(`${server.url}${cms('default', '/dropme')}`));
    assert.equal(handle.fired, 1);
    assert.equal(server.requests.at(-1)?.status, 0);
    handle.remove();
  });

  test('nth faults only the Nth matching request; times caps how often', async () => {
    const nth = server.faults.add({ match: { verb: 'get', path: 'nth-' }, fault: { kind: 'status', code: 500 }, nth: 2 });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await call('GET', cms('default', '/nth-x'))).status);
    assert.deepEqual(codes, [404, 500, 404, 404]);
    assert.equal(nth.matched, 4);
    nth.remove();

    server.faults.add({ match: { path: 'times-' }, fault: { kind: 'status', code: 503 }, times: 2 });
    const codes2 = [];
    for (let i = 0; i < 4; i++) codes2.push((await call('GET', cms('default', '/times-x'))).status);
    assert.deepEqual(codes2, [503, 503, 404, 404]);
    server.faults.clear();
  });

  test('rate draws from the seeded random source: deterministic', async () => {
    const run = async () => {
      const s = await LocalApiServer.start({ random: seededRandom(42) });
      try {
        s.faults.add({ fault: { kind: 'status', code: 500 }, rate: 0.3 });
        const codes: number[] = [];
        for (let i = 0; i < 60; i++) codes.push((await fetch(`${s.url}/version`)).status);
        return codes;
      } finally {
        await s.close();
      }
    };
    const a = await run();
    const b = await run();
    assert.deepEqual(a, b);
    const failures = a.filter((c) => c === 500).length;
    assert.ok(failures > 5 && failures < 35, `${failures} of 60 failed at rate 0.3`);
  });
});

describe('authorization', () => {
  const review = (verb: string, resource: string, namespace = 'authz') =>
    call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace, verb, resource } } },
    });

  test('deny rules answer 403 and SelfSubjectAccessReview allowed=false', async () => {
    const ns = await namespace('authz');
    await createCm(ns, 'x');
    const allowedBefore = await review('delete', 'configmaps');
    assert.equal(allowedBefore.status, 201);
    assert.equal(allowedBefore.body.status.allowed, true);

    const rule = server.deny({ verb: 'delete', resource: 'configmaps', namespace: ns });
    const denied = await call('DELETE', cms(ns, '/x'));
    assertStatus(denied, 403, 'Forbidden');
    assert.equal(denied.body.message, 'configmaps "x" is forbidden: User "cmstate-local" cannot delete resource "configmaps" in API group "" in the namespace "authz"');
    assert.equal((await review('delete', 'configmaps')).body.status.allowed, false);
    assert.equal((await review('get', 'configmaps')).body.status.allowed, true);
    assert.equal((await review('delete', 'configmaps', 'other')).body.status.allowed, true);
    assert.equal((await call('DELETE', cms('default', '/f1'))).status, 200, 'other namespaces unaffected');

    server.deny({ verb: 'list', resource: 'leases' });
    const leases = await call('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`);
    assertStatus(leases, 403, 'Forbidden');
    assert.equal(leases.body.message, 'leases.coordination.k8s.io is forbidden: User "cmstate-local" cannot list resource "leases" in API group "coordination.k8s.io" in the namespace "authz"');
    const noCreate = server.deny({ verb: 'create', resource: 'configmaps' });
    const createDenied = await createCm(ns, 'y');
    assertStatus(createDenied, 403, 'Forbidden');
    assert.equal(createDenied.body.message, 'configmaps is forbidden: User "cmstate-local" cannot create resource "configmaps" in API group "" in the namespace "authz"');
    noCreate.remove();
    rule.remove();
    assert.equal((await call('DELETE', cms(ns, '/x'))).status, 200);
    server.clearDenyRules();
    assert.equal((await call('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`)).status, 200);
  });
});

describe('persistence', () => {
  test('objects, uids and resourceVersions survive a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cmstate-apiserver-'));
    const dataFile = join(dir, 'state.json');
    try {
      const first = await LocalApiServer.start({ dataFile, persistDebounceMs: 10 });
      const json = { 'content-type': 'application/json' };
      await fetch(`${first.url}/api/v1/namespaces`, { method: 'POST', headers: json, body: JSON.stringify({ metadata: { name: 'kept' } }) });
      const res = await fetch(`${first.url}${cms('kept')}`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ metadata: { name: 'a', labels: { x: 'y' } }, data: { k: 'v' } }),
      });
      const created = (await res.json()) as KubeObject;
      const rv = first.resourceVersion;
      await first.close();
      assert.ok(JSON.parse(await readFile(dataFile, 'utf8')).objects.length >= 3);

      const second = await LocalApiServer.start({ dataFile });
      try {
        const got = (await (await fetch(`${second.url}${cms('kept', '/a')}`)).json()) as KubeObject;
        assert.deepEqual(got, created);
        assert.equal(second.resourceVersion, rv);
        const next = (await (await fetch(`${second.url}${cms('kept')}`, { method: 'POST', headers: json, body: JSON.stringify({ metadata: { name: 'b' } }) })).json()) as KubeObject;
        assert.ok(Number(next.metadata['resourceVersion']) > Number(rv));
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('clients and throughput', () => {
  test('@kubernetes/client-node works unchanged (create, list, patch, delete)', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml('default'));
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'client-node' } } });
    const created = await core.createNamespacedConfigMap({ namespace: 'client-node', body: { metadata: { name: 'c', labels: { a: 'b' } }, data: { k: 'v' } } });
    assert.match(created.metadata?.resourceVersion ?? '', /^\d+$/);
    const list = await core.listNamespacedConfigMap({ namespace: 'client-node', labelSelector: 'a=b', limit: 10 });
    assert.deepEqual(
      list.items.map((i) => i.metadata?.name),
      ['c'],
    );
    const patched = await core.patchNamespacedConfigMap({ name: 'c', namespace: 'client-node', body: { data: { k: 'w' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    assert.equal(patched.data?.['k'], 'w');
    await assert.rejects(core.replaceNamespacedConfigMap({ name: 'c', namespace: 'client-node', body: created }), (err: Error & { code?: number }) => err.code === 409);
    const status = await core.deleteNamespacedConfigMap({ name: 'c', namespace: 'client-node' });
    assert.equal(status.status, 'Success');
  });

  test('throughput over HTTP (reported, loosely bounded)', async (t) => {
    await namespace('throughput');
    const n = 2000;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < n) {
          const i = next++;
          const r = await call('POST', cms('throughput'), { body: { metadata: { name: `t-${i}` }, data: { state: 'x'.repeat(512) } } });
          assert.equal(r.status, 201);
        }
      }),
    );
    const createSeconds = (performance.now() - started) / 1000;
    server.seed(Array.from({ length: 18000 }, (_, i) => ({ metadata: { name: `s-${i}`, namespace: 'throughput' }, data: { state: 'x'.repeat(512) } })));
    const listStarted = performance.now();
    let listed = 0;
    let token = '';
    do {
      const r = await call('GET', `${cms('throughput')}?limit=500${token ? `&continue=${token}` : ''}`);
      listed += r.body.items.length;
      token = r.body.metadata.continue ?? '';
    } while (token);
    const listSeconds = (performance.now() - listStarted) / 1000;
    const metaStarted = performance.now();
    token = '';
    do {
      const r = await call('GET', `${cms('throughput')}?limit=500${token ? `&continue=${token}` : ''}`, { accept: META_LIST });
      token = r.body.metadata.continue ?? '';
    } while (token);
    const metaSeconds = (performance.now() - metaStarted) / 1000;
    assert.equal(listed, 20000 + 1, "and the namespace's kube-root-ca.crt");
    t.diagnostic(`create via fetch (16 in flight): ${(n / createSeconds).toFixed(0)} ConfigMaps/s`);
    t.diagnostic(`list full objects: ${(listed / listSeconds).toFixed(0)} objects/s; metadata only: ${(listed / metaSeconds).toFixed(0)} objects/s`);
    assert.ok(n / createSeconds > 50, 'creates are not pathologically slow');
  });

  test('seeding 50,000 ConfigMaps takes seconds, not minutes', async (t) => {
    const own = await LocalApiServer.start();
    try {
      const started = performance.now();
      own.seed(Array.from({ length: 50000 }, (_, i) => ({ metadata: { name: `cm-${i}`, labels: { app: 'bench' } }, data: { state: '{"iteration":1}' } })));
      const seconds = (performance.now() - started) / 1000;
      t.diagnostic(`seeded 50,000 ConfigMaps in ${seconds.toFixed(2)} s`);
      assert.ok(seconds < 15, `${seconds} s`);
      assert.equal(own.getObject('v1', 'ConfigMap', 'default', 'cm-49999')?.metadata['resourceVersion'], own.resourceVersion);
    } finally {
      await own.close();
    }
  });
});
