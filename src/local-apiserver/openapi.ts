// The OpenAPI documents, built from one model of the served operations and the definitions in
// schemas.ts. kubectl reads /openapi/v3 before `create -f`/`replace`/`apply` to see whether the
// server validates fields itself (a `fieldValidation` parameter on the kind's PATCH operation),
// and /openapi/v2 (as gnostic protobuf) to validate what it cannot ask the server to: every item
// of a `kind: List`. Documents are built on first use and kept serialized.

import { createHash } from 'node:crypto';
import { SERVED, SERVER_VERSION, type ServedResource } from './discovery.js';
import { encodeOpenApiV2 } from './openapi-protobuf.js';
import { DEFINITIONS, definitionOf } from './schemas.js';

type Method = 'get' | 'put' | 'post' | 'delete' | 'patch';

interface Operation {
  action: string;
  operationId: string;
  query: readonly string[];
  body?: { definition: string; required: boolean; mediaTypes: readonly string[] };
  /** Status code to the definition answered. */
  responses: Readonly<Record<string, string>>;
}

interface PathModel {
  resource: ServedResource;
  /** The path parameters: `namespace`, `name`. */
  parameters: readonly string[];
  operations: Partial<Record<Method, Operation>>;
}

const QUERY_TYPES: Readonly<Record<string, string>> = {
  continue: 'string',
  dryRun: 'string',
  fieldManager: 'string',
  fieldSelector: 'string',
  fieldValidation: 'string',
  force: 'boolean',
  gracePeriodSeconds: 'integer',
  labelSelector: 'string',
  limit: 'integer',
  orphanDependents: 'boolean',
  propagationPolicy: 'string',
  resourceVersion: 'string',
  resourceVersionMatch: 'string',
  timeoutSeconds: 'integer',
  watch: 'boolean',
};

const LIST = ['continue', 'fieldSelector', 'labelSelector', 'limit', 'resourceVersion', 'resourceVersionMatch', 'timeoutSeconds', 'watch'];
const WRITE = ['dryRun', 'fieldManager', 'fieldValidation'];
const DELETE = ['dryRun', 'gracePeriodSeconds', 'orphanDependents', 'propagationPolicy'];
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];
const STATUS = 'io.k8s.apimachinery.pkg.apis.meta.v1.Status';
const DESCRIPTIONS: Readonly<Record<string, string>> = { '200': 'OK', '201': 'Created', '202': 'Accepted', '401': 'Unauthorized' };

function prefix(r: ServedResource): string {
  return r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
}

/** Discovery's key for a group-version's document: `api/v1`, `apis/coordination.k8s.io/v1`. */
function groupVersionKey(r: ServedResource): string {
  return prefix(r).slice(1);
}

