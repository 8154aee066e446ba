// Request bodies, write options and patches on the local API server, with the answers a real
// kube-apiserver v1.32 gives for inputs the conformance corpus does not pin: Go's decode texts,
// the order of checks, JSON patch (json-patch v4), strategic merge directives, server-side apply.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { LocalApiServer } from '../../src/local-apiserver/index.js';

interface Reply {
  status: number;
  // Tests read arbitrary fields of JSON answers.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  /** Raw header lines, as [name, value] pairs in the order sent. */
  headers: [string, string][];
}

let server: LocalApiServer;
const NS = 'bodies';

/** One request over node:http, so that repeated header lines stay apart. */
function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Reply> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, ...(text !== undefined ? { 'content-type': contentType } : {}) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const headers: [string, string][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string]);
        resolve({ status: res.statusCode ?? 0, body: raw ? JSON.parse(raw) : undefined, headers });
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}

const cms = (rest = '') => `/api/v1/namespaces/${NS}/configmaps${rest}`;
const JSON_PATCH = 'application/json-patch+json';
const MERGE = 'application/merge-patch+json';
const STRATEGIC = 'application/strategic-merge-patch+json';
const APPLY = 'application/apply-patch+yaml';

function failure(r: Reply, code: number, message: string, reason?: string): void {
  assert.equal(r.status, code, JSON.stringify(r.body));
  assert.equal(r.body.message, message);
  assert.equal(r.body.reason, reason);
}

function warnings(r: Reply): string[] {
  return r.headers.filter(([k]) => k.toLowerCase() === 'warning').map(([, v]) => v);
}

async function create(name: string, fields: Record<string, unknown> = {}): Promise<Reply> {
  const r = await call('POST', cms(), { metadata: { name }, data: { a: '1' }, ...fields });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r;
}

before(async () => {
  server = await LocalApiServer.start();
  assert.equal((await call('POST', '/api/v1/namespaces', { metadata: { name: NS } })).status, 201);
});

after(async () => {
  await server.close();
});

