// Reading request bodies and write options: JSON (or protobuf for the kinds kubectl sends that
// way), `dryRun` and `fieldValidation`, with the real server's 400/415 answers.

import { PROTOBUF_CONTENT_TYPE, canDecodeProtobuf, decodeProtobuf } from './protobuf.js';
import { badRequest, unsupportedMediaType } from './status.js';
import type { FieldValidation } from './validation.js';

export function parseJson(body: Buffer | undefined, what: string): unknown {
  const text = body?.toString('utf8') ?? '';
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message} (${what})`);
  }
}

const BODY_CONTENT_TYPES = ['application/json', PROTOBUF_CONTENT_TYPE];

/** An object body as JSON, decoding protobuf for the kinds kubectl's typed clients send that way. */
export function parseObjectBody(
  def: { kind: string; version: string },
  body: Buffer | undefined,
  contentType: string | undefined,
  what: string,
): unknown {
  const mediaType = (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase();
  if (mediaType === PROTOBUF_CONTENT_TYPE && canDecodeProtobuf(def.kind)) {
    try {
      return decodeProtobuf(def.kind, body ?? Buffer.alloc(0));
    } catch (err) {
      throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ${(err as Error).message}`);
    }
  }
  if (mediaType !== 'application/json' && mediaType !== '') throw unsupportedMediaType(BODY_CONTENT_TYPES);
  return parseJson(body, what);
}

export function isDryRun(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  for (const v of values) if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  return values.length > 0;
}

export function fieldValidation(query: URLSearchParams): FieldValidation {
  const v = query.get('fieldValidation') ?? 'Warn';
  if (v !== 'Strict' && v !== 'Warn' && v !== 'Ignore') {
    throw badRequest(`fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`);
  }
  return v;
}
