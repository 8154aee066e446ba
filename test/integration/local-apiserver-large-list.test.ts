// Lists larger than one string may be: a namespace of ConfigMaps near their 1 MiB limit lists to
// more than V8's longest string (~512 MiB), which kube-apiserver serves all the same. The local
// server writes a list as it serializes it, with back pressure, as Go's net/http writes a handler's
// output: a body of more than 2048 bytes goes chunked, a shorter one with its Content-Length. A
// list of 40 objects of 900 KiB (36 MiB, more than socket buffers hold) shows it here at a
// fraction of the cost; the ~600 MiB case was checked by hand.

import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { KubeObject, LocalApiServer } from '../../src/local-apiserver/index.js';
import { embeddedOnly, eventually, startTestCluster, type TestCluster } from '../support/cluster.js';

const COUNT = 40;
const VALUE_BYTES = 900 * 1024;
const SELECTOR = 'labelSelector=test%3Dlarge-list';
const META_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let cluster: TestCluster;
let server: LocalApiServer;
let seeded: KubeObject[];

const path = (query: string) => `/api/v1/namespaces/${cluster.namespace}/configmaps?${query}`;

function get(query: string, options: { method?: string; accept?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path(query)}`, { method: options.method ?? 'GET', headers: options.accept ? { accept: options.accept } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The list as one string, as the server wrote it before it streamed: the items without their apiVersion and kind. */
function expectedList(resourceVersion: string): Buffer {
  const items = seeded.map(({ apiVersion: _apiVersion, kind: _kind, ...item }) => item);
  return Buffer.from(JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion }, items }));
}

function resourceVersionOf(body: Buffer): string {
  return (JSON.parse(body.toString('utf8')) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
}

function assertStreamed(a: Answer): void {
  assert.equal(a.status, 200);
  assert.equal(a.headers['transfer-encoding'], 'chunked');
  assert.equal(a.headers['content-length'], undefined);
}

const listsLogged = () => server.requests.filter((e) => e.verb === 'list').length;

describe(...embeddedOnly('it tests the embedded server itself', 'the local API server streams large lists'), () => {
  before(async () => {
    cluster = await startTestCluster();
    server = cluster.local as LocalApiServer;
    seeded = server.seed(
      Array.from({ length: COUNT }, (_, i) => ({
        metadata: { name: `large-${String(i).padStart(2, '0')}`, namespace: cluster.namespace, labels: { test: 'large-list' } },
        // Multi-byte characters, so that sizes in bytes and in characters differ.
        data: { value: `é${String(i % 10).repeat(VALUE_BYTES)}` },
      })),
    );
  });

  after(async () => {
    await cluster.close();
  });

  test('a large list arrives chunked, without Content-Length, byte for byte the list', async () => {
    const a = await get(SELECTOR);
    assertStreamed(a);
    assert.ok(a.body.length > COUNT * VALUE_BYTES);
    assert.ok(a.body.equals(expectedList(resourceVersionOf(a.body))));
  });

  test('a metadata-only list and a Table of the same objects are streamed too', async () => {
    const meta = await get(SELECTOR, { accept: META_LIST });
    assertStreamed(meta);
    assert.equal((JSON.parse(meta.body.toString('utf8')) as { items: unknown[] }).items.length, COUNT);
    const table = await get(`${SELECTOR}&includeObject=Object`, { accept: TABLE });
    assertStreamed(table);
    const rows = (JSON.parse(table.body.toString('utf8')) as { rows: { object: KubeObject }[] }).rows;
    assert.deepEqual(
      rows.map((r) => r.object),
      seeded,
    );
  });

  test('a list within 2048 bytes is sent whole with its Content-Length, as Go sends a short answer', async () => {
    for (const [query, accept] of [
      ['labelSelector=test%3Dnone', undefined],
      ['labelSelector=test%3Dnone', META_LIST],
      [`${SELECTOR}&limit=1`, META_LIST],
    ] as const) {
      const a = await get(query, accept ? { accept } : {});
      assert.equal(a.status, 200);
      assert.equal(a.headers['transfer-encoding'], undefined, query);
      assert.equal(a.headers['content-length'], String(a.body.length), query);
    }
    assert.match((await get('labelSelector=test%3Dnone', { accept: META_LIST })).body.toString(), /,"items":null\}$/);
  });

  test('a client that stops reading holds the server back; when it goes away, the server stops and serves on', async () => {
    server.clearRequests();
    const req = request(`${server.url}${path(SELECTOR)}`);
    const first = await new Promise<Buffer>((resolve, reject) => {
      req.on('response', (res: IncomingMessage) => {
        res.once('data', (chunk: Buffer) => {
          res.pause();
          resolve(chunk);
        });
      });
      req.on('error', reject);
      req.end();
    });
    assert.match(first.toString('utf8', 0, 40), /^\{"kind":"ConfigMapList"/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // A list is logged once it is written: the server is still waiting for the socket to drain.
    assert.equal(listsLogged(), 0, 'the server wrote the whole list to a client that reads nothing');
    req.destroy();
    await eventually('the abandoned list to be logged', async () => (listsLogged() === 1 ? true : undefined), 5000);
    assert.equal(server.requests[0]?.status, 200);
    const next = await get(`${SELECTOR}&limit=1`);
    assert.equal(next.status, 200);
  });

  test('errors found while computing a list are Status answers with their Content-Length', async () => {
    const page = JSON.parse((await get(`${SELECTOR}&limit=1`)).body.toString('utf8')) as { metadata: { continue: string } };
    server.expireContinueTokens();
    const expired = await get(`${SELECTOR}&limit=1&continue=${encodeURIComponent(page.metadata.continue)}`);
    assert.equal(expired.status, 410);
    assert.equal(expired.headers['content-length'], String(expired.body.length));
    assert.equal((JSON.parse(expired.body.toString('utf8')) as { reason: string }).reason, 'Expired');
    const badTable = await get(`${SELECTOR}&includeObject=All`, { accept: TABLE });
    assert.equal(badTable.status, 400);
    assert.equal((JSON.parse(badTable.body.toString('utf8')) as { kind: string }).kind, 'Status');
  });

  test('a lost response to a large list fails the client, and the server serves on', async () => {
    const fault = server.faults.add({ match: { verb: 'list', path: 'large-list' }, fault: { kind: 'lose-response' }, times: 1 });
    await assert.rejects(get(SELECTOR));
    assert.equal(fault.fired, 1);
    assertStreamed(await get(SELECTOR));
  });

  test('deletecollection answers the deleted objects as a streamed list', async () => {
    const a = await get(SELECTOR, { method: 'DELETE' });
    assertStreamed(a);
    assert.ok(a.body.equals(expectedList(resourceVersionOf(a.body))));
    const left = await get(SELECTOR);
    assert.deepEqual((JSON.parse(left.body.toString('utf8')) as { items: unknown[] }).items, []);
  });
});
