// The resource verbs with the API server's semantics: preconditions and conflicts, validation,
// dry runs, selectors and paging, and the representation the client asked for.

import { randomUUID } from 'node:crypto';
import type { Authorizer } from './authz.js';
import { negotiate } from './negotiation.js';
import type { ContinueTokens } from './paging.js';
import { PATCH_CONTENT_TYPES, PatchApplyError, PatchDecodeError, applyPatch, deepEqual } from './patch.js';
import { NAMESPACES, RESOURCES, apiVersionOf, findKind, type KubeObject, type ResourceDef, type Verb } from './resources.js';
import { matchesListQuery, parseListQuery } from './list-query.js';
import { fieldValidation, isDryRun, parseJson, parseObjectBody } from './request-body.js';
import {
  STALE_OBJECT,
  alreadyExists,
  badRequest,
  conflict,
  forbidden,
  internalError,
  invalid,
  notFound,
  unprocessablePatch,
  unsupportedMediaType,
} from './status.js';
import type { Store, StoredObject } from './store.js';
import { tableJson, type IncludeObject } from './table.js';
import { decodeObject, validateObject } from './validation.js';

export interface ResourceTarget {
  def: ResourceDef;
  /** The namespace from the URL; undefined for cluster-scoped kinds and all-namespace lists. */
  namespace?: string;
  name?: string;
}

export interface ApiRequest {
  target: ResourceTarget;
  query: URLSearchParams;
  accept?: string;
  contentType?: string;
  body?: Buffer;
}

export interface ApiResponse {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export interface ApiContext {
  store: Store;
  authz: Authorizer;
  tokens: ContinueTokens;
  now: () => number;
  random: () => number;
}

/** Namespaces that exist from the start and cannot be deleted. */
export const PROTECTED_NAMESPACES: readonly string[] = ['default'];

const NAMESPACED = RESOURCES.filter((r) => r.namespaced);
const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

let lastSecond = NaN;
let lastTimestamp = '';

/** RFC 3339 to the second, as the API server writes creationTimestamp (memoized: seeding stamps thousands per second). */
function timestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastTimestamp = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return lastTimestamp;
}

