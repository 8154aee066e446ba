// CreateOptions, UpdateOptions and PatchOptions as kube-apiserver reads them from the query
// (dryRun, fieldManager, fieldValidation, force) and validates them: a bad value is a 422 Invalid
// on the options kind ("CreateOptions.meta.k8s.io \"\" is invalid: ..."), before the body is decoded.

import { dryRunCauses } from './delete-options.js';
import { goQuote, isPrint } from './go-json-syntax.js';
import { invalid, type StatusCause } from './status.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export type OptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions';

export interface WriteOptions {
  dryRun: boolean;
  /** The directive in effect: an absent or empty fieldValidation means Warn. */
  fieldValidation: FieldValidation;
  fieldManager: string;
}

const FIELD_VALIDATION_VALUES = ['', 'Ignore', 'Strict', 'Warn'];
const FIELD_MANAGER_MAX_LENGTH = 128;

/** apimachinery's ValidateFieldManager: at most 128 bytes, every character printable. */
function fieldManagerCauses(manager: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (Buffer.byteLength(manager) > FIELD_MANAGER_MAX_LENGTH) {
    causes.push({ reason: 'FieldValueTooLong', message: `Too long: may not be more than ${FIELD_MANAGER_MAX_LENGTH} bytes`, field: 'fieldManager' });
  }
  let position = 0;
  for (const ch of manager) {
    const cp = ch.codePointAt(0) as number;
    // Go's %#U of a rune that is not printable: U+0007.
    if (!isPrint(cp)) {
      const shown = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${goQuote(manager)}: invalid character ${shown} (at position ${position})`,
        field: 'fieldManager',
      });
    }
    position += Buffer.byteLength(ch);
  }
  return causes;
}

/**
 * The options of a create, update or patch. Query parameters are read as the parameter codec
 * reads them (the first value of a string; every value of dryRun; force is true unless "false"
 * or "0"). `apply` is whether the patch is a server-side apply, for which fieldManager is required
 * and force allowed.
 */
export function readWriteOptions(kind: OptionsKind, query: URLSearchParams, apply = false): WriteOptions {
  const fieldManager = query.get('fieldManager') ?? '';
  const fieldValidation = query.get('fieldValidation') ?? '';
  const causes: StatusCause[] = [];
  if (kind === 'PatchOptions') {
    if (!apply && query.has('force')) {
      causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: may not be specified for non-apply patch', field: 'force' });
    }
    if (apply && fieldManager === '') {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' });
    }
  }
  causes.push(...fieldManagerCauses(fieldManager));
  const dryRun = query.getAll('dryRun');
  causes.push(...dryRunCauses(dryRun));
  if (!FIELD_VALIDATION_VALUES.includes(fieldValidation)) {
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${goQuote(fieldValidation)}: supported values: ${FIELD_VALIDATION_VALUES.map((v) => goQuote(v)).join(', ')}`,
      field: 'fieldValidation',
    });
  }
  if (causes.length > 0) throw invalid(kind, 'meta.k8s.io', '', causes);
  return { dryRun: dryRun.length > 0, fieldValidation: (fieldValidation || 'Warn') as FieldValidation, fieldManager };
}
