// Reading request bodies as kube-apiserver does: the media type (JSON, YAML, or protobuf for the
// kinds kubectl sends that way; anything else 415), YAML converted to JSON, then apiVersion and kind
// read first with Go's encoding/json. Each stage fails with the real server's words: a body whose
// kind cannot even be read is "the object provided is unrecognized (must be of type ConfigMap):
// couldn't get version/kind; json parse error: ... (<the body's start>)"; a kind that is read but
// cannot become the target is "<Kind> in version "v1" cannot be handled as a ConfigMap: ...".

import { parseAllDocuments, type Tags } from 'yaml';
import { jsonKind, jsonSyntaxError } from './go-json-syntax.js';
import { PROTOBUF_CONTENT_TYPE, canDecodeProtobuf, decodeProtobuf } from './protobuf.js';
import { defaultedGroupVersionKind, registeredGoType, type GroupVersionKind } from './scheme.js';
import { badRequest, unclassifiedError, unsupportedMediaType } from './status.js';

/** The media types a create or update body may have, in the order the 415 lists them. */
const BODY_MEDIA_TYPES = ['application/json', 'application/yaml', PROTOBUF_CONTENT_TYPE];

/** What a body must become: the kind the URL names. */
export interface TargetKind {
  group: string;
  version: string;
  kind: string;
}

/** A failure worded as Go words it, before the handler wraps it. */
export class GoDecodeFailure extends Error {
  override name = 'GoDecodeFailure';
}

/** The media type of a Content-Type header, lowercased and without parameters; none means JSON. */
function mediaTypeOf(contentType: string | undefined): string {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === '' ? 'application/json' : type;
}

/** The YAML 1.1 core schema go-yaml v2 resolves plain scalars with, less timestamps (go-yaml keeps them strings). */
function goYamlTags(tags: Tags): Tags {
  return tags.filter((t) => typeof t === 'string' || (t.tag !== 'tag:yaml.org,2002:timestamp' && t.tag !== 'tag:yaml.org,2002:binary'));
}

/**
 * sigs.k8s.io/yaml's YAMLToJSON: the first document as JSON text (an empty one is null). Its error
 * texts come from go-yaml, which this parser cannot reproduce word for word; they keep go-yaml's form
 * ("yaml: line 2: ...") around this parser's description of the same fault.
 */
export function yamlToJson(text: string): string {
  const doc = parseAllDocuments(text, { version: '1.1', customTags: goYamlTags, merge: true, uniqueKeys: false, logLevel: 'error' })[0];
  if (!doc || !('errors' in doc)) return 'null';
  const error = doc.errors[0];
  if (error) {
    const line = error.linePos?.[0]?.line ?? 1;
    const what = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new GoDecodeFailure(`error converting YAML to JSON: yaml: line ${line}: ${what.charAt(0).toLowerCase()}${what.slice(1)}`);
  }
  return JSON.stringify(doc.toJS({ maxAliasCount: -1 }) ?? null);
}

/**
 * The value of a JSON body. Throws GoDecodeFailure with Go's text ("unexpected end of JSON input",
 * "invalid character 'n' looking for beginning of object key string"): JSON.parse finds the fault
 * (both accept the same documents) and Go's scanner, run only then, words it, so a well-formed
 * body near 1 MiB is not scanned byte by byte in JavaScript.
 */
export function parseGoJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw new GoDecodeFailure(jsonSyntaxError(bytes) ?? (err as Error).message);
  }
}

const FIND_KIND_TYPE = 'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }';

/**
 * apiVersion and kind as the JSON serializer reads them first (runtime's SimpleMetaFactory): into
 * an anonymous struct with Go's standard, case-insensitive decoder. Throws GoDecodeFailure.
 */
function interpret(value: unknown): { apiVersion: string; kind: string } {
  if (value === null) return { apiVersion: '', kind: '' };
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new GoDecodeFailure(`json: cannot unmarshal ${jsonKind(value)} into Go value of type ${FIND_KIND_TYPE}`);
  }
  const found = { apiVersion: '', kind: '' };
  let typeError: string | undefined;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field = (['apiVersion', 'kind'] as const).find((f) => f.toLowerCase() === key.toLowerCase());
    if (!field || v === null) continue;
    if (typeof v === 'string') found[field] = v;
    else typeError ??= `json: cannot unmarshal ${jsonKind(v)} into Go struct field .${field} of type string`;
  }
  if (typeError !== undefined) throw new GoDecodeFailure(typeError);
  return found;
}

/** apiserver's summarizeData: up to 30 bytes of a body for a message, as text if it starts with {, else in hex. */
function summarize(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length === 0) return '<empty>';
  const head = buf.subarray(0, 30);
  const more = buf.length > 30 ? ' ...' : '';
  return buf[0] === 0x7b ? `${head.toString('utf8')}${more}` : `${head.toString('hex')}${more}`;
}