function warningHeaders(unknownFields: string[]): Record<string, string> | undefined {
  if (unknownFields.length === 0) return undefined;
  return { Warning: unknownFields.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

function json(status: number, value: unknown, headers?: Record<string, string>): ApiResponse {
  return { status, body: JSON.stringify(value), ...(headers ? { headers } : {}) };
}

function meta(obj: KubeObject): Record<string, unknown> {
  return obj.metadata;
}

export class ResourceApi {
  constructor(private readonly ctx: ApiContext) {}

  handle(verb: Exclude<Verb, 'watch'>, req: ApiRequest): ApiResponse {
    switch (verb) {
      case 'get':
        return this.get(req);
      case 'list':
        return this.list(req);
      case 'create':
        return this.create(req);
      case 'update':
        return this.update(req);
      case 'patch':
        return this.patch(req);
      case 'delete':
        return this.delete(req);
    }
  }

  private get({ target, query, accept }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    const name = target.name as string;
    this.ctx.authz.check(def, 'get', namespace, name);
    const stored = this.ctx.store.get(def, namespace, name);
    if (!stored) throw notFound(def, name);
    switch (negotiate(accept, 'get')) {
      case 'object':
        return { status: 200, body: stored.json() };
      case 'metadata':
        return { status: 200, body: stored.metadataJson() };
      case 'table':
        return {
          status: 200,
          body: tableJson(def.kind, [stored], { resourceVersion: String(stored.rv) }, includeObject(query), this.ctx.now()),
        };
    }
  }

  private list({ target, query, accept }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    this.ctx.authz.check(def, 'list', namespace, undefined);
    const representation = negotiate(accept, 'list');
    const listQuery = parseListQuery(def, query);
    const limitText = query.get('limit');
    const limit = limitText === null || limitText === '' ? 0 : Number(limitText);
    if (!Number.isSafeInteger(limit) || limit < 0) throw badRequest(`limit: Invalid value: "${limitText}": must be a non-negative integer`);
    const listId = `${def.resource}/${namespace ?? ''}`;
    const continueToken = query.get('continue');
    const position = continueToken ? this.ctx.tokens.resume(listId, continueToken) : undefined;
    const rv = position?.rv ?? this.ctx.store.resourceVersion;
    const filtered = listQuery.labels.length > 0 || listQuery.fields.length > 0;
    const page = this.ctx.store.list(def, {
      ...(namespace !== undefined ? { namespace } : {}),
      ...(position ? { afterKey: position.afterKey } : {}),
      limit,
      ...(filtered ? { filter: (s: StoredObject) => matchesListQuery(listQuery, s) } : {}),
    });
    const listMeta: Record<string, unknown> = { resourceVersion: String(rv) };
    if (page.continueKey !== undefined) {
      listMeta['continue'] = this.ctx.tokens.issue(listId, rv, page.continueKey);
      if (page.remaining !== undefined) listMeta['remainingItemCount'] = page.remaining;
    }
    if (representation === 'table') {
      return { status: 200, body: tableJson(def.kind, page.items, listMeta, includeObject(query), this.ctx.now()) };
    }
    const metadataOnly = representation === 'metadata';
    const head = JSON.stringify({
      kind: metadataOnly ? 'PartialObjectMetadataList' : `${def.kind}List`,
      apiVersion: metadataOnly ? 'meta.k8s.io/v1' : apiVersionOf(def),
      metadata: listMeta,
    });
    const items = page.items.map((s) => (metadataOnly ? s.metadataJson() : s.json()));
    return { status: 200, body: `${head.slice(0, -1)},"items":[${items.join(',')}]}` };
  }

  private create({ target, query, body, contentType }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    // As with RBAC, a create is authorized on the collection, before the body is read.
    this.ctx.authz.check(def, 'create', namespace, undefined);
    const dryRun = isDryRun(query);
    const decoded = decodeObject(def, parseObjectBody(def, body, contentType, 'create'), fieldValidation(query));
    checkTypeMeta(def, decoded.obj);
    const obj = this.prepareNew(def, decoded.obj, namespace);
    this.checkCreatable(def, obj);
    if (dryRun) return json(201, obj, warningHeaders(decoded.unknownFields));
    const stored = this.ctx.store.create(def, obj);
    return { status: 201, body: stored.json(), ...optionalHeaders(warningHeaders(decoded.unknownFields)) };
  }

  private update({ target, query, body, contentType }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    const name = target.name as string;
    const dryRun = isDryRun(query);
    this.ctx.authz.check(def, 'update', namespace, name);
    const decoded = decodeObject(def, parseObjectBody(def, body, contentType, 'update'), fieldValidation(query));
    checkTypeMeta(def, decoded.obj);
    const bodyName = meta(decoded.obj)['name'];
    if (bodyName !== name) {
      throw badRequest(`the name of the object (${String(bodyName ?? '')}) does not match the name on the URL (${name})`);
    }
    const existing = this.ctx.store.get(def, namespace, name);
    if (!existing) throw notFound(def, name);
    return this.write(def, decoded.obj, existing, namespace, dryRun, decoded.unknownFields);
  }

  private patch({ target, query, body, contentType }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    const name = target.name as string;
    const dryRun = isDryRun(query);
    this.ctx.authz.check(def, 'patch', namespace, name);
    const patchType = PATCH_CONTENT_TYPES[(contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''];
    if (!patchType) throw unsupportedMediaType(Object.keys(PATCH_CONTENT_TYPES));
    const patchBody = parseJson(body, 'patch');
    const existing = this.ctx.store.get(def, namespace, name);
    if (!existing) throw notFound(def, name);
    let patched: unknown;
    try {
      patched = applyPatch(patchType, existing.copy(), patchBody);
    } catch (err) {
      if (err instanceof PatchDecodeError) throw badRequest(err.message);
      if (err instanceof PatchApplyError) throw unprocessablePatch(err.message);
      throw err;
    }
    const decoded = decodeObject(def, patched, fieldValidation(query));
    if (meta(decoded.obj)['name'] !== name) {
      throw invalid(def.kind, def.group, name, [{ reason: 'FieldValueInvalid', message: 'Invalid value: field is immutable', field: 'metadata.name' }]);
    }
    return this.write(def, decoded.obj, existing, namespace, dryRun, decoded.unknownFields);
  }

  /** The shared end of update and patch: preconditions, validation, and a write only if something changed. */
  private write(
    def: ResourceDef,
    obj: KubeObject,
    existing: StoredObject,
    namespace: string | undefined,
    dryRun: boolean,
    unknownFields: string[],
  ): ApiResponse {
    const m = meta(obj);
    const old = existing.obj;
    if (def.namespaced) {
      if (m['namespace'] !== undefined && m['namespace'] !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      m['namespace'] = namespace;
    } else {
      delete m['namespace'];
    }
    const uid = m['uid'];
    if (uid !== undefined && uid !== '' && uid !== meta(old)['uid']) {
      throw conflict(def, existing.name, `Precondition failed: UID in precondition: ${String(uid)}, UID in object meta: ${String(meta(old)['uid'])}`);
    }
    const rv = m['resourceVersion'];
    if (rv !== undefined && rv !== '' && rv !== String(existing.rv)) throw conflict(def, existing.name, STALE_OBJECT);
    m['uid'] = meta(old)['uid'];
    m['creationTimestamp'] = meta(old)['creationTimestamp'];
    m['resourceVersion'] = String(existing.rv);
    if (meta(old)['generateName'] !== undefined) m['generateName'] = meta(old)['generateName'];
    else delete m['generateName'];
    delete m['managedFields'];
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    if (def === NAMESPACES) obj['status'] = old['status'];
    const causes = validateObject(def, obj, old);
    if (causes.length > 0) throw invalid(def.kind, def.group, existing.name, causes);
    const headers = optionalHeaders(warningHeaders(unknownFields));
    if (deepEqual(obj, old)) return { status: 200, body: existing.json(), ...headers };
    if (dryRun) return { status: 200, body: JSON.stringify(obj), ...headers };
    const stored = this.ctx.store.update(def, inWireOrder(obj), existing);
    return { status: 200, body: stored.json(), ...headers };
  }

  private delete({ target, query, body }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    const name = target.name as string;
    let dryRun = isDryRun(query);
    this.ctx.authz.check(def, 'delete', namespace, name);
    const options = body && body.length > 0 ? (parseJson(body, 'delete') as Record<string, unknown> | null) : undefined;
    if (Array.isArray(options?.['dryRun']) && options['dryRun'].includes('All')) dryRun = true;
    const existing = this.ctx.store.get(def, namespace, name);
    if (!existing) throw notFound(def, name);
    const pre = (options?.['preconditions'] ?? {}) as { uid?: unknown; resourceVersion?: unknown };
    const uid = meta(existing.obj)['uid'];
    if (pre.uid !== undefined && pre.uid !== null && pre.uid !== uid) {
      throw conflict(def, name, `Precondition failed: UID in precondition: ${String(pre.uid)}, UID in object meta: ${String(uid)}`);
    }
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== null && pre.resourceVersion !== String(existing.rv)) {
      throw conflict(
        def,
        name,
        `Precondition failed: ResourceVersion in precondition: ${String(pre.resourceVersion)}, ResourceVersion in object meta: ${existing.rv}`,
      );
    }
    if (def === NAMESPACES) return this.deleteNamespace(existing, dryRun);
    if (!dryRun) this.ctx.store.delete(def, existing);
    return json(200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, ...(def.group ? { group: def.group } : {}), kind: def.resource, uid },
    });
  }

  /** Deletes a namespace and everything in it at once; the answer shows it Terminating, as the real one does. */
  private deleteNamespace(existing: StoredObject, dryRun: boolean): ApiResponse {
    if (PROTECTED_NAMESPACES.includes(existing.name)) {
      throw forbidden(NAMESPACES, existing.name, 'this namespace may not be deleted');
    }
    const obj = existing.copy();
    meta(obj)['deletionTimestamp'] = timestamp(this.ctx.now());
    obj['status'] = { phase: 'Terminating' };
    if (!dryRun) {
      for (const s of this.ctx.store.objectsInNamespace(NAMESPACED, existing.name)) this.ctx.store.delete(s.def, s);
      this.ctx.store.delete(NAMESPACES, existing);
    }
    return json(200, obj);
  }

  /** Fills in what the server owns on a new object (uid, creationTimestamp, generated name); throws 400/422. */
  prepareNew(def: ResourceDef, obj: KubeObject, urlNamespace: string | undefined): KubeObject {
    const m = meta(obj);
    if (def.namespaced) {
      if (m['namespace'] !== undefined && m['namespace'] !== '' && m['namespace'] !== urlNamespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      m['namespace'] = urlNamespace;
    } else {
      delete m['namespace'];
    }
    if (!m['name'] && typeof m['generateName'] === 'string' && m['generateName'] !== '') {
      m['name'] = m['generateName'] + this.randomSuffix();
    }
    if (m['resourceVersion'] !== undefined && m['resourceVersion'] !== '') {
      throw internalError('resourceVersion should not be set on objects to be created');
    }
    delete m['resourceVersion'];
    delete m['managedFields'];
    delete m['deletionTimestamp'];
    m['uid'] = randomUUID();
    m['creationTimestamp'] = timestamp(this.ctx.now());
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    if (def === NAMESPACES) {
      obj['spec'] = { finalizers: ['kubernetes'] };
      obj['status'] = { phase: 'Active' };
    }
    const causes = validateObject(def, obj);
    if (causes.length > 0) throw invalid(def.kind, def.group, String(m['name'] ?? ''), causes);
    return inWireOrder(obj);
  }

  /** 404 if the namespace is missing, 409 if the object exists. */
  checkCreatable(def: ResourceDef, obj: KubeObject): void {
    const namespace = obj.metadata.namespace;
    if (def.namespaced && !this.ctx.store.get(NAMESPACES, undefined, namespace as string)) {
      throw notFound(NAMESPACES, namespace as string);
    }
    if (this.ctx.store.get(def, namespace, obj.metadata.name as string)) throw alreadyExists(def, obj.metadata.name as string);
  }

  /** Validates and stores many objects in one go, creating missing namespaces (test and benchmark seeding). */
  seed(objects: readonly KubeObject[]): StoredObject[] {
    const batch: { def: ResourceDef; obj: KubeObject }[] = [];
    const keys = new Set<string>();
    const newNamespaces = new Set<string>();
    for (const raw of objects) {
      const def = findKind(raw.apiVersion ?? 'v1', raw.kind ?? 'ConfigMap');
      if (!def) throw badRequest(`no kind "${raw.kind}" is served for version "${raw.apiVersion}"`);
      const decoded = decodeObject(def, cloneJson(raw), 'Ignore');
      // Seeds are often copies of listed objects: what the server assigns is assigned afresh.
      delete decoded.obj.metadata['resourceVersion'];
      const obj = this.prepareNew(def, decoded.obj, def.namespaced ? (raw.metadata.namespace ?? 'default') : undefined);
      const name = obj.metadata.name as string;
      const key = `${def.resource}/${obj.metadata.namespace ?? ''}/${name}`;
      if (keys.has(key) || this.ctx.store.get(def, obj.metadata.namespace, name)) throw alreadyExists(def, name);
      keys.add(key);
      const ns = obj.metadata.namespace;
      if (def === NAMESPACES) newNamespaces.delete(name);
      else if (ns !== undefined && !this.ctx.store.get(NAMESPACES, undefined, ns) && !keys.has(`namespaces//${ns}`)) newNamespaces.add(ns);
      batch.push({ def, obj });
    }
    const namespaces = [...newNamespaces].map((name) => ({
      def: NAMESPACES,
      obj: this.prepareNew(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, undefined),
    }));
    return this.ctx.store.bulkCreate([...namespaces, ...batch]);
  }

  private randomSuffix(): string {
    let s = '';
    for (let i = 0; i < 5; i++) s += GENERATE_NAME_ALPHABET[Math.floor(this.ctx.random() * GENERATE_NAME_ALPHABET.length)];
    return s;
  }
}

/** A deep copy of a JSON value that shares its strings (immutable), unlike structuredClone which copies them. */
function cloneJson<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k in value) out[k] = cloneJson((value as Record<string, unknown>)[k]);
    return out as T;
  }
  return value;
}