/** `core_v1`, `coordination_v1`: the tag, and (camel-cased) the middle of every operationId. */
function groupWords(r: ServedResource): string[] {
  return [...(r.group ? r.group.replace(/\.k8s\.io$/, '').split('.') : ['core']), r.version];
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function definition(group: string, version: string, kind: string): string {
  const name = definitionOf(group, version, kind);
  if (!name) throw new Error(`no OpenAPI definition for ${group}/${version} ${kind}`);
  return name;
}

/** The paths of one resource, with the operations its verbs allow, named as the real server names them. */
function resourcePaths(r: ServedResource): Map<string, PathModel> {
  const gv = groupWords(r).map(capitalize).join('');
  const scoped = r.namespaced ? 'Namespaced' : '';
  const kind = definition(r.group, r.version, r.kind);
  const has = (verb: string) => (r.verbs as readonly string[]).includes(verb);
  const list = has('list') ? definition(r.group, r.version, `${r.kind}List`) : '';
  const write = (definitionName: string) => ({ definition: definitionName, required: true, mediaTypes: ['*/*'] });
  const deleteOptions = { definition: 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions', required: false, mediaTypes: ['*/*'] };

  const collection: Partial<Record<Method, Operation>> = {};
  if (has('list')) collection.get = { action: 'list', operationId: `list${gv}${scoped}${r.kind}`, query: LIST, responses: { '200': list } };
  if (has('create')) {
    collection.post = { action: 'post', operationId: `create${gv}${scoped}${r.kind}`, query: WRITE, body: write(kind), responses: { '200': kind, '201': kind, '202': kind } };
  }
  if (has('deletecollection')) {
    collection.delete = {
      action: 'deletecollection',
      operationId: `delete${gv}Collection${scoped}${r.kind}`,
      query: [...DELETE, ...LIST],
      body: deleteOptions,
      responses: { '200': STATUS },
    };
  }
  const item: Partial<Record<Method, Operation>> = {};
  if (has('get')) item.get = { action: 'get', operationId: `read${gv}${scoped}${r.kind}`, query: [], responses: { '200': kind } };
  if (has('update')) item.put = { action: 'put', operationId: `replace${gv}${scoped}${r.kind}`, query: WRITE, body: write(kind), responses: { '200': kind, '201': kind } };
  if (has('patch')) {
    item.patch = {
      action: 'patch',
      operationId: `patch${gv}${scoped}${r.kind}`,
      query: [...WRITE, 'force'],
      body: { definition: 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch', required: true, mediaTypes: PATCH_TYPES },
      responses: { '200': kind, '201': kind },
    };
  }
  if (has('delete')) item.delete = { action: 'delete', operationId: `delete${gv}${scoped}${r.kind}`, query: DELETE, body: deleteOptions, responses: { '200': STATUS, '202': STATUS } };

  const base = r.namespaced ? `${prefix(r)}/namespaces/{namespace}/${r.resource}` : `${prefix(r)}/${r.resource}`;
  const scope = r.namespaced ? ['namespace'] : [];
  const paths = new Map<string, PathModel>();
  if (Object.keys(collection).length > 0) paths.set(base, { resource: r, parameters: scope, operations: collection });
  if (Object.keys(item).length > 0) paths.set(`${base}/{name}`, { resource: r, parameters: [...scope, 'name'], operations: item });
  if (r.namespaced && has('list')) {
    const operations = { get: { action: 'list', operationId: `list${gv}${r.kind}ForAllNamespaces`, query: LIST, responses: { '200': list } } };
    paths.set(`${prefix(r)}/${r.resource}`, { resource: r, parameters: [], operations });
  }
  return paths;
}

function allPaths(): Map<string, PathModel> {
  const paths = new Map<string, PathModel>();
  for (const r of SERVED) for (const [path, model] of resourcePaths(r)) paths.set(path, model);
  return new Map([...paths].sort(([a], [b]) => a.localeCompare(b)));
}

function extensions(model: PathModel, op: Operation): Record<string, unknown> {
  const { group, version, kind } = model.resource;
  return { 'x-kubernetes-action': op.action, 'x-kubernetes-group-version-kind': { group, kind, version } };
}

function tags(model: PathModel): string[] {
  return [groupWords(model.resource).join('_')];
}

const INFO = { title: 'Kubernetes', version: SERVER_VERSION.gitVersion };

// --- Swagger 2.0 ---

const v2Ref = (name: string) => ({ $ref: `#/definitions/${name}` });

function v2Operation(model: PathModel, op: Operation): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = [];
  if (op.body) parameters.push({ in: 'body', name: 'body', required: op.body.required, schema: v2Ref(op.body.definition) });
  for (const name of op.query) parameters.push({ in: 'query', name, type: QUERY_TYPES[name], uniqueItems: true });
  const responses: Record<string, unknown> = {};
  for (const [code, def] of Object.entries(op.responses)) responses[code] = { description: DESCRIPTIONS[code], schema: v2Ref(def) };
  responses['401'] = { description: DESCRIPTIONS['401'] };
  return {
    ...(op.body && op.body.mediaTypes[0] !== '*/*' ? { consumes: [...op.body.mediaTypes] } : {}),
    operationId: op.operationId,
    parameters,
    produces: ['application/json'],
    responses,
    tags: tags(model),
    ...extensions(model, op),
  };
}

function swagger(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [path, model] of allPaths()) {
    const item: Record<string, unknown> = {};
    for (const [method, op] of Object.entries(model.operations)) item[method] = v2Operation(model, op);
    item['parameters'] = model.parameters.map((name) => ({ in: 'path', name, required: true, type: 'string', uniqueItems: true }));
    paths[path] = item;
  }
  return { swagger: '2.0', info: INFO, paths, definitions: DEFINITIONS };
}

// --- OpenAPI 3.0: the same paths and definitions, one document per group-version ---

/** A v2 schema in v3 terms: references into components, and a reference with siblings wrapped in allOf as the real server does. */
function v3Schema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(v3Schema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === '$ref' ? String(v).replace('#/definitions/', '#/components/schemas/') : k === 'x-kubernetes-group-version-kind' ? v : v3Schema(v);
  }
  if (out['$ref'] !== undefined && Object.keys(out).length > 1) {
    const { $ref, ...rest } = out;
    return { allOf: [{ $ref }], ...rest };
  }
  return out;
}

