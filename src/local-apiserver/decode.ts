// The typed decode of an object body, as kube-apiserver's strict JSON decoder (sigs.k8s.io/json)
// reads it into the Go struct: fields in document order, the first type error worded as Go words
// it ("json: cannot unmarshal number into Go struct field ConfigMap.data of type string"), unknown
// fields by their path ("metadata.bogus"), Go's null rules (null leaves a string as it was, empties
// a map or pointer; a null map value is an empty string), and what the encoder then leaves out
// (omitempty: empty strings, maps and lists). ObjectMeta and ConfigMap and Namespace are read here;
// kinds with a Go body description (Events, Leases) are read by go-struct.ts.

import { decodeStruct, encodeStruct, type GoStruct } from './go-struct.js';
import { GoDecodeError, readTime } from './go-time.js';
import { jsonKind } from './go-json-syntax.js';
import { GoDecodeFailure } from './request-body.js';
import type { KubeObject, ResourceDef } from './resource-def.js';

export interface Decoded {
  obj: KubeObject;
  /** Strict decoding errors (`unknown field "spec"`), in document order: Warning headers, or a 400 in Strict mode. */
  strictErrors: string[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** One decode: the first type error (Go reports the earliest and decodes on), and the strict errors. */
class Decode {
  typeError: string | undefined;
  readonly strict: string[] = [];

  /** An UnmarshalTypeError, in the context of a struct field: `Struct` is the innermost struct, `path` the JSON path of struct fields. */
  mismatch(v: unknown, struct: string, path: string, goType: string): void {
    this.typeError ??= `json: cannot unmarshal ${jsonKind(v)} into Go struct field ${struct}.${path} of type ${goType}`;
  }

  /** An error Go keeps as is (illegal base64). */
  fail(message: string): void {
    this.typeError ??= message;
  }

  unknown(path: string): void {
    const text = `unknown field "${path}"`;
    if (!this.strict.includes(text)) this.strict.push(text);
  }

  string(v: unknown, struct: string, path: string, goType = 'string'): string | undefined {
    if (typeof v === 'string') return v;
    if (v !== null) this.mismatch(v, struct, path, goType);
    return undefined;
  }

  /** A pointer to a bool: null is nil. */
  bool(v: unknown, struct: string, path: string): boolean | undefined {
    if (typeof v === 'boolean') return v;
    if (v !== null) this.mismatch(v, struct, path, 'bool');
    return undefined;
  }

  int64(v: unknown, struct: string, path: string): number | undefined {
    if (typeof v === 'number') {
      if (Number.isInteger(v)) return v;
      this.typeError ??= `json: cannot unmarshal number ${v} into Go struct field ${struct}.${path} of type int64`;
      return undefined;
    }
    if (v !== null) this.mismatch(v, struct, path, 'int64');
    return undefined;
  }

  /** metav1.Time's own UnmarshalJSON: its errors end the decode at once, with the field's context added to a type error. */
  time(v: unknown, struct: string, path: string): string | null {
    try {
      return readTime(v);
    } catch (err) {
      if (!(err instanceof GoDecodeError)) throw err;
      const typeError = /^json: cannot unmarshal (\w+) into Go value of type string$/.exec(err.message);
      throw new GoDecodeFailure(typeError ? `json: cannot unmarshal ${typeError[1]} into Go struct field ${struct}.${path} of type string` : err.message);
    }
  }

  /** map[string]string: null empties it; a null value is the empty string. */
  stringMap(v: unknown, struct: string, path: string): Json | undefined {
    if (!isObject(v)) {
      if (v !== null) this.mismatch(v, struct, path, 'map[string]string');
      return undefined;
    }
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) out[k] = this.string(x, struct, path) ?? '';
    return out;
  }

  /** []string (or a named string type): null empties it. */
  stringList(v: unknown, struct: string, path: string, elemType = 'string'): string[] | undefined {
    if (!Array.isArray(v)) {
      if (v !== null) this.mismatch(v, struct, path, `[]${elemType}`);
      return undefined;
    }
    return v.map((x) => this.string(x, struct, path, elemType) ?? '');
  }

  /** A list of structs; `fields` decodes one element's fields. */
  structList(v: unknown, struct: string, path: string, elemType: string, fields: (e: Json, i: number) => Json): Json[] | undefined {
    if (!Array.isArray(v)) {
      if (v !== null) this.mismatch(v, struct, path, `[]${elemType}`);
      return undefined;
    }
    return v.map((e, i) => {
      if (isObject(e)) return fields(e, i);
      if (e !== null) this.mismatch(e, struct, path, elemType);
      return {};
    });
  }

  /** map[string][]byte: base64 strings, checked as Go's StdEncoding decodes them; a null value stays null. */
  bytesMap(v: unknown, struct: string, path: string): Json | undefined {
    if (!isObject(v)) {
      if (v !== null) this.mismatch(v, struct, path, 'map[string][]uint8');
      return undefined;
    }
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) out[k] = this.bytes(x, struct, path);
    return out;
  }