/** The 400 for a body whose kind could not be read. */
function unrecognized(target: TargetKind, why: string, body: Uint8Array) {
  return badRequest(`the object provided is unrecognized (must be of type ${target.kind}): ${why} (${summarize(body)})`);
}

/** The 400 for a body of a known kind that cannot become the target. */
export function cannotHandle(gvk: { kind: string; version: string }, target: TargetKind, why: string) {
  return badRequest(`${gvk.kind} in version "${gvk.version}" cannot be handled as a ${target.kind}: ${why}`);
}

/**
 * The media type of a create or update body, or 415: JSON, YAML, or protobuf for the kinds
 * kubectl's typed clients send that way (others are refused, as this server cannot read them).
 */
export function bodyMediaType(target: TargetKind, contentType: string | undefined): string {
  const mediaType = mediaTypeOf(contentType);
  if (!BODY_MEDIA_TYPES.includes(mediaType) || (mediaType === PROTOBUF_CONTENT_TYPE && !canDecodeProtobuf(target.kind))) {
    throw unsupportedMediaType(BODY_MEDIA_TYPES);
  }
  return mediaType;
}

/**
 * A create or update body (of a media type bodyMediaType accepted) as JSON, once its kind is
 * known to be the target's: throws 400 otherwise. The typed decode of the fields follows (decode.ts).
 */
export function readObjectBody(target: TargetKind, body: Buffer | undefined, mediaType: string): unknown {
  const bytes = body ?? Buffer.alloc(0);
  if (mediaType === PROTOBUF_CONTENT_TYPE) {
    try {
      return decodeProtobuf(target.kind, bytes);
    } catch (err) {
      throw cannotHandle(target, target, (err as Error).message);
    }
  }
  let value: unknown;
  let found: { apiVersion: string; kind: string };
  try {
    value = parseGoJson(mediaType === 'application/yaml' ? Buffer.from(yamlToJson(bytes.toString('utf8'))) : bytes);
    found = interpret(value);
  } catch (err) {
    if (!(err instanceof GoDecodeFailure)) throw err;
    const why = err.message.startsWith('error converting YAML') ? err.message : `couldn't get version/kind; json parse error: ${err.message}`;
    throw unrecognized(target, why, bytes);
  }
  const gvk = defaultedGroupVersionKind(found.apiVersion, found.kind, target);
  const mismatch = conversionFailure(target, gvk, () => Buffer.from(bytes).toString('utf8'));
  if (mismatch === 'other version') {
    throw badRequest(`the API version in the data (${groupVersion(gvk)}) does not match the expected API version (${groupVersion(target)})`);
  }
  if (mismatch !== undefined) throw cannotHandle(gvk, target, mismatch);
  return value;
}

function groupVersion(gv: { group: string; version: string }): string {
  return gv.group ? `${gv.group}/${gv.version}` : gv.version;
}

/**
 * Why a body naming `gvk` does not decode into the target, in Go's words, or undefined when it
 * does; 'other version' for another version of the same kind, which converts but is then refused.
 */
/** `bodyText` is called only for the one message that quotes the body. */
function conversionFailure(target: TargetKind, gvk: GroupVersionKind, bodyText: () => string): string | undefined {
  if (gvk.version === '') return `Object 'apiVersion' is missing in '${bodyText()}'`;
  if (gvk.kind === target.kind && gvk.group === target.group && gvk.version === target.version) return undefined;
  const source = registeredGoType(gvk);
  if (source === undefined) return `no kind "${gvk.kind}" is registered for version "${groupVersion(gvk)}" in scheme "pkg/api/legacyscheme/scheme.go:30"`;
  const into = (registeredGoType(target, true) as { internal: string }).internal;
  return source.internal === into ? 'other version' : `converting (${source.external}) to (${into}): unknown conversion`;
}

/**
 * Why an object a patch produced does not decode into the target (the codec's bare text, the
 * patch handler's 422 shows it), or undefined when it does.
 */
export function kindMismatch(target: TargetKind, value: unknown): string | undefined {
  let found: { apiVersion: string; kind: string };
  try {
    found = interpret(value);
  } catch (err) {
    if (err instanceof GoDecodeFailure) return `couldn't get version/kind; json parse error: ${err.message}`;
    throw err;
  }
  const failure = conversionFailure(target, defaultedGroupVersionKind(found.apiVersion, found.kind, target), () => JSON.stringify(value));
  return failure === 'other version' ? undefined : failure;
}

/**
 * A DeleteOptions body as the delete handler reads it: its errors are not translated into a 400,
 * so malformed JSON is a 500 with Go's bare text, as on a real server.
 */
export function readOptionsBody(body: Buffer): unknown {
  try {
    const value = parseGoJson(body);
    interpret(value);
    return value;
  } catch (err) {
    if (err instanceof GoDecodeFailure) throw unclassifiedError(`couldn't get version/kind; json parse error: ${err.message}`);
    throw err;
  }
}
