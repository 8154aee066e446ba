// Events and Leases on the local API server, over real HTTP, where the conformance corpus is
// silent: both Event APIs over one storage (field selectors, updates, deletes, watches), the Go
// types (times, int32s, unknown nested fields, fields a feature gate clears) and validation rules.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LocalApiServer } from '../../src/local-apiserver/index.js';

interface Reply {
  status: number;
  // Tests read arbitrary fields of JSON answers.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

let server: LocalApiServer;

async function call(method: string, path: string, body?: unknown): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${server.adminToken}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function namespace(name: string): Promise<string> {
  const r = await call('POST', '/api/v1/namespaces', { metadata: { name } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return name;
}

const core = (ns: string, rest = '') => `/api/v1/namespaces/${ns}/events${rest}`;
const modern = (ns: string, rest = '') => `/apis/events.k8s.io/v1/namespaces/${ns}/events${rest}`;
const leases = (ns: string, rest = '') => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases${rest}`;

function modernEvent(ns: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name },
    eventTime: '2026-12-01T00:00:00.000000Z',
    reportingController: 'cmstate.io/sweeper',
    reportingInstance: 'pod-1',
    action: 'Delete',
    reason: 'Swept',
    regarding: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'subject' },
    note: 'deleted',
    type: 'Normal',
    ...extra,
  };
}

before(async () => {
  server = await LocalApiServer.start();
});

after(async () => {
  await server.close();
});

describe('core/v1 Events', () => {
  test('times are read as Go reads them: a fraction dropped, an offset made UTC', async () => {
    const ns = await namespace('ev-times');
    const created = await call('POST', core(ns), {
      metadata: { name: 'cm.1' },
      involvedObject: { kind: 'ConfigMap', namespace: ns, name: 'cm' },
      firstTimestamp: '2026-12-01T00:00:00.123Z',
      lastTimestamp: '2026-12-01T01:00:00.999+01:00',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.firstTimestamp, '2026-12-01T00:00:00Z');
    assert.equal(created.body.lastTimestamp, '2026-12-01T00:00:00Z');
    assert.equal(created.body.eventTime, null);
  });

  test('type errors and bad times are 400s worded as Go words them', async () => {
    const ns = await namespace('ev-types');
    const count = await call('POST', core(ns), { metadata: { name: 'a' }, involvedObject: { kind: 'ConfigMap', namespace: ns }, count: 'one' });
    assert.equal(count.status, 400);
    assert.equal(count.body.message, 'Event in version "v1" cannot be handled as a Event: json: cannot unmarshal string into Go struct field Event.count of type int32');
    const ref = await call('POST', core(ns), { metadata: { name: 'a' }, involvedObject: { kind: 'ConfigMap', namespace: ns, uid: 7 } });
    assert.equal(ref.body.message, 'Event in version "v1" cannot be handled as a Event: json: cannot unmarshal number into Go struct field ObjectReference.involvedObject.uid of type types.UID');
    const time = await call('POST', core(ns), { metadata: { name: 'a' }, involvedObject: { kind: 'ConfigMap', namespace: ns }, eventTime: '2026-12-01T00:00:00Z' });
    assert.equal(time.body.message, 'Event in version "v1" cannot be handled as a Event: parsing time "2026-12-01T00:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"');
  });

  test('names need only be path segments; a new-style core Event needs its reporting fields', async () => {
    const ns = await namespace('ev-rules');
    const upper = await call('POST', core(ns), { metadata: { name: 'Upper_Case' }, involvedObject: { kind: 'ConfigMap', namespace: ns } });
    assert.equal(upper.status, 201, JSON.stringify(upper.body));
    const slash = await call('POST', core(ns), { metadata: { name: 'a%b' }, involvedObject: { kind: 'ConfigMap', namespace: ns } });
    assert.equal(slash.status, 422);
    assert.equal(slash.body.message, 'Event "a%b" is invalid: metadata.name: Invalid value: "a%b": may not contain \'%\'');
    const timed = await call('POST', core(ns), {
      metadata: { name: 'timed' },
      involvedObject: { kind: 'ConfigMap', namespace: ns },
      eventTime: '2026-12-01T00:00:00.000000Z',
      reason: 'Swept',
      action: 'Delete',
      reportingInstance: 'pod-1',
    });
    assert.equal(timed.status, 422);
    assert.deepEqual(
      timed.body.details.causes.slice(0, 2).map((c: { field: string; message: string }) => `${c.field}: ${c.message}`),
      ['reportingComponent: Required value', 'reportingComponent: Invalid value: "": name part must be non-empty'],
    );
  });
});

describe('events.k8s.io/v1 Events', () => {
  test('one storage: created through either API, read and selected through both, deleted once', async () => {
    const ns = await namespace('ev-both');
    assert.equal((await call('POST', modern(ns), modernEvent(ns, 'modern.1'))).status, 201);
    const legacy = await call('POST', core(ns), {
      metadata: { name: 'legacy.1' },
      involvedObject: { kind: 'ConfigMap', namespace: ns, name: 'other' },
      reason: 'Repaired',
      message: 'fixed',
      source: { component: 'cmstate' },
      count: 2,
    });
    assert.equal(legacy.status, 201);

    const asModern = await call('GET', modern(ns, '/legacy.1'));
    assert.equal(asModern.body.note, 'fixed');
    assert.equal(asModern.body.deprecatedCount, 2);
    assert.deepEqual(asModern.body.deprecatedSource, { component: 'cmstate' });
    assert.deepEqual(asModern.body.regarding, { kind: 'ConfigMap', namespace: ns, name: 'other' });

    const names = async (path: string) => ((await call('GET', path)).body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
    assert.deepEqual(await names(modern(ns)), ['legacy.1', 'modern.1']);
    assert.deepEqual(await names(modern(ns, '?fieldSelector=regarding.name%3Dsubject')), ['modern.1']);
    assert.deepEqual(await names(modern(ns, '?fieldSelector=reportingController%3Dcmstate.io/sweeper')), ['modern.1']);
    // An events.k8s.io Event has no source: it is selected by its controller instead.
    assert.deepEqual(await names(core(ns, '?fieldSelector=source%3Dcmstate.io/sweeper')), ['modern.1']);
    assert.deepEqual(await names(core(ns, '?fieldSelector=source%3Dcmstate')), ['legacy.1']);
    const unsupported = await call('GET', modern(ns, '?fieldSelector=involvedObject.name%3Dsubject'));
    assert.equal(unsupported.status, 400);
    assert.equal(unsupported.body.message, 'field label not supported: involvedObject.name');

    const deleted = await call('DELETE', modern(ns, '/legacy.1'));
    assert.deepEqual(deleted.body.details, { name: 'legacy.1', group: 'events.k8s.io', kind: 'events', uid: legacy.body.metadata.uid });
    assert.equal((await call('GET', core(ns, '/legacy.1'))).body.message, 'events "legacy.1" not found');
    assert.equal((await call('GET', modern(ns, '/legacy.1'))).body.message, 'events.events.k8s.io "legacy.1" not found');
  });

  test('updates through events.k8s.io/v1 keep what happened immutable; core/v1 updates may change it', async () => {
    const ns = await namespace('ev-update');
    const created = (await call('POST', modern(ns), modernEvent(ns, 'e.1'))).body;
    const changed = await call('PUT', modern(ns, '/e.1'), { ...created, note: 'rewritten', series: { count: 2, lastObservedTime: '2026-12-01T00:01:00.000000Z' } });
    assert.equal(changed.status, 422);
    assert.equal(changed.body.message, 'Event "e.1" is invalid: message: Invalid value: "rewritten": field is immutable');
    // A struct field is shown as Go's %#v of the internal type shows it.
    const moved = await call('PUT', modern(ns, '/e.1'), { ...created, regarding: { ...created.regarding, name: 'other' } });
    assert.equal(moved.status, 422);
    assert.equal(
      moved.body.message,
      `Event "e.1" is invalid: involvedObject: Invalid value: core.ObjectReference{Kind:"ConfigMap", Namespace:"${ns}", Name:"other", UID:"", APIVersion:"v1", ResourceVersion:"", FieldPath:""}: field is immutable`,
    );
    const series = await call('PUT', modern(ns, '/e.1'), { ...created, series: { count: 2, lastObservedTime: '2026-12-01T00:01:00.000000Z' } });
    assert.equal(series.status, 200, JSON.stringify(series.body));
    assert.deepEqual(series.body.series, { count: 2, lastObservedTime: '2026-12-01T00:01:00.000000Z' });

    const asCore = (await call('GET', core(ns, '/e.1'))).body;
    const rewritten = await call('PUT', core(ns, '/e.1'), { ...asCore, message: 'rewritten' });
    assert.equal(rewritten.status, 200, JSON.stringify(rewritten.body));
    assert.equal((await call('GET', modern(ns, '/e.1'))).body.note, 'rewritten');
  });

  test('a new Event is validated strictly, with the core field names', async () => {
    const ns = await namespace('ev-strict');
    const legacyStyle = await call('POST', modern(ns), modernEvent(ns, 'Bad_Name', { type: 'Info', deprecatedCount: 3 }));
    assert.equal(legacyStyle.status, 422);
    assert.deepEqual(
      legacyStyle.body.details.causes.map((c: { field: string; message: string }) => `${c.field}: ${c.message}`),
      [
        "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        'type: Invalid value: "": has invalid value: Info',
        'count: Invalid value: "": needs to be unset',
      ],
    );
  });

  test('a watch through events.k8s.io/v1 sees core/v1 writes converted', async () => {
    const ns = await namespace('ev-watch');
    const controller = new AbortController();
    const res = await fetch(`${server.url}${modern(ns, '?watch=true')}`, { headers: { authorization: `Bearer ${server.adminToken}` }, signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await call('POST', core(ns), { metadata: { name: 'w.1' }, involvedObject: { kind: 'ConfigMap', namespace: ns, name: 'cm' }, message: 'hello' });
    let text = '';
    while (!text.includes('\n')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const event = JSON.parse(text.split('\n')[0] as string);
    assert.equal(event.type, 'ADDED');
    assert.equal(event.object.apiVersion, 'events.k8s.io/v1');
    assert.equal(event.object.note, 'hello');
    assert.deepEqual(event.object.regarding, { kind: 'ConfigMap', namespace: ns, name: 'cm' });
  });
});

describe('Leases', () => {
  test('the Go type: spec always present, int32 checked, unknown nested fields, gated fields cleared', async () => {
    const ns = await namespace('lease-types');
    const bare = await call('POST', leases(ns), { metadata: { name: 'bare' } });
    assert.deepEqual(bare.body.spec, {});
    const text = await call('POST', leases(ns), { metadata: { name: 'text' }, spec: { leaseDurationSeconds: '30' } });
    assert.equal(text.status, 400);
    assert.equal(text.body.message, 'Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal string into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32');
    const big = await call('POST', leases(ns), { metadata: { name: 'big' }, spec: { leaseTransitions: 2147483648 } });
    assert.equal(big.body.message, 'Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal number 2147483648 into Go struct field LeaseSpec.spec.leaseTransitions of type int32');
    const strict = await call('POST', `${leases(ns)}?fieldValidation=Strict`, { metadata: { name: 'strict' }, spec: { holder: 'x' } });
    assert.equal(strict.status, 400);
    assert.equal(strict.body.message, 'Lease in version "v1" cannot be handled as a Lease: strict decoding error: unknown field "spec.holder"');
    const gated = await call('POST', leases(ns), { metadata: { name: 'gated' }, spec: { holderIdentity: 'a', strategy: 'OldestEmulationVersion', preferredHolder: 'b' } });
    assert.equal(gated.status, 201, JSON.stringify(gated.body));
    assert.deepEqual(gated.body.spec, { holderIdentity: 'a' });
    const zero = await call('POST', leases(ns), { metadata: { name: 'zero' }, spec: { acquireTime: '0001-01-01T00:00:00.000000Z', renewTime: null } });
    assert.deepEqual(zero.body.spec, { acquireTime: null });
  });

  test('validation messages name the group; ConfigMap messages do not', async () => {
    const ns = await namespace('lease-invalid');
    const lease = await call('POST', leases(ns), { metadata: { name: 'Bad' }, spec: { leaseDurationSeconds: -1 } });
    assert.equal(lease.status, 422);
    assert.match(lease.body.message, /^Lease\.coordination\.k8s\.io "Bad" is invalid: \[metadata\.name: .*, spec\.leaseDurationSeconds: Invalid value: -1: must be greater than 0\]$/);
    const cm = await call('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'Bad' } });
    assert.match(cm.body.message, /^ConfigMap "Bad" is invalid: /);
  });
});