  private bytes(v: unknown, struct: string, path: string): string | null {
    if (typeof v === 'string') {
      const bad = base64Error(v);
      if (bad !== undefined) this.fail(`illegal base64 data at input byte ${bad}`);
      return v;
    }
    if (Array.isArray(v)) {
      // A JSON array fills a []byte element by element.
      const bytes = v.map((b) => {
        if (typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 255) return b;
        if (typeof b === 'number') this.typeError ??= `json: cannot unmarshal number ${b} into Go struct field ${struct}.${path} of type uint8`;
        else if (b !== null) this.mismatch(b, struct, path, 'uint8');
        return 0;
      });
      return Buffer.from(bytes).toString('base64');
    }
    if (v !== null) this.mismatch(v, struct, path, '[]uint8');
    return null;
  }
}

const CANONICAL_BASE64 = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Where Go's base64.StdEncoding.Decode fails on `value`, or undefined when it decodes: a port of
 * its decodeQuantum (CR and LF skipped, padding required), for "illegal base64 data at input byte N".
 */
function base64Error(value: string): number | undefined {
  // The usual case, checked at native speed: well-formed padded base64 without line breaks.
  if (value.length % 4 === 0 && CANONICAL_BASE64.test(value)) return undefined;
  const alphabet = /[A-Za-z0-9+/]/;
  const isNewline = (c: string | undefined) => c === '\n' || c === '\r';
  let si = 0;
  while (si < value.length) {
    for (let j = 0; j < 4; j++) {
      if (si === value.length) {
        if (j === 0) return undefined;
        return si - j;
      }
      const c = value[si++] as string;
      if (alphabet.test(c)) continue;
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== '=' || j < 2) return si - 1;
      if (j === 2) {
        while (si < value.length && isNewline(value[si])) si++;
        if (si === value.length) return value.length;
        if (value[si] !== '=') return si - 1;
        si++;
      }
      while (si < value.length && isNewline(value[si])) si++;
      return si < value.length ? si : undefined;
    }
  }
  return undefined;
}

/** ObjectMeta's fields, in Go's declaration order (the order the server writes them). */
export const OBJECT_META_ORDER = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];

function decodeOwnerReference(d: Decode, e: Json, i: number): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(e)) {
    const path = `metadata.ownerReferences.${k}`;
    switch (k) {
      case 'apiVersion':
      case 'kind':
      case 'name':
        out[k] = d.string(v, 'OwnerReference', path) ?? '';
        break;
      case 'uid':
        out[k] = d.string(v, 'OwnerReference', path, 'types.UID') ?? '';
        break;
      case 'controller':
      case 'blockOwnerDeletion':
        out[k] = d.bool(v, 'OwnerReference', path);
        break;
      default:
        d.unknown(`metadata.ownerReferences[${i}].${k}`);
    }
  }
  return out;
}

const MANAGED_FIELDS_STRINGS: Readonly<Record<string, string>> = {
  manager: 'string',
  operation: 'v1.ManagedFieldsOperationType',
  apiVersion: 'string',
  fieldsType: 'string',
  subresource: 'string',
};

function decodeManagedFieldsEntry(d: Decode, e: Json, i: number): Json {
  for (const [k, v] of Object.entries(e)) {
    const path = `metadata.managedFields.${k}`;
    const goType = MANAGED_FIELDS_STRINGS[k];
    if (goType !== undefined) d.string(v, 'ManagedFieldsEntry', path, goType);
    else if (k === 'time') d.time(v, 'ManagedFieldsEntry', path);
    else if (k !== 'fieldsV1') d.unknown(`metadata.managedFields[${i}].${k}`);
  }
  // Kept only as read: the server tracks no field managers and drops them.
  return e;
}

function decodeObjectMeta(d: Decode, owner: string, meta: unknown): Json {
  if (!isObject(meta)) {
    if (meta !== null && meta !== undefined) d.mismatch(meta, owner, 'metadata', 'v1.ObjectMeta');
    return {};
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(meta)) {
    const path = `metadata.${k}`;
    switch (k) {
      case 'name':
      case 'generateName':
      case 'namespace':
      case 'selfLink':
      case 'resourceVersion':
        out[k] = d.string(v, 'ObjectMeta', path) ?? out[k];
        break;
      case 'uid':
        out[k] = d.string(v, 'ObjectMeta', path, 'types.UID') ?? out[k];
        break;
      case 'generation':
        out[k] = d.int64(v, 'ObjectMeta', path) ?? out[k];
        break;
      case 'deletionGracePeriodSeconds':
        out[k] = d.int64(v, 'ObjectMeta', path);
        break;
      case 'creationTimestamp':
      case 'deletionTimestamp':
        out[k] = d.time(v, 'ObjectMeta', path) ?? undefined;
        break;
      case 'labels':
      case 'annotations':
        out[k] = d.stringMap(v, 'ObjectMeta', path);
        break;
      case 'finalizers':
        out[k] = d.stringList(v, 'ObjectMeta', path);
        break;
      case 'ownerReferences':
        out[k] = d.structList(v, 'ObjectMeta', path, 'v1.OwnerReference', (e, i) => decodeOwnerReference(d, e, i));
        break;
      case 'managedFields':
        out[k] = d.structList(v, 'ObjectMeta', path, 'v1.ManagedFieldsEntry', (e, i) => decodeManagedFieldsEntry(d, e, i));
        break;
      default:
        d.unknown(path);
    }
  }
  return omitEmpty(out, OBJECT_META_ORDER, ['deletionGracePeriodSeconds']);
}