const META_ORDER = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp'];

/** The field order the real server writes (type, then identity, then the rest), for readable output. */
function inWireOrder(obj: KubeObject): KubeObject {
  const m: Record<string, unknown> = {};
  for (const k of META_ORDER) if (obj.metadata[k] !== undefined) m[k] = obj.metadata[k];
  const { apiVersion, kind, metadata, ...rest } = obj;
  return { apiVersion, kind, metadata: { ...m, ...metadata } as KubeObject['metadata'], ...rest };
}

function includeObject(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject') ?? 'Metadata';
  if (v !== 'None' && v !== 'Object' && v !== 'Metadata') throw badRequest(`includeObject: Unsupported value: "${v}"`);
  return v;
}

function optionalHeaders(headers: Record<string, string> | undefined): { headers?: Record<string, string> } {
  return headers ? { headers } : {};
}

function checkTypeMeta(def: ResourceDef, obj: KubeObject): void {
  if (obj.apiVersion !== undefined && obj.apiVersion !== '' && obj.apiVersion !== apiVersionOf(def)) {
    throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(def)})`);
  }
  if (obj.kind !== undefined && obj.kind !== '' && obj.kind !== def.kind) {
    throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: the kind in the data (${obj.kind}) does not match the expected kind (${def.kind})`);
  }
}

