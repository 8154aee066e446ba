// Decoding and validation of incoming objects, with the real API server's rules and messages:
// type errors and unknown fields are 400s (decode), rule violations are 422 Invalid with causes.

import type { KubeObject, ResourceDef } from './resources.js';
import { ApiError, badRequest, type StatusCause } from './status.js';
import { dnsLabelErrors, dnsSubdomainErrors, labelKeyErrors, labelValueErrors } from '../kube/names.js';

/** The most a ConfigMap's data may hold: `data` values as UTF-8 plus `binaryData` decoded. */
export const CONFIGMAP_MAX_BYTES = 1048576;
const ANNOTATIONS_MAX_BYTES = 262144;

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const CONFIG_KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

export function configKeyErrors(key: string): string[] {
  const errs: string[] = [];
  if (key.length > 253) errs.push('must be no more than 253 characters');
  if (!CONFIG_KEY.test(key)) errs.push(CONFIG_KEY_MSG);
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** Bytes a base64 string decodes to, or undefined if Go's StdEncoding would reject it. */
export function decodedBase64Length(value: string): number | undefined {
  const compact = value.includes('\n') || value.includes('\r') ? value.replace(/[\r\n]/g, '') : value;
  if (!BASE64.test(compact)) return undefined;
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  return (compact.length / 4) * 3 - padding;
}

/** The size the API server checks against 1 MiB; keys do not count. */
export function configMapDataBytes(obj: KubeObject): number {
  let total = 0;
  const data = obj['data'] as Record<string, string> | undefined;
  if (data) for (const v of Object.values(data)) total += Buffer.byteLength(v, 'utf8');
  const binary = obj['binaryData'] as Record<string, string> | undefined;
  if (binary) for (const v of Object.values(binary)) total += decodedBase64Length(v) ?? 0;
  return total;
}

const META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers',
  'managedFields',
]);

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface Decoded {
  obj: KubeObject;
  /** `unknown field "x"` texts, answered as Warning headers in Warn mode. */
  unknownFields: string[];
}

function goType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

/**
 * Checks JSON types the way Go's typed decode would and drops unknown fields (like the real server),
 * so what is stored is always a well-typed object. Throws a 400 as the real server does.
 */
export function decodeObject(def: ResourceDef, body: unknown, mode: FieldValidation): Decoded {
  const cannot = (why: string) =>
    badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ${why}`);
  if (goType(body) !== 'object') throw cannot(`json: cannot unmarshal ${goType(body)} into Go value of type struct`);
  const src = body as Record<string, unknown>;
  const unknownFields: string[] = [];
  const obj: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    if (def.fields.has(k)) obj[k] = v;
    else unknownFields.push(`unknown field "${k}"`);
  }
  const meta = obj['metadata'] ?? {};
  if (goType(meta) !== 'object') throw cannot(`json: cannot unmarshal ${goType(meta)} into Go struct field ${def.kind}.metadata of type v1.ObjectMeta`);
  const cleanMeta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
    if (!META_FIELDS.has(k)) unknownFields.push(`unknown field "metadata.${k}"`);
    else if (v !== null) cleanMeta[k] = v;
  }
  for (const k of ['name', 'generateName', 'namespace', 'uid', 'resourceVersion'] as const) {
    if (cleanMeta[k] !== undefined && typeof cleanMeta[k] !== 'string') {
      throw cannot(`json: cannot unmarshal ${goType(cleanMeta[k])} into Go struct field ObjectMeta.metadata.${k} of type string`);
    }
  }
  for (const k of ['labels', 'annotations'] as const) {
    if (cleanMeta[k] !== undefined) stringMap(cleanMeta[k], `ObjectMeta.metadata.${k}`, cannot);
  }
  if (cleanMeta['ownerReferences'] !== undefined && !Array.isArray(cleanMeta['ownerReferences'])) {
    throw cannot(`json: cannot unmarshal ${goType(cleanMeta['ownerReferences'])} into Go struct field ObjectMeta.metadata.ownerReferences of type []v1.OwnerReference`);
  }
  if (cleanMeta['finalizers'] !== undefined && !(Array.isArray(cleanMeta['finalizers']) && cleanMeta['finalizers'].every((f) => typeof f === 'string'))) {
    throw cannot(`json: cannot unmarshal ${goType(cleanMeta['finalizers'])} into Go struct field ObjectMeta.metadata.finalizers of type []string`);
  }
  obj['metadata'] = cleanMeta;
  for (const k of Object.keys(obj)) if (obj[k] === null) delete obj[k];

  if (def.kind === 'ConfigMap') {
    if (obj['data'] !== undefined) stringMap(obj['data'], 'ConfigMap.data', cannot);
    if (obj['binaryData'] !== undefined) {
      stringMap(obj['binaryData'], 'ConfigMap.binaryData', cannot);
      for (const v of Object.values(obj['binaryData'] as Record<string, string>)) {
        if (decodedBase64Length(v) === undefined) throw cannot(`illegal base64 data at input byte ${firstBadBase64Byte(v)}`);
      }
    }
    if (obj['immutable'] !== undefined && typeof obj['immutable'] !== 'boolean') {
      throw cannot(`json: cannot unmarshal ${goType(obj['immutable'])} into Go struct field ConfigMap.immutable of type bool`);
    }
  } else if (obj['spec'] !== undefined && goType(obj['spec']) !== 'object') {
    throw cannot(`json: cannot unmarshal ${goType(obj['spec'])} into Go struct field ${def.kind}.spec`);
  }
  if (mode === 'Strict' && unknownFields.length > 0) {
    throw badRequest(`strict decoding error: ${unknownFields.join(', ')}`);
  }
  return { obj: obj as KubeObject, unknownFields: mode === 'Warn' ? unknownFields : [] };
}

function stringMap(v: unknown, field: string, cannot: (why: string) => ApiError): void {
  if (goType(v) !== 'object') throw cannot(`json: cannot unmarshal ${goType(v)} into Go struct field ${field} of type map[string]string`);
  for (const x of Object.values(v as Record<string, unknown>)) {
    if (typeof x !== 'string') throw cannot(`json: cannot unmarshal ${goType(x)} into Go struct field ${field} of type string`);
  }
}

function firstBadBase64Byte(v: string): number {
  const bad = v.search(/[^A-Za-z0-9+/=\r\n]/);
  return bad === -1 ? Math.max(0, v.length - (v.length % 4 || 4)) : bad;
}

function invalidCause(field: string, value: unknown, detail: string): StatusCause {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: ${detail}`, field };
}

