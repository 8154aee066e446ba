// The typed fields of a kind as the API server's Go decoder sees them. Reading checks the JSON
// against the Go struct (encoding/json's type errors, unknown nested fields by path, times via
// go-time.ts); writing produces what Go's encoder would: fields in struct order, `omitempty`
// honoured for strings, numbers and nil pointers, struct values always present ({}), zero times
// null. So a Lease without spec comes back with "spec": {}, an Event with "source": {}.

import { jsonKind } from './go-json-syntax.js';
import { GoDecodeError, readMicroTime, readTime } from './go-time.js';

export type GoType =
  /** A string; `goType` names a defined string type in messages (types.UID). */
  { kind: 'string'; goType?: string } | { kind: 'int32' } | { kind: 'time' } | { kind: 'microTime' } | GoStruct;

export interface GoStruct {
  kind: 'struct';
  /** The struct's name, as type errors inside it name it ("ObjectReference"). */
  name: string;
  /** Its package-qualified type, as a type error on the whole struct names it ("v1.ObjectReference"). */
  goType: string;
  fields: readonly GoField[];
}

export interface GoField {
  json: string;
  type: GoType;
  omitEmpty?: boolean;
  /** A pointer: absent or null is nil, which is not written (with omitempty) or written as null. */
  pointer?: boolean;
  /** Known but cleared before storage (an alpha field whose feature gate is off). */
  cleared?: boolean;
}

/** A decoded value: strings, numbers, times (string, null when zero), structs as records; undefined is a nil pointer. */
export type GoValue = string | number | null | undefined | GoRecord;
export interface GoRecord {
  [field: string]: GoValue;
}

export const STRING: GoType = { kind: 'string' };
export const INT32: GoType = { kind: 'int32' };
export const TIME: GoType = { kind: 'time' };
export const MICRO_TIME: GoType = { kind: 'microTime' };

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function zero(t: GoType): GoValue {
  switch (t.kind) {
    case 'string':
      return '';
    case 'int32':
      return 0;
    case 'struct':
      return Object.fromEntries(t.fields.filter((f) => !f.pointer).map((f) => [f.json, zero(f.type)]));
    default:
      return null;
  }
}

class Decoder {
  /** Go keeps the first type error and goes on; a time's own error stops it at once. */
  firstTypeError: string | undefined;
  readonly unknownFields: string[] = [];

  /** `shown` is what Go calls the JSON value: its kind, or "number N" for a number an integer field cannot hold. */
  typeError(shown: string, goType: string, struct: GoStruct, path: string): void {
    this.firstTypeError ??= `json: cannot unmarshal ${shown} into Go struct field ${struct.name}.${path} of type ${goType}`;
  }

  value(t: GoType, v: unknown, struct: GoStruct, path: string): GoValue {
    switch (t.kind) {
      case 'string':
        if (typeof v === 'string') return v;
        if (v !== null) this.typeError(jsonKind(v), t.goType ?? 'string', struct, path);
        return '';
      case 'int32':
        if (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) return v;
        if (v !== null) this.typeError(typeof v === 'number' ? `number ${JSON.stringify(v)}` : jsonKind(v), 'int32', struct, path);
        return 0;
      case 'time':
        return readTime(v);
      case 'microTime':
        return readMicroTime(v);
      case 'struct':
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) return this.struct(t, v as Record<string, unknown>, path);
        if (v !== null) this.typeError(jsonKind(v), t.goType, struct, path);
        return zero(t);
    }
  }

  struct(s: GoStruct, v: Record<string, unknown>, path: string): GoRecord {
    const out = zero(s) as GoRecord;
    for (const [key, raw] of Object.entries(v)) {
      const field = s.fields.find((f) => f.json === key);
      const fieldPath = path ? `${path}.${key}` : key;
      if (!field) {
        this.unknownFields.push(`unknown field "${fieldPath}"`);
        continue;
      }
      if (field.pointer && raw === null) {
        out[key] = undefined;
        continue;
      }
      const decoded = this.value(field.type, raw, s, fieldPath);
      out[key] = field.cleared ? (field.pointer ? undefined : zero(field.type)) : decoded;
    }
    return out;
  }
}

/**
 * Reads the fields of `s` from a JSON object as Go would decode it, with the `unknown field` texts
 * of fields it does not have. Throws GoDecodeError with Go's text on the first failure.
 */
export function decodeStruct(s: GoStruct, json: Record<string, unknown>): { value: GoRecord; unknownFields: string[] } {
  const decoder = new Decoder();
  const value = decoder.struct(s, json, '');
  if (decoder.firstTypeError !== undefined) throw new GoDecodeError(decoder.firstTypeError);
  return { value, unknownFields: decoder.unknownFields };
}

function isEmpty(t: GoType, v: GoValue): boolean {
  // Structs (times included) are never empty to encoding/json: omitempty does not drop them.
  return (t.kind === 'string' && v === '') || (t.kind === 'int32' && v === 0);
}

/** A decoded struct as Go's encoder writes it. */
export function encodeStruct(s: GoStruct, value: GoRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of s.fields) {
    const v = value[f.json];
    if (f.pointer && v === undefined) {
      if (!f.omitEmpty) out[f.json] = null;
      continue;
    }
    const present = v === undefined ? zero(f.type) : v;
    if (!f.pointer && f.omitEmpty && isEmpty(f.type, present)) continue;
    out[f.json] = f.type.kind === 'struct' ? encodeStruct(f.type, present as GoRecord) : present;
  }
  return out;
}
