// What create, update and patch make of their bodies: the object decoded into its kind with the
// warnings to send, or the real server's answer when it does not decode (a 400 for a body, a 422
// on the patch for a patched object, a 500 from the field manager for an applied configuration).

import { decodeObject } from './decode.js';
import { goQuote } from './go-json-syntax.js';
import { goFormat, type Patched, type PatchType } from './patch.js';
import { GoDecodeFailure, cannotHandle, kindMismatch, readObjectBody } from './request-body.js';
import type { KubeObject, ResourceDef } from './resource-def.js';
import { invalid, unclassifiedError } from './status.js';
import type { FieldValidation } from './write-options.js';

/** An object decoded for a write, and the strict-decoding warnings to answer with. */
export interface DecodedWrite {
  obj: KubeObject;
  warnings: string[];
}

/** A create or update body, read and decoded into `def`: 400 with Go's words; strict errors become warnings (Warn) or a 400 (Strict). */
export function decodeBody(def: ResourceDef, body: Buffer | undefined, mediaType: string, fieldValidation: FieldValidation): DecodedWrite {
  const value = readObjectBody(def, body, mediaType);
  try {
    const { obj, strictErrors } = decodeObject(def, value);
    if (strictErrors.length > 0 && fieldValidation === 'Strict') throw new GoDecodeFailure(`strict decoding error: ${strictErrors.join(', ')}`);
    return { obj, warnings: fieldValidation === 'Warn' ? strictErrors : [] };
  } catch (err) {
    if (err instanceof GoDecodeFailure) throw cannotHandle(def, def, err.message);
    throw err;
  }
}

/**
 * A patched object decoded back into `def`, as the patch handler does: what does not decode is a
 * 422 on the patch, showing the patched object (the patch map for a strategic merge); strict errors
 * of the patch and of the object become warnings (Warn) or such a 422 (Strict). An applied
 * configuration is typed by the field manager instead, which answers a 500 for what does not fit.
 */
export function decodePatched(def: ResourceDef, patched: Patched, patchType: PatchType, fieldValidation: FieldValidation): DecodedWrite {
  // The patched object is rendered only for the 422 that shows it: it can be near 1 MiB.
  const shown = () => (patchType === 'strategic' ? goFormat(patched.doc) : goJsonText(patched.doc));
  const refuse =
    patchType === 'apply'
      ? (why: string) => unclassifiedError(`failed to create typed patch object (${def.group}/${def.version}, Kind=${def.kind}): ${why}`)
      : (why: string) => invalid('', '', '', [{ reason: 'FieldValueInvalid', message: `Invalid value: ${goQuote(shown())}: ${why}`, field: 'patch' }]);
  try {
    const mismatch = kindMismatch(def, patched.doc);
    if (mismatch !== undefined) throw refuse(mismatch);
    const { obj, strictErrors } = decodeObject(def, patched.doc);
    if (patchType === 'apply') {
      const undeclared = strictErrors.map((e) => `.${e.replace(/^unknown field "(.*)"$/, '$1')}: field not declared in schema`);
      if (undeclared.length > 0) throw refuse(undeclared.length === 1 ? (undeclared[0] as string) : `errors:\n  ${undeclared.join('\n  ')}`);
      return { obj, warnings: [] };
    }
    const strict = fieldValidation === 'Ignore' ? [] : [...patched.strictErrors, ...strictErrors];
    if (strict.length > 0 && fieldValidation === 'Strict') throw refuse(`strict decoding error: ${strict.join(', ')}`);
    return { obj, warnings: strict };
  } catch (err) {
    if (err instanceof GoDecodeFailure) throw refuse(err.message);
    throw err;
  }
}

/**
 * A patched document as json-patch writes it back (Go's json.Marshal of its top-level map): keys
 * sorted, and <, > and & escaped.
 */
function goJsonText(doc: unknown): string {
  const sorted = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? Object.fromEntries(Object.entries(doc).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : doc;
  return JSON.stringify(sorted).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A seeded object decoded as a body would be (400 on a type error). */
export function decodeSeed(def: ResourceDef, raw: KubeObject): KubeObject {
  try {
    return decodeObject(def, raw).obj;
  } catch (err) {
    if (err instanceof GoDecodeFailure) throw cannotHandle(def, def, err.message);
    throw err;
  }
}
