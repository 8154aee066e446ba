// The resource verbs with the API server's semantics: preconditions and conflicts, validation,
// dry runs, selectors and paging, and the representation the client asked for.

import { randomUUID } from 'node:crypto';
import { negotiate } from './negotiation.js';
import type { ContinueTokens } from './paging.js';
import { applyPatch, deepEqual, jsonPatch, mergePatch, patchTypeOf, strategicMergePatch, type Patched } from './patch.js';
import { NAMESPACES, apiVersionOf, findKind, storageOf } from './resources.js';
import type { KubeObject, ResourceDef, Verb } from './resource-def.js';
import { matchesListQuery, parseListQuery, type ListQuery } from './list-query.js';
import { readDeleteOptions, type DeleteOptions } from './delete-options.js';
import { isTerminating } from './namespace-controller.js';
import { bodyMediaType } from './request-body.js';
import { decodeBody, decodePatched, decodeSeed } from './write-bodies.js';
import { readWriteOptions } from './write-options.js';
import { goQuote } from './go-json-syntax.js';
import { goTimeString } from './go-time.js';
import { STALE_OBJECT, alreadyExists, badRequest, conflict, namespaceTerminating, forbidden, invalid, notFound, storagePreconditionFailed, unclassifiedError, type StatusCause } from './status.js';
import type { Store, StoredObject } from './store.js';
import { tablePieces, type IncludeObject } from './table.js';
import { listPieces } from './list-json.js';
import type { JsonBody } from './json-response.js';
import { OBJECT_META_ORDER } from './decode.js';
import { validateObject } from './validation.js';

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
  /** Lists in pieces, serialized as they are sent. */
  body: JsonBody;
  /** Extra headers; a list is sent as one header line per value (Warning). */
  headers?: Record<string, string | string[]>;
}

export interface ApiContext {
  store: Store;
  tokens: ContinueTokens;
  now: () => number;
  random: () => number;
}

/**
 * Registry strategies that differ from the default (no create by PUT, updates without a
 * resourceVersion allowed): Leases and Events may be created by PUT, and a Lease is updated only
 * with the resourceVersion it was read at.
 */
const CREATE_ON_UPDATE = ['Lease', 'Event'];
const CONDITIONAL_UPDATES_ONLY = ['Lease'];

/** The namespaces every cluster starts with. */
export const SYSTEM_NAMESPACES: readonly string[] = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

/** Those the NamespaceLifecycle admission plugin never lets anyone delete. */
const PROTECTED_NAMESPACES: readonly string[] = ['default', 'kube-public', 'kube-system'];

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

/**
 * Warnings as the server sends them: one `Warning: 299 - "text"` header line each, in the order
 * they arose. The text is quoted as k8s.io/apimachinery's NewWarningHeader quotes it (only " and \
 * escaped) and sent as UTF-8 bytes (a latin1 string of them, as Node sends header values); line
 * breaks become spaces as Go's net/http writes them, and so do the other control characters,
 * which Node cannot send at all.
 */
function warningHeaders(warnings: readonly string[]): { headers?: Record<string, string[]> } {
  if (warnings.length === 0) return {};
  const sendable = (c: string) => (c === '\t' || (c >= ' ' && c !== '\x7f') ? c : ' ');
  const value = (text: string) => Buffer.from(`299 - "${text.replace(/["\\]/g, (c) => `\\${c}`)}"`.replace(/./gsu, sendable)).toString('latin1');
  return { headers: { Warning: warnings.map(value) } };
}

