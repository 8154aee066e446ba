// Discovery, OpenAPI, Table printing, content negotiation and unknown paths of the local API
// server, over HTTP, where the conformance corpus is silent: the rules behind its recorded answers,
// applied to neighbouring requests.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LocalApiServer } from '../../src/local-apiserver/index.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
const PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

let server: LocalApiServer;

interface Raw {
  status: number;
  contentType: string | null;
  text: string;
  bytes: Buffer;
}

async function raw(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Raw> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, contentType: res.headers.get('content-type'), text: bytes.toString('utf8'), bytes };
}

// Tests read arbitrary fields of JSON answers.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await raw(method, path, headers, body);
  return { status: r.status, body: JSON.parse(r.text) };
}

before(async () => {
  server = await LocalApiServer.start({ now: () => NOW });
  await json('POST', '/api/v1/namespaces', {}, { metadata: { name: 'd' } });
});

after(async () => {
  await server.close();
});

describe('unknown paths', () => {
  test('inside the API tree a JSON Status, outside it Go’s plain-text 404 page', async () => {
    for (const path of ['/api/v2/things', '/api/v1/namespaces/d/nothings', '/apis/coordination.k8s.io/v2', '/apis/coordination.k8s.io/v1/namespaces/d/nothings']) {
      const r = await json('GET', path);
      assert.deepEqual([r.status, r.body.kind, r.body.reason, r.body.message, r.body.details], [404, 'Status', 'NotFound', 'the server could not find the requested resource', {}], path);
    }
    for (const path of ['/nope', '/apis/nothing.example.com/v1/namespaces/d/things', '/apis/nothing.example.com']) {
      const r = await raw('GET', path);
      assert.deepEqual([r.status, r.contentType, r.text], [404, 'text/plain; charset=utf-8', '404 page not found\n'], path);
    }
    const missingDocument = await raw('GET', '/openapi/v3/apis/nothing.example.com/v1');
    assert.deepEqual([missingDocument.status, missingDocument.contentType, missingDocument.text], [404, null, '']);
  });

  test('a verb the resource does not have is 405: namespaces have no deletecollection', async () => {
    const r = await json('DELETE', '/api/v1/namespaces');
    assert.deepEqual([r.status, r.body.reason], [405, 'MethodNotAllowed']);
    const ns = (await json('GET', '/api/v1')).body.resources.find((x: { name: string }) => x.name === 'namespaces');
    assert.ok(!ns.verbs.includes('deletecollection'));
  });
});