/** The fields of a struct in Go's order, without the omitempty ones that are empty (pointers, named in `pointers`, are kept when set). */
function omitEmpty(value: Json, order: readonly string[], pointers: readonly string[] = []): Json {
  const out: Json = {};
  for (const k of order) {
    const v = value[k];
    if (v === undefined || v === null) continue;
    if (!pointers.includes(k)) {
      if (v === '' || v === 0 || v === false) continue;
      if (Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0) continue;
    }
    out[k] = v;
  }
  return out;
}

function decodeConfigMapField(d: Decode, out: Json, k: string, v: unknown): boolean {
  switch (k) {
    case 'immutable':
      out[k] = d.bool(v, 'ConfigMap', k);
      return true;
    case 'data':
      out[k] = d.stringMap(v, 'ConfigMap', k);
      return true;
    case 'binaryData':
      out[k] = d.bytesMap(v, 'ConfigMap', k);
      return true;
  }
  return false;
}

function decodeNamespaceField(d: Decode, out: Json, k: string, v: unknown): boolean {
  if (k !== 'spec' && k !== 'status') return false;
  const struct = k === 'spec' ? 'NamespaceSpec' : 'NamespaceStatus';
  if (!isObject(v)) {
    if (v !== null) d.mismatch(v, 'Namespace', k, `v1.${struct}`);
    return true;
  }
  const fields: Json = isObject(out[k]) ? (out[k] as Json) : {};
  for (const [f, x] of Object.entries(v)) {
    const path = `${k}.${f}`;
    if (k === 'spec' && f === 'finalizers') fields[f] = d.stringList(x, struct, path, 'v1.FinalizerName');
    else if (k === 'status' && f === 'phase') fields[f] = d.string(x, struct, path, 'v1.NamespacePhase');
    else if (k === 'status' && f === 'conditions') fields[f] = d.structList(x, struct, path, 'v1.NamespaceCondition', (e) => e);
    else d.unknown(path);
  }
  out[k] = omitEmpty(fields, k === 'spec' ? ['finalizers'] : ['phase', 'conditions']);
  return true;
}

/** The kinds' own fields besides TypeMeta and ObjectMeta, in Go's order. */
const BODY_ORDER: Readonly<Record<string, readonly string[]>> = {
  ConfigMap: ['immutable', 'data', 'binaryData'],
  Namespace: ['spec', 'status'],
};

/**
 * An object body decoded into `def`'s Go type and written back as Go writes it. Throws
 * GoDecodeFailure with Go's bare text; the caller words the answer (400 for a body, 422 for a patch).
 */
export function decodeObject(def: ResourceDef, body: unknown): Decoded {
  if (body !== null && !isObject(body)) throw new GoDecodeFailure(`json: cannot unmarshal ${jsonKind(body)} into Go value of type v1.${def.kind}`);
  const d = new Decode();
  const top: Json = {};
  let metadata: Json = {};
  const typed: Json = {};
  for (const [k, v] of Object.entries(body ?? {})) {
    if (k === 'kind' || k === 'apiVersion') top[k] = d.string(v, def.kind, k) ?? top[k];
    else if (k === 'metadata') metadata = { ...metadata, ...decodeObjectMeta(d, def.kind, v) };
    else if (def.kind === 'ConfigMap' ? decodeConfigMapField(d, typed, k, v) : def.kind === 'Namespace' && decodeNamespaceField(d, typed, k, v)) continue;
    else if (def.body?.fields.some((f) => f.json === k)) typed[k] = v;
    else d.unknown(k);
  }
  if (d.typeError !== undefined) throw new GoDecodeFailure(d.typeError);
  const own = def.body ? decodeBody(def.body, typed, d) : omitEmpty(typed, BODY_ORDER[def.kind] ?? [], ['immutable']);
  const obj = {
    ...(top['kind'] ? { kind: top['kind'] } : {}),
    ...(top['apiVersion'] ? { apiVersion: top['apiVersion'] } : {}),
    metadata,
    ...own,
  } as KubeObject;
  return { obj, strictErrors: d.strict };
}

/** A Go-described body (go-struct.ts): read and written back as Go would; its unknown fields join the strict errors. */
function decodeBody(body: GoStruct, fields: Json, d: Decode): Json {
  try {
    const { value, unknownFields } = decodeStruct(body, fields);
    for (const u of unknownFields) d.strict.push(u);
    return encodeStruct(body, value);
  } catch (err) {
    if (err instanceof GoDecodeError) throw new GoDecodeFailure(err.message);
    throw err;
  }
}