function json(status: number, value: unknown): ApiResponse {
  return { status, body: JSON.stringify(value) };
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
      case 'deletecollection':
        return this.deleteCollection(req);
    }
  }

  private get({ target, query, accept }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    const name = target.name as string;
    const stored = this.ctx.store.get(def, namespace, name);
    if (!stored) throw notFound(def, name);
    switch (negotiate(accept, 'get', def)) {
      case 'object':
        return { status: 200, body: stored.json() };
      case 'metadata':
        return { status: 200, body: stored.metadataJson() };
      case 'table':
        return {
          status: 200,
          body: tablePieces(def.kind, [stored], { resourceVersion: String(stored.rv) }, includeObject(query), this.ctx.now()),
        };
    }
  }

  private list({ target, query, accept }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    const representation = negotiate(accept, 'list', def);
    const listQuery = parseListQuery(def, query);
    const { listMeta, items } = this.selectPage(def, namespace, listQuery);
    if (representation === 'table') {
      return { status: 200, body: tablePieces(def.kind, items, listMeta, includeObject(query), this.ctx.now()) };
    }
    return { status: 200, body: listPieces(def, representation === 'metadata', listMeta, items) };
  }

  /**
   * One page of a list, as kube-apiserver pages: `limit` matching objects at most, a continue
   * token whenever the page is full and keys remain (even if none of them match), and
   * remainingItemCount only without selectors. resourceVersion=0 is served whole from the watch
   * cache, which ignores limit.
   */
  private selectPage(def: ResourceDef, namespace: string | undefined, q: ListQuery): { listMeta: Record<string, unknown>; items: StoredObject[] } {
    const fromCache = q.resourceVersion === '0' && q.continueToken === '';
    const position = q.continueToken !== '' ? this.ctx.tokens.resume(namespace, q.continueToken) : undefined;
    const rv = position?.rv ?? this.ctx.store.resourceVersion;
    const filtered = q.labels.length > 0 || q.fields.length > 0;
    const options = {
      ...(namespace !== undefined ? { namespace } : {}),
      ...(position ? { afterKey: position.afterKey } : {}),
      limit: fromCache ? 0 : q.limit,
      ...(filtered ? { filter: (s: StoredObject) => matchesListQuery(q, s) } : {}),
    };
    // Every page after the first is served at the first page's revision, as etcd serves it.
    const page = position ? this.ctx.store.listAt(def, options, rv) : this.ctx.store.list(def, options);
    if (!page) throw this.ctx.tokens.expired(q.continueToken);
    const listMeta: Record<string, unknown> = { resourceVersion: String(rv) };
    if (page.continueKey !== undefined) {
      listMeta['continue'] = this.ctx.tokens.issue(namespace, rv, page.continueKey);
      if (page.remaining !== undefined) listMeta['remainingItemCount'] = page.remaining;
    }
    return { listMeta, items: page.items };
  }

  /**
   * POST, in the real handler's order: 415 for the media type, 422 for the options, 400 for the
   * body, 400 for a namespace mismatch, then admission (404/403 for the namespace), validation
   * (422), and storage (500 for a resourceVersion, 409 AlreadyExists).
   */
  private create({ target, query, body, contentType }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    const mediaType = bodyMediaType(def, contentType);
    const options = readWriteOptions('CreateOptions', query);
    const { obj, warnings } = decodeBody(def, body, mediaType, options.fieldValidation);
    const requestedRv = meta(obj)['resourceVersion'];
    wipeSystemFields(obj);
    setRequestNamespace(def, obj, namespace);
    this.admitNamespace(def, obj);
    const prepared = this.prepareNew(def, obj, namespace);
    if (options.dryRun) {
      this.checkAbsent(def, prepared);
      // A dry run never reaches the storage layer that refuses a resourceVersion: it is answered as sent.
      if (typeof requestedRv === 'string') meta(prepared)['resourceVersion'] = requestedRv;
      return { status: 201, body: JSON.stringify(inWireOrder(prepared)), ...warningHeaders(warnings) };
    }
    // The storage layer refuses a resourceVersion it can parse and is not 0; one it cannot parse it ignores.
    if (typeof requestedRv === 'string' && /^\d+$/.test(requestedRv) && Number(requestedRv) !== 0) {
      throw unclassifiedError('resourceVersion should not be set on objects to be created');
    }
    this.checkAbsent(def, prepared);
    const stored = this.ctx.store.create(def, prepared);
    return { status: 201, body: stored.json(), ...warningHeaders(warnings) };
  }

  /**
   * PUT: 422 for the options, 415, 400 for the body, the name and the namespace, then the storage
   * layer's uid precondition (a uid in the body), 404, resourceVersion (409 when stale), and
   * validation of the change.
   */
  private update({ target, query, body, contentType }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    const name = target.name as string;
    const options = readWriteOptions('UpdateOptions', query);
    const mediaType = bodyMediaType(def, contentType);
    const { obj, warnings } = decodeBody(def, body, mediaType, options.fieldValidation);
    setRequestNamespace(def, obj, namespace);
    checkName(obj, name);
    const existing = this.ctx.store.get(def, namespace, name);
    // A uid in the body is a precondition the storage layer checks first, against nothing if the object is missing.
    const uid = meta(obj)['uid'];
    const storedUid = existing ? String(meta(existing.obj)['uid']) : '';
    if (typeof uid === 'string' && uid !== '' && uid !== storedUid) {
      const key = `/registry/${storageOf(def).resource}/${namespace !== undefined ? `${namespace}/` : ''}${name}`;
      throw storagePreconditionFailed(storageOf(def), name, key, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${storedUid}`);
    }
    if (!existing) {
      if (!CREATE_ON_UPDATE.includes(storageOf(def).kind)) throw notFound(def, name);
      const rv = meta(obj)['resourceVersion'];
      if (typeof rv === 'string') resourceVersionNumber(rv);
      return this.createInPlace(def, obj, namespace, options.dryRun, warnings);
    }
    return this.write(def, obj, existing, options.dryRun, warnings);
  }

  /**
   * PATCH: the patch type (415), 422 for the options, 404 for a missing object (apply creates it),
   * the patch itself (400 malformed, 422 not applicable), the patched object's decode (422), name
   * and namespace (400), then as an update.
   */
  private patch({ target, query, body, contentType }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    const name = target.name as string;
    const patchType = patchTypeOf(contentType);
    const options = readWriteOptions('PatchOptions', query, patchType === 'apply');
    const patchBody = body ?? Buffer.alloc(0);
    const existing = this.ctx.store.get(def, namespace, name);
    if (!existing && patchType !== 'apply') throw notFound(def, name);
    const current = existing?.copy();
    let patched: Patched;
    switch (patchType) {
      case 'json':
        patched = jsonPatch(current, patchBody, options.fieldValidation);
        break;
      case 'merge':
        patched = mergePatch(current, patchBody, options.fieldValidation);
        break;
      case 'strategic':
        patched = strategicMergePatch(current, patchBody);
        break;
      case 'apply':
        patched = { doc: applyPatch(current, patchBody, apiVersionOf(def)), strictErrors: [] };
        break;
    }
    const { obj, warnings } = decodePatched(def, patched, patchType, options.fieldValidation);
    setRequestNamespace(def, obj, namespace);
    checkName(obj, name);
    if (!existing) return this.createInPlace(def, obj, namespace, options.dryRun, warnings);
    return this.write(def, obj, existing, options.dryRun, warnings);
  }

  /** A PUT or server-side apply of an object that does not exist, where the kind allows it: created as by POST, answered 201. */
  private createInPlace(def: ResourceDef, obj: KubeObject, namespace: string | undefined, dryRun: boolean, warnings: string[]): ApiResponse {
    wipeSystemFields(obj);
    this.admitNamespace(def, obj);
    const prepared = this.prepareNew(def, obj, namespace);
    if (dryRun) return { status: 201, body: JSON.stringify(inWireOrder(prepared)), ...warningHeaders(warnings) };
    return { status: 201, body: this.ctx.store.create(def, prepared).json(), ...warningHeaders(warnings) };
  }

  /**
   * The shared end of update and patch, as the registry's Update: the resourceVersion precondition
   * (none means unconditional), what the server keeps from the stored object, validation of the
   * change, and a write only if something changed.
   */
  private write(def: ResourceDef, obj: KubeObject, existing: StoredObject, dryRun: boolean, warnings: string[]): ApiResponse {
    const m = meta(obj);
    const old = existing.obj;
    const oldMeta = meta(old);
    const rv = typeof m['resourceVersion'] === 'string' ? resourceVersionNumber(m['resourceVersion']) : 0;
    if (rv === 0 && CONDITIONAL_UPDATES_ONLY.includes(storageOf(def).kind)) {
      // The registry names the resource where the kind belongs: "leases.coordination.k8s.io".
      const { group, resource } = storageOf(def);
      throw invalid(resource, group, existing.name, [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update', field: 'metadata.resourceVersion' }]);
    }
    if (rv !== 0 && rv !== existing.rv) throw conflict(def, existing.name, STALE_OBJECT);
    m['resourceVersion'] = String(existing.rv);
    // BeforeUpdate: what a client cannot change is taken from the stored object.
    if (m['uid'] === undefined) m['uid'] = oldMeta['uid'];
    m['creationTimestamp'] = oldMeta['creationTimestamp'];
    if (oldMeta['deletionTimestamp'] !== undefined) m['deletionTimestamp'] = oldMeta['deletionTimestamp'];
    if (m['deletionGracePeriodSeconds'] === undefined && oldMeta['deletionGracePeriodSeconds'] !== undefined) {
      m['deletionGracePeriodSeconds'] = oldMeta['deletionGracePeriodSeconds'];
    }
    if (oldMeta['generation'] !== undefined) m['generation'] = oldMeta['generation'];
    else delete m['generation'];
    delete m['managedFields'];
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    if (def === NAMESPACES) {
      // Finalizers and status change only through their own subresources.
      const { finalizers: _asked, ...spec } = (obj['spec'] as Record<string, unknown> | undefined) ?? {};
      const finalizers = (old['spec'] as { finalizers?: unknown } | undefined)?.finalizers;
      obj['spec'] = { ...spec, ...(finalizers !== undefined ? { finalizers } : {}) };
      obj['status'] = old['status'];
      labelNamespace(obj);
    }
    const causes = [...immutableMetaCauses(m, oldMeta), ...validateObject(def, obj, old)];
    if (causes.length > 0) throw invalid(def.kind, storageOf(def).group, existing.name, causes);
    const updated = inWireOrder(obj);
    if (deepEqual(updated, old)) return { status: 200, body: existing.json(), ...warningHeaders(warnings) };
    if (dryRun) return { status: 200, body: JSON.stringify(updated), ...warningHeaders(warnings) };
    const stored = this.ctx.store.update(def, updated, existing);
    return { status: 200, body: stored.json(), ...warningHeaders(warnings) };
  }

  private delete({ target, query, body }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    const name = target.name as string;
    const options = readDeleteOptions(query, body);
    const existing = this.ctx.store.get(def, namespace, name);
    if (!existing) throw notFound(def, name);
    checkDeletePreconditions(def, existing, options.preconditions);
    if (def === NAMESPACES) return this.deleteNamespace(existing, options.dryRun);
    if (!options.dryRun) this.ctx.store.delete(def, existing);
    return json(200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, ...(def.group ? { group: def.group } : {}), kind: def.resource, uid: meta(existing.obj)['uid'] },
    });
  }

  /** DELETE on a collection: deletes what a list with the same selectors returns, and answers that list. */
  private deleteCollection({ target, query, body }: ApiRequest): ApiResponse {
    const { def, namespace } = target;
    const options = readDeleteOptions(query, body);
    const listQuery = parseListQuery(def, query);
    const { listMeta, items } = this.selectPage(def, namespace, listQuery);
    if (!options.dryRun) for (const s of items) this.ctx.store.delete(s.def, s);
    return { status: 200, body: listPieces(def, false, listMeta, items) };
  }

  /**
   * The first step of a namespace's deletion, as on a real server: it turns Terminating (new
   * creates in it are refused) and the answer shows it so; the namespace controller then deletes
   * its content and finally the namespace itself, asynchronously.
   */
  private deleteNamespace(existing: StoredObject, dryRun: boolean): ApiResponse {
    if (PROTECTED_NAMESPACES.includes(existing.name)) {
      throw forbidden(NAMESPACES, existing.name, 'this namespace may not be deleted');
    }
    if (meta(existing.obj)['deletionTimestamp'] !== undefined) {
      throw conflict(NAMESPACES, existing.name, 'The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.');
    }
    const obj = existing.copy();
    meta(obj)['deletionTimestamp'] = timestamp(this.ctx.now());
    obj['status'] = { phase: 'Terminating' };
    if (dryRun) return json(200, obj);
    return { status: 200, body: this.ctx.store.update(NAMESPACES, inWireOrder(obj), existing).json() };
  }

  /**
   * Fills in what the server owns on a new object (namespace, generated name, uid,
   * creationTimestamp, a namespace's finalizer and status) and validates it: throws 400/422.
   */
  prepareNew(def: ResourceDef, obj: KubeObject, urlNamespace: string | undefined): KubeObject {
    setRequestNamespace(def, obj, urlNamespace);
    const m = meta(obj);
    if (!m['name'] && typeof m['generateName'] === 'string' && m['generateName'] !== '') {
      // The name is the prefix, cut to leave room, and five random characters (names.SimpleNameGenerator).
      m['name'] = m['generateName'].slice(0, 58) + this.randomSuffix();
    }
    delete m['resourceVersion'];
    delete m['managedFields'];
    delete m['generation'];
    m['uid'] = randomUUID();
    m['creationTimestamp'] = timestamp(this.ctx.now());
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    if (def === NAMESPACES) {
      const finalizers = ((obj['spec'] as { finalizers?: string[] } | undefined)?.finalizers ?? []).slice();
      if (!finalizers.includes('kubernetes')) finalizers.push('kubernetes');
      obj['spec'] = { ...(obj['spec'] as object | undefined), finalizers };
      obj['status'] = { phase: 'Active' };
      labelNamespace(obj);
    }
    const causes = validateObject(def, obj);
    if (causes.length > 0) throw invalid(def.kind, storageOf(def).group, String(m['name'] ?? ''), causes);
    return inWireOrder(obj);
  }

  /** 404 if the namespace is missing, 403 if it is terminating, 409 if the object exists. */
  checkCreatable(def: ResourceDef, obj: KubeObject): void {
    this.admitNamespace(def, obj);
    this.checkAbsent(def, obj);
  }

  /** The NamespaceLifecycle admission plugin: 404 if the namespace is missing, 403 if it is terminating. */
  private admitNamespace(def: ResourceDef, obj: KubeObject): void {
    const namespace = obj.metadata.namespace;
    if (def.namespaced) {
      const ns = this.ctx.store.get(NAMESPACES, undefined, namespace as string);
      if (!ns) throw notFound(NAMESPACES, namespace as string);
      if (isTerminating(ns)) throw namespaceTerminating(def, obj.metadata.name as string, namespace as string);
    }
  }

  /** 409 AlreadyExists, noting when the existing object is being deleted (it still holds the name). */
  private checkAbsent(def: ResourceDef, obj: KubeObject): void {
    const existing = this.ctx.store.get(def, obj.metadata.namespace, obj.metadata.name as string);
    if (!existing) return;
    const err = alreadyExists(def, obj.metadata.name as string);
    if (meta(existing.obj)['deletionTimestamp'] !== undefined) err.message = `object is being deleted: ${err.message}`;
    throw err;
  }

  /** Validates and stores many objects in one go, creating missing namespaces (test and benchmark seeding). */
  seed(objects: readonly KubeObject[]): StoredObject[] {
    const batch: { def: ResourceDef; obj: KubeObject }[] = [];
    const keys = new Set<string>();
    const newNamespaces = new Set<string>();
    for (const raw of objects) {
      const def = findKind(raw.apiVersion ?? 'v1', raw.kind ?? 'ConfigMap');
      if (!def) throw badRequest(`no kind "${raw.kind}" is served for version "${raw.apiVersion}"`);
      const decoded = decodeSeed(def, cloneJson(raw));
      // Seeds are often copies of listed objects: what the server assigns is assigned afresh.
      wipeSystemFields(decoded);
      const obj = this.prepareNew(def, decoded, def.namespaced ? (raw.metadata.namespace ?? 'default') : undefined);
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

/** The field order the real server writes (type, then ObjectMeta in Go's order, then the rest), for readable output. */
function inWireOrder(obj: KubeObject): KubeObject {
  const m: Record<string, unknown> = {};
  for (const k of OBJECT_META_ORDER) if (obj.metadata[k] !== undefined) m[k] = obj.metadata[k];
  const { apiVersion, kind, metadata, ...rest } = obj;
  return { apiVersion, kind, metadata: { ...m, ...metadata } as KubeObject['metadata'], ...rest };
}

function includeObject(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject') ?? 'Metadata';
  if (v !== 'None' && v !== 'Object' && v !== 'Metadata') throw badRequest(`includeObject: Unsupported value: "${v}"`);
  return v;
}

/**
 * DeleteOptions preconditions, checked as the registry's BeforeDelete does (uid first), with its
 * words: the conflict names the kind, not the resource ("ConfigMap", "Lease.coordination.k8s.io").
 */
function checkDeletePreconditions(def: ResourceDef, existing: StoredObject, pre: DeleteOptions['preconditions']): void {
  const byKind = { group: def.group, resource: def.kind };
  const uid = String(meta(existing.obj)['uid']);
  if (pre.uid !== undefined && pre.uid !== uid) {
    throw conflict(byKind, existing.name, `the UID in the precondition (${pre.uid}) does not match the UID in record (${uid}). The object might have been deleted and then recreated`);
  }
  const rv = String(existing.rv);
  if (pre.resourceVersion !== undefined && pre.resourceVersion !== rv) {
    throw conflict(byKind, existing.name, `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${rv}). The object might have been modified`);
  }
}

/** Every namespace carries its own name as a label, set by the server on create and on every update. */
function labelNamespace(obj: KubeObject): void {
  obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name as string };
}

/** rest.WipeObjectMetaSystemFields: what only the server sets is cleared from a new object. */
function wipeSystemFields(obj: KubeObject): void {
  for (const k of ['creationTimestamp', 'uid', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink']) delete obj.metadata[k];
}

/**
 * rest.EnsureObjectNamespaceMatchesRequestNamespace: an object without a namespace takes the URL's,
 * a cluster-scoped one has none, another namespace is a 400.
 */
function setRequestNamespace(def: ResourceDef, obj: KubeObject, urlNamespace: string | undefined): void {
  const m = meta(obj);
  if (!def.namespaced) {
    delete m['namespace'];
    return;
  }
  if (m['namespace'] !== undefined && m['namespace'] !== urlNamespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  m['namespace'] = urlNamespace;
}

/** The handler's checkName: the object must carry the URL's name. */
function checkName(obj: KubeObject, name: string): void {
  const bodyName = meta(obj)['name'];
  if (bodyName === undefined) throw badRequest(`the name of the object (${name} based on URL) was undeterminable: name must be provided`);
  if (bodyName !== name) throw badRequest(`the name of the object (${String(bodyName)}) does not match the name on the URL (${name})`);
}

/** A resourceVersion as the storage layer reads it (ParseUint); what does not parse is a 500 with Go's text. */
function resourceVersionNumber(rv: string): number {
  if (rv === '') return 0;
  if (!/^\d+$/.test(rv)) throw unclassifiedError(`strconv.ParseUint: parsing ${goQuote(rv)}: invalid syntax`);
  return Number(rv);
}

/** ValidateObjectMetaUpdate: the fields no update may change, after BeforeUpdate restored what it restores. */
function immutableMetaCauses(m: Record<string, unknown>, old: Record<string, unknown>): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const k of ['uid', 'deletionTimestamp', 'deletionGracePeriodSeconds']) {
    if (m[k] !== old[k] && !(m[k] === undefined && old[k] === undefined)) {
      // Go shows the uid quoted, a time by its String(), a number as is, a nil pointer as null.
      const v = m[k];
      const shown = v === undefined ? 'null' : k === 'uid' ? goQuote(String(v)) : k === 'deletionTimestamp' ? goTimeString(v as string) : String(v);
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: field is immutable`, field: `metadata.${k}` });
    }
  }
  return causes;
}