const v3Ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function v3Operation(model: PathModel, op: Operation): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [code, def] of Object.entries(op.responses)) {
    responses[code] = { description: DESCRIPTIONS[code], content: { 'application/json': { schema: v3Ref(def) } } };
  }
  responses['401'] = { description: DESCRIPTIONS['401'] };
  return {
    operationId: op.operationId,
    parameters: op.query.map((name) => ({ name, in: 'query', schema: { type: QUERY_TYPES[name], uniqueItems: true } })),
    ...(op.body
      ? {
          requestBody: {
            content: Object.fromEntries(op.body.mediaTypes.map((m) => [m, { schema: v3Ref((op.body as { definition: string }).definition) }])),
            required: op.body.required,
          },
        }
      : {}),
    responses,
    tags: tags(model),
    ...extensions(model, op),
  };
}

/** The definitions a set of schemas refers to, transitively. */
function referenced(roots: string[]): string[] {
  const seen = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k === '$ref') add(String(v).replace('#/definitions/', ''));
        else visit(v);
      }
    }
  };
  const add = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    visit(DEFINITIONS[name]);
  };
  roots.forEach(add);
  return [...seen].sort();
}

function v3Document(key: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const roots: string[] = [];
  for (const [path, model] of allPaths()) {
    if (groupVersionKey(model.resource) !== key) continue;
    const item: Record<string, unknown> = {};
    for (const [method, op] of Object.entries(model.operations)) {
      item[method] = v3Operation(model, op);
      roots.push(...Object.values(op.responses), ...(op.body ? [op.body.definition] : []));
    }
    item['parameters'] = model.parameters.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }));
    paths[path] = item;
  }
  const schemas = Object.fromEntries(referenced(roots).map((name) => [name, v3Schema(DEFINITIONS[name])]));
  return { openapi: '3.0.0', info: INFO, paths, components: { schemas } };
}

// --- serving ---

export interface OpenApiAnswer {
  status: number;
  contentType?: string;
  body: string | Buffer;
}

const PROTOBUF_V2 = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

let v2: { json: string; protobuf: Buffer } | undefined;
let v3: Map<string, string> | undefined;

function v2Documents(): { json: string; protobuf: Buffer } {
  if (!v2) {
    const doc = swagger();
    v2 = { json: JSON.stringify(doc), protobuf: encodeOpenApiV2(doc) };
  }
  return v2;
}

function v3Documents(): Map<string, string> {
  v3 ??= new Map([...new Set(SERVED.map(groupVersionKey))].map((key) => [key, JSON.stringify(v3Document(key))]));
  return v3;
}

/** Accept clauses as goautoneg orders them: by q, then the more specific first, then as sent. */
function acceptClauses(accept: string | undefined): { type: string; subtype: string }[] {
  return (accept || '*/*')
    .split(',')
    .map((part, index) => {
      const [range = '', ...params] = part.split(';').map((s) => s.trim());
      const [type = '', subtype = ''] = range.toLowerCase().split('/');
      const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? '1');
      return { type, subtype, q: Number.isNaN(q) ? 0 : q, index };
    })
    .filter((c) => c.type !== '' && c.q > 0)
    .sort((a, b) => b.q - a.q || Number(a.type === '*') - Number(b.type === '*') || Number(a.subtype === '*') - Number(b.subtype === '*') || a.index - b.index);
}

/**
 * /openapi/v2 as kube-openapi serves it: JSON for `application/json`, protobuf for exactly
 * `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, the first that an Accept clause
 * matches; 406 with no body when none does.
 */
export function openApiV2(accept: string | undefined): OpenApiAnswer {
  for (const { type, subtype } of acceptClauses(accept)) {
    if (type !== 'application' && type !== '*') continue;
    if (subtype === 'json' || subtype === '*') return { status: 200, contentType: 'application/json', body: v2Documents().json };
    if (subtype === 'com.github.proto-openapi.spec.v2@v1.0+protobuf') return { status: 200, contentType: PROTOBUF_V2, body: v2Documents().protobuf };
  }
  return { status: 406, body: '' };
}

function hashOf(text: string): string {
  return createHash('sha512').update(text).digest('hex').toUpperCase();
}

let v3IndexText: string | undefined;

/** The index names each document by the hash of its text: computed once, as the documents are. */
function v3Index(): string {
  v3IndexText ??= JSON.stringify({
    paths: Object.fromEntries([...v3Documents()].map(([key, doc]) => [key, { serverRelativeURL: `/openapi/v3/${key}?hash=${hashOf(doc)}` }])),
  });
  return v3IndexText;
}

/**
 * A path under /openapi/v3: the index of group-version documents (served through Go's
 * http.ServeContent, which sniffs JSON as text/plain), a document, or 404 with no body.
 */
export function openApiV3(path: string): OpenApiAnswer {
  const docs = v3Documents();
  if (path === '/openapi/v3') return { status: 200, contentType: 'text/plain; charset=utf-8', body: v3Index() };
  const doc = docs.get(path.replace(/^\/openapi\/v3\//, ''));
  return doc !== undefined ? { status: 200, contentType: 'application/json', body: doc } : { status: 404, body: '' };
}