function validateMetadata(def: ResourceDef, meta: Record<string, unknown>, causes: StatusCause[]): void {
  const name = meta['name'] as string | undefined;
  if (!name) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  } else {
    const errs = def.kind === 'Namespace' ? dnsLabelErrors(name) : dnsSubdomainErrors(name);
    for (const e of errs) causes.push(invalidCause('metadata.name', name, e));
  }
  const labels = meta['labels'] as Record<string, string> | undefined;
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const e of labelKeyErrors(k)) causes.push(invalidCause('metadata.labels', k, e));
    for (const e of labelValueErrors(v)) causes.push(invalidCause(`metadata.labels`, v, e));
  }
  const annotations = meta['annotations'] as Record<string, string> | undefined;
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    for (const e of labelKeyErrors(k)) causes.push(invalidCause('metadata.annotations', k, e));
    annotationBytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (annotationBytes > ANNOTATIONS_MAX_BYTES) {
    causes.push({ reason: 'FieldValueTooLong', message: `Too long: must have at most ${ANNOTATIONS_MAX_BYTES} bytes`, field: 'metadata.annotations' });
  }
  const owners = (meta['ownerReferences'] as Record<string, unknown>[] | undefined) ?? [];
  owners.forEach((ref, i) => {
    for (const f of ['apiVersion', 'kind', 'name', 'uid']) {
      if (typeof ref?.[f] !== 'string' || ref[f] === '') {
        causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `metadata.ownerReferences[${i}].${f}` });
      }
    }
  });
}

function validateConfigMap(obj: KubeObject, old: KubeObject | undefined, causes: StatusCause[]): void {
  const data = (obj['data'] as Record<string, string> | undefined) ?? {};
  const binary = (obj['binaryData'] as Record<string, string> | undefined) ?? {};
  for (const k of Object.keys(data)) {
    for (const e of configKeyErrors(k)) causes.push(invalidCause(`data[${k}]`, k, e));
    if (Object.hasOwn(binary, k)) causes.push(invalidCause(`data[${k}]`, k, 'duplicate of key present in binaryData'));
  }
  for (const k of Object.keys(binary)) {
    for (const e of configKeyErrors(k)) causes.push(invalidCause(`binaryData[${k}]`, k, e));
  }
  if (configMapDataBytes(obj) > CONFIGMAP_MAX_BYTES) {
    causes.push({ reason: 'FieldValueTooLong', message: `Too long: must have at most ${CONFIGMAP_MAX_BYTES} bytes`, field: '[]' });
  }
  if (old?.['immutable'] === true) {
    const why = 'field is immutable when `immutable` is set';
    if (obj['immutable'] !== true) causes.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${why}`, field: 'immutable' });
    if (JSON.stringify(obj['data'] ?? {}) !== JSON.stringify(old['data'] ?? {})) {
      causes.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${why}`, field: 'data' });
    }
    if (JSON.stringify(obj['binaryData'] ?? {}) !== JSON.stringify(old['binaryData'] ?? {})) {
      causes.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${why}`, field: 'binaryData' });
    }
  }
}

function validateLease(obj: KubeObject, causes: StatusCause[]): void {
  const spec = (obj['spec'] as Record<string, unknown> | undefined) ?? {};
  const duration = spec['leaseDurationSeconds'];
  if (duration !== undefined && !(typeof duration === 'number' && Number.isInteger(duration) && duration > 0)) {
    causes.push(invalidCause('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
  }
  const transitions = spec['leaseTransitions'];
  if (transitions !== undefined && !(typeof transitions === 'number' && Number.isInteger(transitions) && transitions >= 0)) {
    causes.push(invalidCause('spec.leaseTransitions', transitions, 'must be greater than or equal to 0'));
  }
}

/** Rule violations of a decoded object (empty when valid); `old` is the stored object on update. */
export function validateObject(def: ResourceDef, obj: KubeObject, old?: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  validateMetadata(def, obj.metadata, causes);
  if (def.kind === 'ConfigMap') validateConfigMap(obj, old, causes);
  else if (def.kind === 'Lease') validateLease(obj, causes);
  return causes;
}
