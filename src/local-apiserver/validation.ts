// Validation of decoded objects, with the real API server's rules and messages: rule violations
// are 422 Invalid with causes (decoding, with its 400s, is decode.ts).

import type { KubeObject, ResourceDef } from './resource-def.js';
import type { StatusCause } from './status.js';
import { dnsLabelErrors, dnsSubdomainErrors, labelKeyErrors, labelValueErrors } from '../kube/names.js';
import { goQuote } from './go-json-syntax.js';
import { validateEvent } from './events.js';
import { validateLease } from './leases.js';

/** The most a ConfigMap's data may hold: `data` values as UTF-8 plus `binaryData` decoded. */
export const CONFIGMAP_MAX_BYTES = 1048576;
const ANNOTATIONS_MAX_BYTES = 262144;

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

const CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

function configKeyErrors(key: string): string[] {
  const errs: string[] = [];
  if (key.length > 253) errs.push('must be no more than 253 characters');
  if (!CONFIG_KEY.test(key)) errs.push(CONFIG_KEY_MSG);
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** The size the API server checks against 1 MiB; keys do not count. */
export function configMapDataBytes(obj: KubeObject): number {
  let total = 0;
  const data = obj['data'] as Record<string, string> | undefined;
  if (data) for (const v of Object.values(data)) total += Buffer.byteLength(v, 'utf8');
  // binaryData holds base64 that decoded (decode.ts); a null value is an empty []byte.
  const binary = obj['binaryData'] as Record<string, string | null> | undefined;
  if (binary) for (const v of Object.values(binary)) if (v !== null) total += Buffer.byteLength(v.replace(/[\r\n]/g, ''), 'base64');
  return total;
}

/** field.Invalid: the bad value shown as Go's field errors show it (%q for strings, %v for numbers). */
function invalidCause(field: string, value: unknown, detail: string): StatusCause {
  const shown = typeof value === 'string' ? goQuote(value) : String(value);
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: ${detail}`, field };
}

/** apimachinery's NameIsDNSSubdomain and friends with prefix=true: a trailing dash is allowed in a generateName. */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name;
}

/** ValidateOwnerReferences (without the banned-owner and single-controller rules). */
function ownerReferenceCauses(refs: readonly Record<string, unknown>[]): StatusCause[] {
  const causes: StatusCause[] = [];
  refs.forEach((ref, i) => {
    const at = `metadata.ownerReferences[${i}]`;
    const apiVersion = String(ref['apiVersion'] ?? '');
    const slashes = apiVersion.split('/').length - 1;
    const version = slashes === 0 ? apiVersion : slashes === 1 ? apiVersion.slice(apiVersion.indexOf('/') + 1) : '';
    if (version === '') causes.push(invalidCause(`${at}.apiVersion`, apiVersion, 'version must not be empty'));
    for (const f of ['kind', 'name', 'uid']) {
      const v = String(ref[f] ?? '');
      if (v === '') causes.push(invalidCause(`${at}.${f}`, v, 'must not be empty'));
    }
  });
  return causes;
}

/** apimachinery's ValidateObjectMeta, in its order; `nameErrors` is the kind's name rule. */
function validateMetadata(def: ResourceDef, meta: Record<string, unknown>, causes: StatusCause[], nameErrors = def.kind === 'Namespace' ? dnsLabelErrors : dnsSubdomainErrors): void {
  const generateName = meta['generateName'] as string | undefined;
  if (generateName) {
    for (const e of nameErrors(maskTrailingDash(generateName))) causes.push(invalidCause('metadata.generateName', generateName, e));
  }
  const name = meta['name'] as string | undefined;
  if (!name) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  } else {
    for (const e of nameErrors(name)) causes.push(invalidCause('metadata.name', name, e));
  }
  const generation = meta['generation'] as number | undefined;
  if (generation !== undefined && generation < 0) causes.push(invalidCause('metadata.generation', generation, 'must be greater than or equal to 0'));
  const labels = meta['labels'] as Record<string, string> | undefined;
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const e of labelKeyErrors(k)) causes.push(invalidCause('metadata.labels', k, e));
    for (const e of labelValueErrors(v)) causes.push(invalidCause(`metadata.labels`, v, e));
  }
  const annotations = meta['annotations'] as Record<string, string> | undefined;
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    // Annotation keys are checked lowercased: upper case is allowed in them.
    for (const e of labelKeyErrors(k.toLowerCase())) causes.push(invalidCause('metadata.annotations', k, e));
    annotationBytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (annotationBytes > ANNOTATIONS_MAX_BYTES) {
    causes.push({ reason: 'FieldValueTooLong', message: `Too long: may not be more than ${ANNOTATIONS_MAX_BYTES} bytes`, field: 'metadata.annotations' });
  }
  causes.push(...ownerReferenceCauses((meta['ownerReferences'] as Record<string, unknown>[] | undefined) ?? []));
  const finalizers = (meta['finalizers'] as string[] | undefined) ?? [];
  for (const f of finalizers) for (const e of labelKeyErrors(f)) causes.push(invalidCause('metadata.finalizers', f, e));
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: []string{${finalizers.map((f) => goQuote(f)).join(', ')}}: finalizer orphan and foregroundDeletion cannot be both set`,
      field: 'metadata.finalizers',
    });
  }
}

/** The finalizer names Kubernetes itself uses in a namespace's spec; any other must be domain-qualified. */
const STANDARD_FINALIZERS = ['kubernetes', 'orphan', 'foregroundDeletion'];

function validateNamespace(obj: KubeObject, causes: StatusCause[]): void {
  const spec = (obj['spec'] as { finalizers?: string[] } | undefined) ?? {};
  for (const f of spec.finalizers ?? []) {
    for (const e of labelKeyErrors(f)) causes.push(invalidCause('spec.finalizers', f, e));
    if (!f.includes('/') && !STANDARD_FINALIZERS.includes(f)) {
      causes.push(invalidCause('spec.finalizers', f, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
  }
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
    causes.push({ reason: 'FieldValueTooLong', message: `Too long: may not be more than ${CONFIGMAP_MAX_BYTES} bytes`, field: '[]' });
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

/** Rule violations of a decoded object (empty when valid); `old` is the stored object on update. */
export function validateObject(def: ResourceDef, obj: KubeObject, old?: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  if (def.kind === 'Event') {
    return validateEvent(def, obj, old, (nameErrors) => {
      validateMetadata(def, obj.metadata, causes, nameErrors);
      return causes;
    });
  }
  validateMetadata(def, obj.metadata, causes);
  if (def.kind === 'ConfigMap') validateConfigMap(obj, old, causes);
  else if (def.kind === 'Lease') causes.push(...validateLease(obj));
  else if (def.kind === 'Namespace') validateNamespace(obj, causes);
  return causes;
}