describe('decoding a body', () => {
  const unrecognized = (why: string, shown: string) => `the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: ${why} (${shown})`;

  test('malformed JSON gets Go encoding/json syntax errors and the first 30 bytes of the body', async () => {
    failure(await call('POST', cms(), '{"metadata": {"name": "abcdefghijklmnopqrstuvwxyz"'), 400, unrecognized('unexpected end of JSON input', '{"metadata": {"name": "abcdefg ...'), 'BadRequest');
    failure(await call('POST', cms(), '{"a":1}x'), 400, unrecognized("invalid character 'x' after top-level value", '{"a":1}x'), 'BadRequest');
    failure(await call('POST', cms(), '{"a" 1}'), 400, unrecognized("invalid character '1' after object key", '{"a" 1}'), 'BadRequest');
    failure(await call('POST', cms(), '{"a":tru}'), 400, unrecognized("invalid character '}' in literal true (expecting 'e')", '{"a":tru}'), 'BadRequest');
    failure(await call('POST', cms(), ''), 400, unrecognized('unexpected end of JSON input', '<empty>'), 'BadRequest');
  });

  test('a body that is no object cannot give its kind; it is shown in hex', async () => {
    const findKind = 'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }';
    failure(await call('POST', cms(), '[1]'), 400, unrecognized(`json: cannot unmarshal array into Go value of type ${findKind}`, '5b315d'), 'BadRequest');
    failure(await call('POST', cms(), { kind: 5 }), 400, unrecognized('json: cannot unmarshal number into Go struct field .kind of type string', '{"kind":5}'), 'BadRequest');
  });

  test('another kind fails conversion, an unknown kind or version lookup', async () => {
    failure(
      await call('POST', cms(), { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' } }),
      400,
      'Lease in version "v1" cannot be handled as a ConfigMap: converting (v1.Lease) to (core.ConfigMap): unknown conversion',
      'BadRequest',
    );
    failure(
      await call('POST', cms(), { apiVersion: 'v1', kind: 'Foo', metadata: { name: 'f' } }),
      400,
      'Foo in version "v1" cannot be handled as a ConfigMap: no kind "Foo" is registered for version "v1" in scheme "pkg/api/legacyscheme/scheme.go:30"',
      'BadRequest',
    );
    failure(
      await call('POST', cms(), { apiVersion: 'v2', metadata: { name: 'v' } }),
      400,
      'ConfigMap in version "v2" cannot be handled as a ConfigMap: no kind "ConfigMap" is registered for version "v2" in scheme "pkg/api/legacyscheme/scheme.go:30"',
      'BadRequest',
    );
  });

  test('the first type error in document order is reported, in Go words', async () => {
    const prefix = 'ConfigMap in version "v1" cannot be handled as a ConfigMap: ';
    failure(await call('POST', cms(), { data: { a: true }, metadata: { name: 5 } }), 400, `${prefix}json: cannot unmarshal bool into Go struct field ConfigMap.data of type string`, 'BadRequest');
    failure(
      await call('POST', cms(), { metadata: { name: 't', generation: 1.5 } }),
      400,
      `${prefix}json: cannot unmarshal number 1.5 into Go struct field ObjectMeta.metadata.generation of type int64`,
      'BadRequest',
    );
    failure(
      await call('POST', cms(), { metadata: { name: 't', ownerReferences: [{ uid: 7 }] } }),
      400,
      `${prefix}json: cannot unmarshal number into Go struct field OwnerReference.metadata.ownerReferences.uid of type types.UID`,
      'BadRequest',
    );
    failure(
      await call('POST', cms(), { metadata: { name: 't', creationTimestamp: 'soon' } }),
      400,
      `${prefix}parsing time "soon" as "2006-01-02T15:04:05Z07:00": cannot parse "soon" as "2006"`,
      'BadRequest',
    );
  });

  test('binaryData is base64 as Go reads it: the first bad byte is named', async () => {
    const at = async (value: string) => (await call('POST', cms(), { metadata: { name: 'b' }, binaryData: { k: value } })).body.message;
    assert.match(await at('AAE'), /illegal base64 data at input byte 0$/);
    assert.match(await at('AA=A'), /illegal base64 data at input byte 2$/);
    assert.match(await at('AAE=AAEC'), /illegal base64 data at input byte 4$/);
  });

  test("Go's null rules and omitempty: a null map value is empty, empty maps and lists are not written", async () => {
    const r = await create('nulls', { metadata: { name: 'nulls', labels: {}, finalizers: [] }, data: { a: null, b: 'x' }, binaryData: {}, immutable: false });
    assert.deepEqual(r.body.data, { a: '', b: 'x' });
    assert.equal(r.body.immutable, false, 'a pointer keeps its false');
    assert.equal(r.body.binaryData, undefined);
    assert.equal(r.body.metadata.labels, undefined);
    assert.equal(r.body.metadata.finalizers, undefined);
  });

  test('unknown fields: one Warning header line each, in document order; a 400 with fieldValidation=Strict', async () => {
    const body = { metadata: { name: 'warned', bogus: 1, ownerReferences: [{ apiVersion: 'v1', kind: 'K', name: 'n', uid: 'u', extra: 1 }] }, spec: {} };
    const r = await call('POST', cms(), body);
    assert.equal(r.status, 201);
    assert.deepEqual(warnings(r), ['299 - "unknown field \\"metadata.bogus\\""', '299 - "unknown field \\"metadata.ownerReferences[0].extra\\""', '299 - "unknown field \\"spec\\""']);
    const strict = await call('POST', cms('?fieldValidation=Strict'), { ...body, metadata: { ...body.metadata, name: 'strict' } });
    failure(
      strict,
      400,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "metadata.bogus", unknown field "metadata.ownerReferences[0].extra", unknown field "spec"',
      'BadRequest',
    );
    assert.deepEqual(warnings(await call('POST', cms('?fieldValidation=Ignore'), { metadata: { name: 'quiet' }, spec: {} })), []);
    const utf8 = warnings(await call('POST', cms(), { metadata: { name: 'utf8' }, 'grüße 世界': 1 }));
    assert.deepEqual(
      utf8.map((w) => Buffer.from(w, 'latin1').toString('utf8')),
      ['299 - "unknown field \\"grüße 世界\\""'],
      'sent as UTF-8',
    );
  });

  test('YAML bodies are read as the server reads them (YAML 1.1: an unquoted yes is a bool)', async () => {
    const r = await call('POST', cms(), 'metadata:\n  name: from-yaml\ndata:\n  k: "yes"\n', 'application/yaml');
    assert.equal(r.status, 201);
    assert.deepEqual(r.body.data, { k: 'yes' });
    const bool = await call('POST', cms(), 'metadata: {name: yaml-bool}\ndata: {k: yes}\n', 'application/yaml');
    assert.match(bool.body.message, /json: cannot unmarshal bool into Go struct field ConfigMap.data of type string$/);
    const broken = await call('POST', cms(), 'a: b: c', 'application/yaml');
    assert.match(broken.body.message, /^the object provided is unrecognized \(must be of type ConfigMap\): error converting YAML to JSON: yaml: line 1: /);
  });

  test('other media types are 415', async () => {
    const text = 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf';
    failure(await call('POST', cms(), 'x', 'text/plain'), 415, text, 'UnsupportedMediaType');
    failure(await call('PUT', cms('/x'), 'x', 'text/plain'), 415, text, 'UnsupportedMediaType');
  });
});

describe('write options', () => {
  test('bad values are 422 on the options kind, checked before the body is read', async () => {
    failure(
      await call('POST', cms('?fieldValidation=Bogus'), '{not json'),
      422,
      'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Bogus": supported values: "", "Ignore", "Strict", "Warn"',
      'Invalid',
    );
    const both = await call('PUT', cms('/x?dryRun=x&fieldValidation=x'), '{not json');
    failure(
      both,
      422,
      'UpdateOptions.meta.k8s.io "" is invalid: [dryRun: Unsupported value: []string{"x"}: supported values: "All", fieldValidation: Unsupported value: "x": supported values: "", "Ignore", "Strict", "Warn"]',
      'Invalid',
    );
    assert.deepEqual(both.body.details.group, 'meta.k8s.io');
    assert.equal(both.body.details.name, undefined);
    failure(
      await call('POST', cms('?fieldManager=%07'), { metadata: { name: 'fm' } }),
      422,
      'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "\\a": invalid character U+0007 (at position 0)',
      'Invalid',
    );
    failure(await call('PATCH', cms('/x?force=true'), {}, MERGE), 422, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch', 'Invalid');
  });
});

describe('create and update', () => {
  test('a resourceVersion on create: 500 with no reason when it parses and is not 0', async () => {
    const r = await call('POST', cms(), { metadata: { name: 'rv', resourceVersion: '7' } });
    failure(r, 500, 'resourceVersion should not be set on objects to be created', undefined);
    assert.equal(r.body.details, undefined);
    assert.equal((await call('POST', cms(), { metadata: { name: 'rv0', resourceVersion: '0' } })).status, 201);
    assert.equal((await call('POST', cms(), { metadata: { name: 'rvx', resourceVersion: 'x' } })).status, 201, 'one that does not parse is ignored');
    const dry = await call('POST', cms('?dryRun=All'), { metadata: { name: 'rvdry', resourceVersion: '7' } });
    assert.equal(dry.status, 201, 'a dry run never reaches the check');
    assert.equal(dry.body.metadata.resourceVersion, '7');
  });

  test('PUT: a uid is a storage precondition, checked before existence; a missing name is undeterminable', async () => {
    const v1 = (await create('put')).body;
    const other = '00000000-0000-4000-8000-000000000000';
    failure(
      await call('PUT', cms('/gone'), { metadata: { name: 'gone', uid: other } }),
      409,
      `Operation cannot be fulfilled on configmaps "gone": StorageError: invalid object, Code: 4, Key: /registry/configmaps/${NS}/gone, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: ${other}, UID in object meta: `,
      'Conflict',
    );
    failure(await call('PUT', cms('/put'), { metadata: {} }), 400, 'the name of the object (put based on URL) was undeterminable: name must be provided', 'BadRequest');
    failure(await call('PUT', cms('/put'), { metadata: { name: 'put', resourceVersion: 'v1' } }), 500, 'strconv.ParseUint: parsing "v1": invalid syntax', undefined);
    const same = await call('PUT', cms('/put'), { ...v1, metadata: { ...v1.metadata, uid: v1.metadata.uid } });
    assert.equal(same.body.metadata.resourceVersion, v1.metadata.resourceVersion, 'an update that changes nothing writes nothing');
  });

  test('strategies: a Lease may be created by PUT, and is updated only with a resourceVersion', async () => {
    const leases = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'put-made' }, spec: { holderIdentity: 'a' } };
    const made = await call('PUT', `${leases}/put-made`, lease);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    failure(
      await call('PUT', `${leases}/put-made`, lease),
      422,
      'leases.coordination.k8s.io "put-made" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
      'Invalid',
    );
    const withRv = { ...lease, metadata: { ...lease.metadata, resourceVersion: made.body.metadata.resourceVersion }, spec: { holderIdentity: 'b' } };
    assert.equal((await call('PUT', `${leases}/put-made`, withRv)).status, 200);
    assert.equal((await call('PUT', cms('/not-by-put'), { metadata: { name: 'not-by-put' } })).status, 404, 'a ConfigMap is not');
  });

  test('namespace names: a valid subdomain is told it must not contain dots; spec finalizers keep theirs', async () => {
    const dotted = await call('POST', '/api/v1/namespaces', { metadata: { name: 'a.b' } });
    assert.equal(dotted.body.details.causes[0].message, 'Invalid value: "a.b": must not contain dots');
    const upper = await call('POST', '/api/v1/namespaces', { metadata: { name: 'A.b' } });
    assert.match(upper.body.details.causes[0].message, /a lowercase RFC 1123 label must consist of/);
    const ns = await call('POST', '/api/v1/namespaces', { metadata: { name: 'with-finalizer' }, spec: { finalizers: ['example.com/x'] } });
    assert.deepEqual(ns.body.spec.finalizers, ['example.com/x', 'kubernetes']);
  });
});

describe('patches', () => {
  test("the Content-Type: a patch type or 415, either go-restful's or the handler's", async () => {
    await create('ct');
    const restful = await call('PATCH', cms('/ct'), { data: {} }, 'application/json');
    failure(restful, 415, '415: Unsupported Media Type', 'UnsupportedMediaType');
    assert.deepEqual(restful.body.details, {});
    failure(
      await call('PATCH', cms('/ct'), { data: {} }, 'application/merge-patch+json, text/plain'),
      415,
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
      'UnsupportedMediaType',
    );
    assert.equal((await call('PATCH', cms('/ct'), { data: { b: '2' } }, 'application/merge-patch+json; charset=utf-8')).status, 200);
  });

  test('JSON patch as json-patch v4 applies it; what does not apply is a bare 422', async () => {
    await create('jp');
    const bare = (r: Reply) => {
      failure(r, 422, 'the server rejected our request due to an error in our request', 'Invalid');
      assert.deepEqual(r.body.details, {});
    };
    const ok = await call(
      'PATCH',
      cms('/jp'),
      [
        { op: 'replace', path: '/data/new', value: 'x' },
        { op: 'test', path: '/data/absent', value: null },
        { op: 'add', path: '/metadata/finalizers', value: ['example.com/a'] },
        { op: 'add', path: '/metadata/finalizers/-1', value: 'example.com/b' },
      ],
      JSON_PATCH,
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.data, { a: '1', new: 'x' });
    // v4 counts a negative index for add from the end of the grown list: -1 appends.
    assert.deepEqual(ok.body.metadata.finalizers, ['example.com/a', 'example.com/b']);
    bare(await call('PATCH', cms('/jp'), [{ op: 'remove', path: '/data/absent' }], JSON_PATCH));
    bare(await call('PATCH', cms('/jp'), [{ op: 'add', path: '/metadata/labels/x', value: 'y' }], JSON_PATCH));
    bare(await call('PATCH', cms('/jp'), [{ op: 'copy', from: '/data/absent', path: '/data/c' }], JSON_PATCH));
    bare(await call('PATCH', cms('/jp'), [{ op: 'frobnicate', path: '/data/a' }], JSON_PATCH));
    failure(
      await call('PATCH', cms('/jp'), [{ op: 5, path: '/data/a' }], JSON_PATCH),
      400,
      'error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string',
      'BadRequest',
    );
    failure(await call('PATCH', cms('/jp?fieldValidation=Ignore'), { op: 'add' }, JSON_PATCH), 400, 'json: cannot unmarshal object into Go value of type jsonpatch.Patch', 'BadRequest');
    const unknown = await call('PATCH', cms('/jp'), [{ op: 'add', path: '/data/z', value: 'z', note: 1 }], JSON_PATCH);
    assert.deepEqual(warnings(unknown), ['299 - "json patch unknown field \\"[0].note\\""']);
    const many = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/data/a', value: '1' }));
    failure(await call('PATCH', cms('/jp'), many, JSON_PATCH), 413, 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001', 'RequestEntityTooLarge');
  });

  test('merge patch: null is no patch; a result that does not decode is a 422 showing it; uid is immutable', async () => {
    await create('mp');
    failure(await call('PATCH', cms('/mp'), 'null', MERGE), 400, 'Invalid JSON Patch', 'BadRequest');
    failure(await call('PATCH', cms('/mp?fieldValidation=Ignore'), '{x', MERGE), 400, 'Invalid JSON Patch', 'BadRequest');
    const typed = await call('PATCH', cms('/mp'), { data: { a: 1 } }, MERGE);
    assert.equal(typed.status, 422);
    assert.match(typed.body.message, /^ "" is invalid: patch: Invalid value: "\{\\"apiVersion\\":\\"v1\\",\\"data\\":\{\\"a\\":1\},\\"kind\\":\\"ConfigMap\\",/);
    assert.match(typed.body.message, /: json: cannot unmarshal number into Go struct field ConfigMap.data of type string$/);
    assert.deepEqual(Object.keys(typed.body.details), ['causes']);
    failure(await call('PATCH', cms('/mp'), { metadata: { uid: 'other' } }, MERGE), 422, 'ConfigMap "mp" is invalid: metadata.uid: Invalid value: "other": field is immutable', 'Invalid');
    failure(
      await call('PATCH', cms('/mp'), { metadata: { namespace: 'elsewhere' } }, MERGE),
      400,
      'the namespace of the provided object does not match the namespace sent on the request',
      'BadRequest',
    );
  });

  test('strategic merge patch: list strategies and directives', async () => {
    await create('smp', { metadata: { name: 'smp', finalizers: ['example.com/a'], labels: { a: '1', b: '2' } }, data: { a: '1', b: '2' } });
    const patch = async (body: unknown) => call('PATCH', cms('/smp'), body, STRATEGIC);
    assert.deepEqual((await patch({ metadata: { finalizers: ['example.com/b'] } })).body.metadata.finalizers, ['example.com/b', 'example.com/a']);
    const ordered = await patch({ metadata: { '$setElementOrder/finalizers': ['example.com/a', 'example.com/b'], finalizers: ['example.com/a'] } });
    assert.deepEqual(ordered.body.metadata.finalizers, ['example.com/a', 'example.com/b']);
    const retained = await patch({ metadata: { labels: { $patch: 'replace', only: 'x' } }, data: { $retainKeys: ['a'], a: 'A' } });
    assert.deepEqual(retained.body.metadata.labels, { only: 'x' });
    assert.deepEqual(retained.body.data, { a: 'A' });
    const deleted = await patch({ metadata: { labels: { $patch: 'delete' }, '$deleteFromPrimitiveList/finalizers': ['example.com/a'] } });
    assert.equal(deleted.body.metadata.labels, undefined);
    assert.deepEqual(deleted.body.metadata.finalizers, ['example.com/b']);
    failure(await patch({ data: { $retainKeys: ['x'], a: 'A' } }), 400, 'invalid patch format of retainKeys', 'BadRequest');
    failure(await patch({ data: { $patch: 'bogus' } }), 500, 'Unknown patch type: bogus in map: map[$patch:bogus]', undefined);
    failure(await patch('[1]'), 400, 'json: cannot unmarshal array into Go value of type map[string]interface {}', 'BadRequest');
  });

  test('server-side apply: fieldManager required, creates a missing object (201), merges into an existing one', async () => {
    const config = (name: string, value: string, apiVersion = 'v1') => `apiVersion: ${apiVersion}\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  b: ${value}\n`;
    failure(await call('PATCH', cms('/ssa'), config('ssa', 'x'), APPLY), 422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', 'Invalid');
    const dry = await call('PATCH', cms('/ssa?fieldManager=t&dryRun=All'), config('ssa', 'one'), APPLY);
    assert.equal(dry.status, 201);
    assert.equal((await call('GET', cms('/ssa'))).status, 404);
    const created = await call('PATCH', cms('/ssa?fieldManager=t'), config('ssa', 'one'), APPLY);
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.data, { b: 'one' });
    await call('PATCH', cms('/ssa'), { data: { other: 'kept' } }, MERGE);
    const updated = await call('PATCH', cms('/ssa?fieldManager=t'), config('ssa', 'two'), APPLY);
    assert.equal(updated.status, 200);
    assert.deepEqual(updated.body.data, { b: 'two', other: 'kept' });
    failure(
      await call('PATCH', cms('/ssa?fieldManager=t'), config('ssa', 'three', 'v2'), APPLY),
      400,
      'Incorrect version specified in apply patch. Specified patch version: v2, expected: v1',
      'BadRequest',
    );
    failure(await call('PATCH', cms('/ssa?fieldManager=t'), config('other', 'three'), APPLY), 400, 'the name of the object (other) does not match the name on the URL (ssa)', 'BadRequest');
  });
});