describe('OpenAPI', () => {
  test('/openapi/v2 answers JSON or gnostic protobuf as kube-openapi negotiates, 406 with no body otherwise', async () => {
    for (const accept of ['application/json', '*/*', `${PROTOBUF};q=0.5,application/json`]) {
      const r = await raw('GET', '/openapi/v2', { accept });
      assert.deepEqual([r.status, r.contentType, JSON.parse(r.text).swagger], [200, 'application/json', '2.0'], accept);
    }
    const pb = await raw('GET', '/openapi/v2', { accept: `${PROTOBUF},application/json` });
    assert.deepEqual([pb.status, pb.contentType], [200, 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf']);
    // Document.swagger is field 1: tag 0x0a, length 3, "2.0".
    assert.deepEqual([...pb.bytes.subarray(0, 5)], [0x0a, 3, ...Buffer.from('2.0')]);
    const dotted = await raw('GET', '/openapi/v2', { accept: 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf' });
    assert.deepEqual([dotted.status, dotted.text], [406, '']);
  });

  test('the v2 document: every reference resolves, every served kind has its definition and operations', async () => {
    const doc = (await json('GET', '/openapi/v2', { accept: 'application/json' })).body;
    const refs = JSON.stringify(doc).match(/"\$ref":"#\/definitions\/[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) assert.ok(doc.definitions[ref.slice(22, -1)], ref);
    const kinds = Object.values(doc.definitions).flatMap((d) => ((d as Record<string, { kind: string }[]>)['x-kubernetes-group-version-kind'] ?? []).map((g) => g.kind));
    for (const kind of ['ConfigMap', 'ConfigMapList', 'Namespace', 'Event', 'Lease', 'SelfSubjectAccessReview']) assert.ok(kinds.includes(kind), kind);
    const patch = doc.paths['/api/v1/namespaces/{namespace}/configmaps/{name}'].patch;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: '', kind: 'ConfigMap', version: 'v1' });
    assert.ok(patch.parameters.some((p: { name: string; in: string }) => p.name === 'fieldValidation' && p.in === 'query'));
    assert.equal(doc.paths['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'].post.operationId, 'createAuthorizationV1SelfSubjectAccessReview');
    assert.equal(doc.paths['/api/v1/namespaces'].delete, undefined, 'no deletecollection for namespaces');
  });

  test('/openapi/v3 indexes one document per group-version at its hash URL, with schemas and fieldValidation', async () => {
    const index = await raw('GET', '/openapi/v3');
    assert.equal(index.contentType, 'text/plain; charset=utf-8');
    const paths: Record<string, { serverRelativeURL: string }> = JSON.parse(index.text).paths;
    for (const [key, { serverRelativeURL }] of Object.entries(paths)) {
      assert.match(serverRelativeURL, new RegExp(`^/openapi/v3/${key.replace(/\./g, '\\.')}\\?hash=[0-9A-F]{128}$`));
      const doc = await raw('GET', serverRelativeURL);
      assert.deepEqual([doc.status, doc.contentType, JSON.parse(doc.text).openapi], [200, 'application/json', '3.0.0'], key);
    }
    const core = (await json('GET', '/openapi/v3/api/v1')).body;
    const configMap = core.components.schemas['io.k8s.api.core.v1.ConfigMap'];
    assert.deepEqual(configMap.properties.metadata, { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' });
    const patch = core.paths['/api/v1/namespaces/{namespace}/configmaps/{name}'].patch;
    assert.ok(patch.parameters.some((p: { name: string }) => p.name === 'fieldValidation'));
    assert.equal(core.components.schemas['io.k8s.api.coordination.v1.Lease'], undefined, 'only what the group-version refers to');
  });
});

describe('Table', () => {
  test('Events print as kube-apiserver prints them, wide, for core/v1 and events.k8s.io/v1 alike', async () => {
    const core = await json(
      'POST',
      '/api/v1/namespaces/d/events',
      {},
      {
        metadata: { name: 'e1' },
        involvedObject: { kind: 'ConfigMap', namespace: 'd', name: 'task-1', fieldPath: 'data.state' },
        reason: 'Swept',
        message: '  expired  ',
        type: 'Normal',
        source: { component: 'cmstate' },
        firstTimestamp: '2026-12-01T10:00:00Z',
        lastTimestamp: '2026-12-01T11:30:00Z',
        count: 3,
      },
    );
    assert.equal(core.status, 201, JSON.stringify(core.body));
    const v1 = await json(
      'POST',
      '/apis/events.k8s.io/v1/namespaces/d/events',
      {},
      {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: 'e2' },
        eventTime: '2026-12-01T11:55:00.000000Z',
        reportingController: 'cmstate.io/sweep',
        reportingInstance: 'sweep-1',
        action: 'Delete',
        reason: 'Swept',
        regarding: { kind: 'ConfigMap', namespace: 'd', name: 'task-2' },
        note: 'gone',
        type: 'Normal',
      },
    );
    assert.equal(v1.status, 201, JSON.stringify(v1.body));
    const expectedRows = [
      ['30m', 'Normal', 'Swept', 'configmap/task-1', 'data.state', 'cmstate', 'expired', '120m', 3, 'e1'],
      ['5m', 'Normal', 'Swept', 'configmap/task-2', '', 'cmstate.io/sweep, sweep-1', 'gone', '5m', 1, 'e2'],
    ];
    for (const path of ['/api/v1/namespaces/d/events', '/apis/events.k8s.io/v1/namespaces/d/events']) {
      const table = (await json('GET', path, { accept: TABLE })).body;
      const columns = table.columnDefinitions.map((c: { name: string; priority: number; type: string }) => `${c.name}:${c.priority}:${c.type}`);
      assert.deepEqual(columns, [
        'Last Seen:0:string',
        'Type:0:string',
        'Reason:0:string',
        'Object:0:string',
        'Subobject:1:string',
        'Source:1:string',
        'Message:0:string',
        'First Seen:1:string',
        'Count:1:string',
        'Name:1:string',
      ]);
      assert.deepEqual(
        table.rows.map((r: { cells: unknown[] }) => r.cells),
        expectedRows,
        path,
      );
    }
  });

  test('Namespace rows show the phase; includeObject chooses what each row carries', async () => {
    const ns = (await json('GET', '/api/v1/namespaces/d', { accept: TABLE })).body;
    assert.deepEqual(ns.rows[0].cells, ['d', 'Active', '0s']);
    assert.equal(ns.columnDefinitions[1].description, 'The status of the namespace');
    await json('POST', '/api/v1/namespaces/d/configmaps', {}, { metadata: { name: 'c' }, data: { a: '1' } });
    const objects = async (include: string) => (await json('GET', `/api/v1/namespaces/d/configmaps/c?includeObject=${include}`, { accept: TABLE })).body.rows[0].object;
    assert.equal((await objects('Metadata')).kind, 'PartialObjectMetadata');
    assert.deepEqual((await objects('Object')).data, { a: '1' });
    assert.equal(await objects('None'), null);
  });
});

describe('negotiation', () => {
  test('a metadata form of the wrong shape wins negotiation, then fails with the real 406 text', async () => {
    const one = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
    const list = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
    const cases: [string, string, string][] = [
      ['/api/v1/namespaces/d/configmaps', one, 'you requested PartialObjectMetadata, but the requested object is a list (*core.ConfigMapList)'],
      ['/api/v1/namespaces/d', `${list},application/json`, 'you requested PartialObjectMetadataList, but the requested object is not a list (*core.Namespace)'],
      ['/apis/coordination.k8s.io/v1/namespaces/d/leases', one, 'you requested PartialObjectMetadata, but the requested object is a list (*coordination.LeaseList)'],
      ['/apis/events.k8s.io/v1/namespaces/d/events', one, 'you requested PartialObjectMetadata, but the requested object is a list (*core.EventList)'],
    ];
    for (const [path, accept, message] of cases) {
      const r = await json('GET', path, { accept });
      assert.deepEqual([r.status, r.body.reason, r.body.message, r.body.details], [406, 'NotAcceptable', message, undefined], path);
    }
  });
});
