// The three patch types kubectl and client-node send: JSON merge patch (RFC 7386), JSON patch
// (RFC 6902) and strategic merge patch (merge patch plus list merge keys for metadata lists).

export type PatchType = 'merge' | 'json' | 'strategic';

export const PATCH_CONTENT_TYPES: Readonly<Record<string, PatchType>> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
};

/** The patch body itself is malformed (answered 400). */
export class PatchDecodeError extends Error {
  override name = 'PatchDecodeError';
}

/** The patch is well-formed but cannot be applied to this object (answered 422). */
export class PatchApplyError extends Error {
  override name = 'PatchApplyError';
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v) as Json;
  }
  return out;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchApplyError(`invalid JSON pointer: "${pointer}"`);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function decodeOps(patch: unknown): JsonPatchOp[] {
  if (!Array.isArray(patch)) throw new PatchDecodeError('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  return patch.map((raw) => {
    if (!isObject(raw) || typeof raw['op'] !== 'string' || typeof raw['path'] !== 'string') {
      throw new PatchDecodeError('invalid JSON patch operation: each needs string "op" and "path"');
    }
    return raw as unknown as JsonPatchOp;
  });
}

function arrayIndex(token: string, length: number, forAdd: boolean, path: string): number {
  if (forAdd && token === '-') return length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchApplyError(`Unable to access invalid index: ${token}: invalid index referenced: ${path}`);
  const i = Number(token);
  if (i > length || (!forAdd && i === length)) throw new PatchApplyError(`Unable to access invalid index: ${i}: invalid index referenced: ${path}`);
  return i;
}

function parentOf(doc: Json, tokens: string[], op: string, path: string): Json {
  let node: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    let next: Json | undefined;
    if (Array.isArray(node)) next = node[arrayIndex(t, node.length, false, path)];
    else if (isObject(node)) next = node[t];
    if (next === undefined || next === null || typeof next !== 'object') {
      throw new PatchApplyError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
    }
    node = next;
  }
  return node;
}

function getAt(doc: Json, path: string, op: string): Json | undefined {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) {
    if (!/^(0|[1-9]\d*)$/.test(last)) return undefined;
    return parent[Number(last)];
  }
  return isObject(parent) && Object.hasOwn(parent, last) ? parent[last] : undefined;
}

function removeAt(doc: Json, path: string, op: string): Json {
  const tokens = parsePointer(path);
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false, path);
    return parent.splice(i, 1)[0] as Json;
  }
  if (!isObject(parent) || !Object.hasOwn(parent, last)) {
    throw new PatchApplyError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  const old = parent[last] as Json;
  delete parent[last];
  return old;
}

function addAt(doc: Json, path: string, value: Json, replace: boolean, op: string): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, !replace, path);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else if (isObject(parent)) {
    if (replace && !Object.hasOwn(parent, last)) {
      throw new PatchApplyError(`replace operation does not apply: doc is missing key: ${path}: missing value`);
    }
    parent[last] = value;
  } else {
    throw new PatchApplyError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  return doc;
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

/** Applies RFC 6902 operations to `doc` (a fresh copy the caller owns) and returns the result. */
export function jsonPatch(doc: unknown, patch: unknown): unknown {
  let out = doc as Json;
  for (const op of decodeOps(patch)) {
    const value = op.value as Json;
    switch (op.op) {
      case 'add':
        if (!('value' in op)) throw new PatchDecodeError(`add operation missing value at ${op.path}`);
        out = addAt(out, op.path, structuredClone(value), false, 'add');
        break;
      case 'replace':
        if (!('value' in op)) throw new PatchDecodeError(`replace operation missing value at ${op.path}`);
        out = addAt(out, op.path, structuredClone(value), true, 'replace');
        break;
      case 'remove':
        removeAt(out, op.path, 'remove');
        break;
      case 'test': {
        const actual = getAt(out, op.path, 'test');
        const missingTestedNull = actual === undefined && (value === null || value === undefined);
        if (!missingTestedNull && !deepEqual(actual, value)) {
          throw new PatchApplyError(`testing value ${op.path} failed: test failed`);
        }
        break;
      }
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchDecodeError(`${op.op} operation missing from at ${op.path}`);
        const found = getAt(out, op.from, op.op);
        if (found === undefined) throw new PatchApplyError(`${op.op} operation does not apply: doc is missing from path: ${op.from}: missing value`);
        const moved = op.op === 'move' ? removeAt(out, op.from, 'move') : structuredClone(found);
        out = addAt(out, op.path, moved, false, op.op);
        break;
      }
      default:
        throw new PatchDecodeError(`Unexpected kind: ${op.op}`);
    }
  }
  return out;
}

/** Lists that strategic merge patch merges by a key instead of replacing, as in ObjectMeta. */
const MERGE_KEYS: Readonly<Record<string, string | null>> = {
  ownerReferences: 'uid',
  finalizers: null,
};

function strategicMap(target: unknown, patch: JsonObject, path: string): Json | undefined {
  const directive = patch['$patch'];
  if (directive === 'delete') return undefined;
  const base: JsonObject = directive === 'replace' || !isObject(target) ? {} : { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    const childPath = path ? `${path}.${k}` : k;
    if (v === null) {
      delete base[k];
    } else if (childPath === `metadata.${k}` && k in MERGE_KEYS && Array.isArray(v)) {
      base[k] = mergeList(base[k], v, MERGE_KEYS[k] ?? null);
    } else if (isObject(v)) {
      const merged = strategicMap(base[k], v, childPath);
      if (merged === undefined) delete base[k];
      else base[k] = merged;
    } else {
      base[k] = v;
    }
  }
  return base;
}

function mergeList(current: unknown, patch: Json[], key: string | null): Json[] {
  const out: Json[] = Array.isArray(current) ? [...current] : [];
  const find = (item: Json) =>
    key === null ? out.findIndex((x) => x === item) : out.findIndex((x) => isObject(x) && isObject(item) && x[key] === item[key]);
  for (const item of patch) {
    if (isObject(item) && item['$patch'] === 'delete') {
      const i = find(item);
      if (i !== -1) out.splice(i, 1);
      continue;
    }
    const i = find(item);
    if (i === -1) out.push(item);
    else out[i] = isObject(item) && isObject(out[i]) ? (mergePatch(out[i], item) as Json) : item;
  }
  return out;
}

/**
 * Strategic merge patch for the served kinds: their only merge-keyed lists are metadata's
 * ownerReferences (by uid) and finalizers (a set); everything else merges like a merge patch.
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) throw new PatchDecodeError('strategic merge patch must be a JSON object');
  return strategicMap(target, patch, '') ?? {};
}

export function applyPatch(type: PatchType, target: unknown, patch: unknown): unknown {
  switch (type) {
    case 'merge':
      if (!isObject(patch)) throw new PatchDecodeError('merge patch must be a JSON object');
      return mergePatch(target, patch);
    case 'json':
      return jsonPatch(target, patch);
    case 'strategic':
      return strategicMergePatch(target, patch);
  }
}
