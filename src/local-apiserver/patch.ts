// The patch types kube-apiserver accepts, applied with the semantics of the libraries it uses and
// failing with their answers: JSON patch (evanphx/json-patch v4: a replace of a missing key adds
// it, a failed test is a bare 422), JSON merge patch (RFC 7386), strategic merge patch
// (k8s.io/apimachinery strategicpatch: lists merged by their patch strategy, new entries first,
// the $patch, $retainKeys, $deleteFromPrimitiveList and $setElementOrder directives), and
// server-side apply.

import { jsonKind } from './go-json-syntax.js';
import { GoDecodeFailure, parseGoJson, yamlToJson } from './request-body.js';
import type { FieldValidation } from './write-options.js';
import { badRequest, requestEntityTooLarge, unclassifiedError, unprocessableEntity, unsupportedMediaType, unsupportedPatchMediaType } from './status.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

const PATCH_TYPES: Readonly<Record<string, PatchType>> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

/**
 * The patch type of a PATCH's Content-Type. The route consumes only patch types (go-restful's 415
 * for anything else, plain application/json included); the handler then takes the header up to
 * its first ";" as the type.
 */
export function patchTypeOf(contentType: string | undefined): PatchType {
  const offered = (contentType ?? '').split(',').map((t) => (t.split(';')[0] ?? '').trim());
  if (!offered.some((t) => t in PATCH_TYPES)) throw unsupportedPatchMediaType();
  const type = PATCH_TYPES[(contentType ?? '').split(';')[0] as string];
  if (!type) throw unsupportedMediaType(Object.keys(PATCH_TYPES));
  return type;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON values. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** What a patch gives: the patched object (as JSON) and strict decoding errors of the patch itself. */
export interface Patched {
  doc: unknown;
  strictErrors: string[];
}

/** The patch body as JSON: Go's syntax errors, prefixed as the handler prefixes them. */
function patchJson(body: Buffer, prefix: string): unknown {
  try {
    return parseGoJson(body);
  } catch (err) {
    if (err instanceof GoDecodeFailure) throw badRequest(`${prefix}${err.message}`);
    throw err;
  }
}

// ---- JSON patch -------------------------------------------------------------------------------

const MAX_JSON_PATCH_OPERATIONS = 10000;

/** A JSON patch that does not apply; the server answers it with a bare 422 (the reason is not shown). */
class NotApplicable extends Error {}

/** Go's strconv.Atoi. */
function atoi(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

type Container = JsonObject | Json[];

function decodeKey(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * json-patch v4's findObject: the container and key a path names. The first segment is skipped
 * unchecked (a path without a leading "/" still works), and a missing step fails.
 */
function findObject(doc: Container, path: string): [Container, string] {
  const split = path.split('/');
  if (split.length < 2) throw new NotApplicable();
  let node: Container = doc;
  for (const part of split.slice(1, -1)) {
    const next = get(node, decodeKey(part));
    if (next === undefined || next === null || typeof next !== 'object') throw new NotApplicable();
    node = next;
  }
  return [node, decodeKey(split[split.length - 1] as string)];
}

/** A container's element: undefined for a missing object key; throws for an array index out of range. */
function get(c: Container, key: string): Json | undefined {
  if (!Array.isArray(c)) return Object.hasOwn(c, key) ? c[key] : undefined;
  return c[arrayIndex(c, key, c.length)];
}

/** An index into an array of `length` (json-patch v4 allows negative indices from the end). */
function arrayIndex(c: Json[], key: string, length: number): number {
  const idx = atoi(key);
  if (idx === undefined || idx >= length || idx < -length) throw new NotApplicable();
  return idx < 0 ? idx + length : idx;
}

function add(c: Container, key: string, value: Json): void {
  if (!Array.isArray(c)) {
    c[key] = value;
    return;
  }
  if (key === '-') {
    c.push(value);
    return;
  }
  c.splice(arrayIndex(c, key, c.length + 1), 0, value);
}

function remove(c: Container, key: string): Json {
  if (!Array.isArray(c)) {
    if (!Object.hasOwn(c, key)) throw new NotApplicable();
    const old = c[key] as Json;
    delete c[key];
    return old;
  }
  return c.splice(arrayIndex(c, key, c.length), 1)[0] as Json;
}

interface PatchOp {
  op?: unknown;
  path?: unknown;
  from?: unknown;
  value?: unknown;
}

function pathOf(op: PatchOp, field: 'path' | 'from'): string {
  if (typeof op[field] !== 'string') throw new NotApplicable();
  return op[field];
}

function applyOp(doc: Container, op: PatchOp): Container {
  const value = (op.value ?? null) as Json;
  switch (op.op) {
    case 'add': {
      const [c, key] = findObject(doc, pathOf(op, 'path'));
      add(c, key, structuredClone(value));
      return doc;
    }
    case 'remove': {
      const [c, key] = findObject(doc, pathOf(op, 'path'));
      remove(c, key);
      return doc;
    }
    case 'replace': {
      const path = pathOf(op, 'path');
      if (path === '') {
        if (typeof value !== 'object' || value === null) throw new NotApplicable();
        return structuredClone(value);
      }
      const [c, key] = findObject(doc, path);
      // An object takes a replace of a key it does not have (v4 checks arrays only).
      if (Array.isArray(c)) c[arrayIndex(c, key, c.length)] = structuredClone(value);
      else c[key] = structuredClone(value);
      return doc;
    }
    case 'move': {
      const [from, fromKey] = findObject(doc, pathOf(op, 'from'));
      const moved = remove(from, fromKey);
      const [c, key] = findObject(doc, pathOf(op, 'path'));
      add(c, key, moved);
      return doc;
    }
    case 'copy': {
      const [from, fromKey] = findObject(doc, pathOf(op, 'from'));
      const copied = get(from, fromKey);
      if (copied === undefined) throw new NotApplicable();
      const [c, key] = findObject(doc, pathOf(op, 'path'));
      add(c, key, structuredClone(copied));
      return doc;
    }
    case 'test': {
      const path = pathOf(op, 'path');
      const actual = path === '' ? doc : get(...findObject(doc, path));
      // A missing key and a null value are the same to v4, and both pass a test for null.
      if ((actual ?? null) === null ? value !== null : !deepEqual(actual, value)) throw new NotApplicable();
      return doc;
    }
    default:
      throw new NotApplicable();
  }
}

const JSON_PATCH_OP_FIELDS = ['op', 'path', 'from', 'value'];

/**
 * The handler's strict read of a JSON patch into []jsonPatchOp (with fieldValidation Warn or
 * Strict): type errors are a 400, unknown fields strict errors ("json patch unknown field "[0].x"").
 */
function strictJsonPatchOps(ops: unknown): string[] {
  const fail = (why: string) => badRequest(`error decoding patch: ${why}`);
  if (ops === null) return [];
  if (!Array.isArray(ops)) throw fail(`json: cannot unmarshal ${jsonKind(ops)} into Go value of type []handlers.jsonPatchOp`);
  const strict: string[] = [];
  let typeError: string | undefined;
  ops.forEach((op, i) => {
    if (op === null) return;
    if (!isObject(op)) {
      typeError ??= `json: cannot unmarshal ${jsonKind(op)} into Go value of type handlers.jsonPatchOp`;
      return;
    }
    for (const [k, v] of Object.entries(op)) {
      if (!JSON_PATCH_OP_FIELDS.includes(k)) strict.push(`json patch unknown field "[${i}].${k}"`);
      else if (k !== 'value' && v !== null && typeof v !== 'string') {
        typeError ??= `json: cannot unmarshal ${jsonKind(v)} into Go struct field jsonPatchOp.${k} of type string`;
      }
    }
  });
  if (typeError !== undefined) throw fail(typeError);
  return strict;
}

/** Applies an RFC 6902 patch to `doc` (a copy the caller owns), as json-patch v4 applies it. */
export function jsonPatch(doc: unknown, body: Buffer, fieldValidation: FieldValidation): Patched {
  const strict = fieldValidation !== 'Ignore';
  const ops = patchJson(body, strict ? 'error decoding patch: ' : '');
  const strictErrors = strict ? strictJsonPatchOps(ops) : [];
  if (ops !== null && !Array.isArray(ops)) throw badRequest(`json: cannot unmarshal ${jsonKind(ops)} into Go value of type jsonpatch.Patch`);
  const list = (ops ?? []) as unknown[];
  for (const op of list) {
    if (op !== null && !isObject(op)) throw badRequest(`json: cannot unmarshal ${jsonKind(op)} into Go value of type jsonpatch.Operation`);
  }
  if (list.length > MAX_JSON_PATCH_OPERATIONS) {
    throw requestEntityTooLarge(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${list.length}`);
  }
  let out = doc as Container;
  try {
    for (const op of list) out = applyOp(out, (op ?? {}) as PatchOp);
  } catch (err) {
    if (err instanceof NotApplicable) throw unprocessableEntity();
    throw err;
  }
  return { doc: out, strictErrors };
}

// ---- JSON merge patch -------------------------------------------------------------------------

/** json-patch v4's pruneNulls: null members of objects dropped, at any depth (arrays keep theirs). */
function pruneNulls(v: Json): Json {
  if (Array.isArray(v)) return v.map((x) => (isObject(x) || Array.isArray(x) ? pruneNulls(x) : x));
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = pruneNulls(x);
  return out;
}

function mergeDocs(doc: JsonObject, patch: JsonObject): JsonObject {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete doc[k];
    else if (isObject(doc[k]) && isObject(v)) doc[k] = mergeDocs(doc[k] as JsonObject, v);
    else doc[k] = pruneNulls(v);
  }
  return doc;
}

/** Applies a JSON merge patch (RFC 7386) to `doc` (a copy the caller owns), as json-patch v4's MergePatch does. */
export function mergePatch(doc: unknown, body: Buffer, fieldValidation: FieldValidation): Patched {
  const badPatch = () => badRequest('Invalid JSON Patch');
  let patch: unknown;
  if (fieldValidation !== 'Ignore') {
    patch = patchJson(body, 'error decoding patch: ');
    if (patch !== null && !isObject(patch)) {
      throw badRequest(`error decoding patch: json: cannot unmarshal ${jsonKind(patch)} into Go value of type map[string]interface {}`);
    }
  } else {
    try {
      patch = parseGoJson(body);
    } catch (err) {
      if (err instanceof GoDecodeFailure) throw badPatch();
      throw err;
    }
  }
  if (patch === null) throw badPatch();
  // A patch that is no object replaces the document (an array, nulls pruned); a scalar is refused.
  if (Array.isArray(patch)) return { doc: pruneNulls(patch as Json), strictErrors: [] };
  if (!isObject(patch)) throw badPatch();
  return { doc: isObject(doc) ? mergeDocs(doc, patch) : pruneNulls(patch), strictErrors: [] };
}

// ---- Strategic merge patch --------------------------------------------------------------------

/** A list's patch strategy, from the Go struct tags of the served kinds (patchStrategy, patchMergeKey). */
interface ListStrategy {
  mergeKey: string | null;
}

/** The lists that merge instead of being replaced, by their path from the object root. */
const MERGING_LISTS: Readonly<Record<string, ListStrategy>> = {
  'metadata.finalizers': { mergeKey: null },
  'metadata.ownerReferences': { mergeKey: 'uid' },
  'status.conditions': { mergeKey: 'type' },
};

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';
const SET_ELEMENT_ORDER = '$setElementOrder/';

/** Go's fmt %v of a decoded JSON value, as strategicpatch's errors print maps: map[a:1 b:[x y]]. */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (isObject(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goFormat(v[k])}`)
      .join(' ')}]`;
  return String(v);
}

/** Strategic merge patch failures: some are 400s, the server answers others (wrongly) as 500s. */
const badPatchFormat = (what: string) => badRequest(`invalid patch format of ${what}`);

function discardNulls(v: Json): Json {
  if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (x === null) delete v[k];
      else discardNulls(x);
    }
  } else if (Array.isArray(v)) {
    for (const x of v) discardNulls(x);
  }
  return v;
}

function sameKind(a: Json | undefined, b: Json): boolean {
  return Array.isArray(a) ? Array.isArray(b) : isObject(a) ? isObject(b) : typeof a === typeof b && a !== null && b !== null;
}

function indexIn(list: readonly Json[], item: Json, mergeKey: string | null): number {
  return list.findIndex((x) => (mergeKey === null ? deepEqual(x, item) : isObject(x) && isObject(item) && deepEqual(x[mergeKey], item[mergeKey])));
}

/** strategicpatch's mergeSortedSlice: server-only items placed among the patch's by their live order. */
function mergeSorted(serverOnly: Json[], patchItems: Json[], serverOrder: readonly Json[], mergeKey: string | null): Json[] {
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    if (i >= serverOnly.length) out.push(patchItems[j++] as Json);
    else if (j >= patchItems.length) out.push(serverOnly[i++] as Json);
    else {
      const li = indexIn(serverOrder, serverOnly[i] as Json, mergeKey);
      const ri = indexIn(serverOrder, patchItems[j] as Json, mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++] as Json);
      else out.push(patchItems[j++] as Json);
    }
  }
  return out;
}

/** The order strategicpatch leaves a merged list in: patch items in patch order, new ones before the live ones. */
function normalizeOrder(merged: Json[], patchOrder: readonly Json[], serverOrder: readonly Json[], mergeKey: string | null): Json[] {
  const byOrder = (order: readonly Json[]) => (a: Json, b: Json) => indexIn(order, a, mergeKey) - indexIn(order, b, mergeKey);
  const inPatch = merged.filter((x) => indexIn(patchOrder, x, mergeKey) >= 0).sort(byOrder(patchOrder));
  const serverOnly = merged.filter((x) => indexIn(patchOrder, x, mergeKey) < 0).sort(byOrder(serverOrder));
  return mergeSorted(serverOnly, inPatch, serverOrder, mergeKey);
}

function mergeList(original: Json[], patch: Json[], strategy: ListStrategy, path: string, deleteList: boolean): Json[] {
  const { mergeKey } = strategy;
  if (mergeKey === null) {
    if (patch.some((x) => isObject(x) || Array.isArray(x)) || original.some((x) => isObject(x) || Array.isArray(x))) {
      throw unclassifiedError(`lists of primitives and maps cannot be mixed in ${path}`);
    }
    if (deleteList) return original.filter((x) => indexIn(patch, x, null) < 0);
    const merged: Json[] = [];
    for (const x of [...original, ...patch]) if (indexIn(merged, x, null) < 0) merged.push(x);
    return normalizeOrder(merged, patch, original, null);
  }
  let live = original;
  const items: Json[] = [];
  let replace = false;
  for (const item of patch) {
    if (!isObject(item)) throw unclassifiedError(`unable to find api field in struct for the json field ${goFormat(item)}`);
    const directive = item[DIRECTIVE];
    if (directive === undefined) items.push(item);
    else if (directive === 'delete') {
      if (!(mergeKey in item)) throw unclassifiedError(`map: ${goFormat(item)} does not contain declared merge key: ${mergeKey}`);
      live = live.filter((x) => !(isObject(x) && deepEqual(x[mergeKey], item[mergeKey])));
    } else if (directive === 'replace') replace = true;
    else if (directive === 'merge') throw unclassifiedError('merging lists cannot yet be specified in the patch');
    else throw unclassifiedError(`Unknown patch type: ${String(directive)} in map: ${goFormat(item)}`);
  }
  if (replace) return items;
  const merged = [...live];
  for (const item of items as JsonObject[]) {
    if (!(mergeKey in item)) throw unclassifiedError(`map: ${goFormat(item)} does not contain declared merge key: ${mergeKey}`);
    const i = indexIn(merged, item, mergeKey);
    if (i >= 0) merged[i] = mergeMap(merged[i] as JsonObject, item, `${path}[]`);
    else merged.push(item);
  }
  return normalizeOrder(merged, items, original, mergeKey);
}

function mergeMap(original: JsonObject | undefined, patch: JsonObject, path: string): JsonObject {
  const directive = patch[DIRECTIVE];
  if (directive !== undefined) {
    if (directive === 'replace') {
      const { [DIRECTIVE]: _directive, ...rest } = patch;
      return rest;
    }
    if (directive === 'delete') return {};
    throw unclassifiedError(`Unknown patch type: ${String(directive)} in map: ${goFormat(patch)}`);
  }
  const doc: JsonObject = { ...(original ?? {}) };
  const entries = { ...patch };
  if (RETAIN_KEYS in entries) {
    const retain = entries[RETAIN_KEYS];
    delete entries[RETAIN_KEYS];
    if (retain !== null && !Array.isArray(retain)) throw badPatchFormat('retainKeys');
    const keep = (retain ?? []) as Json[];
    for (const [k, v] of Object.entries(entries)) {
      if (v !== null && !k.startsWith(DELETE_FROM_PRIMITIVE_LIST) && !k.startsWith(SET_ELEMENT_ORDER) && !keep.includes(k)) throw badPatchFormat('retainKeys');
    }
    for (const k of Object.keys(doc)) if (!keep.includes(k)) delete doc[k];
  }
  const orders: Record<string, Json[]> = {};
  for (const k of Object.keys(entries)) {
    if (!k.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = entries[k];
    if (!Array.isArray(order)) throw badPatchFormat('setElementOrder list');
    orders[k.slice(SET_ELEMENT_ORDER.length)] = order;
    delete entries[k];
  }
  for (const [rawKey, v] of Object.entries(entries)) {
    const deleteList = rawKey.startsWith(DELETE_FROM_PRIMITIVE_LIST);
    const k = deleteList ? rawKey.slice(DELETE_FROM_PRIMITIVE_LIST.length) : rawKey;
    const childPath = path ? `${path}.${k}` : k;
    if (v === null) {
      delete doc[k];
      continue;
    }
    const current = doc[k];
    if (current === undefined || !sameKind(current, v)) {
      if (!deleteList) doc[k] = discardNulls(structuredClone(v));
      continue;
    }
    if (isObject(current) && isObject(v)) doc[k] = mergeMap(current, v, childPath);
    else if (Array.isArray(current) && Array.isArray(v)) {
      const strategy = MERGING_LISTS[childPath];
      doc[k] = strategy ? mergeList(current, v, strategy, childPath, deleteList) : v;
    } else doc[k] = v;
  }
  for (const [k, order] of Object.entries(orders)) {
    const strategy = MERGING_LISTS[path ? `${path}.${k}` : k];
    const list = doc[k];
    if (strategy && Array.isArray(list)) doc[k] = normalizeOrder(list, order, list, strategy.mergeKey);
  }
  return doc;
}

/** Applies a strategic merge patch to `doc` (the object as JSON), as the server does for the served kinds. */
export function strategicMergePatch(doc: unknown, body: Buffer): Patched {
  const patch = patchJson(body, '');
  if (patch !== null && !isObject(patch)) {
    throw badRequest(`json: cannot unmarshal ${jsonKind(patch)} into Go value of type map[string]interface {}`);
  }
  if (patch === null) return { doc, strictErrors: [] };
  return { doc: mergeMap(doc as JsonObject, patch, ''), strictErrors: [] };
}

// ---- Server-side apply ------------------------------------------------------------------------

/**
 * Server-side apply, without field management: the server here records no managedFields (they
 * are not part of what clients compare), so apply is "create the object, or merge the applied
 * configuration into it" as a strategic merge of the configuration would. What a real server does
 * beyond that (removing fields this manager applied before and no longer does, conflicts with
 * other managers) is not done.
 */
export function applyPatch(doc: unknown, body: Buffer, apiVersion: string): unknown {
  let applied: unknown;
  try {
    applied = JSON.parse(yamlToJson(body.toString('utf8')));
  } catch (err) {
    if (err instanceof GoDecodeFailure) throw badRequest(`error decoding patch: ${err.message}`);
    throw err;
  }
  if (applied !== null && !isObject(applied)) {
    throw badRequest(`error decoding patch: json: cannot unmarshal ${jsonKind(applied)} into Go value of type map[string]interface {}`);
  }
  const config = (applied ?? {}) as JsonObject;
  const version = typeof config['apiVersion'] === 'string' ? config['apiVersion'] : '';
  if (version !== apiVersion) {
    throw badRequest(`Incorrect version specified in apply patch. Specified patch version: ${version}, expected: ${apiVersion}`);
  }
  return mergeMap((doc ?? {}) as JsonObject, discardNulls(config) as JsonObject, '');
}
