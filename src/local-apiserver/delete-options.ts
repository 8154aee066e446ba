// DeleteOptions as kube-apiserver reads them: from the request body whenever there is one (the
// query is then ignored, dryRun included), from the query otherwise; then validated (422).

import { goQuote } from './go-json-syntax.js';
import { readOptionsBody } from './request-body.js';
import { badRequest, invalid, type StatusCause } from './status.js';

/**
 * What a delete acts on. propagationPolicy and orphanDependents are validated but not acted on:
 * the garbage collector here always propagates in the background, the default cmstate relies on.
 */
export interface DeleteOptions {
  dryRun: boolean;
  preconditions: { uid?: string; resourceVersion?: string };
}

interface RawDeleteOptions {
  dryRun?: unknown;
  preconditions?: unknown;
  propagationPolicy?: unknown;
  orphanDependents?: unknown;
}

const PROPAGATION = ['Foreground', 'Background', 'Orphan'];

export function readDeleteOptions(query: URLSearchParams, body: Buffer | undefined): DeleteOptions {
  const raw = body !== undefined && body.length > 0 ? fromBody(body) : fromQuery(query);
  const dryRun = raw.dryRun ?? [];
  if (!Array.isArray(dryRun) || dryRun.some((v) => typeof v !== 'string')) throw badRequest('DeleteOptions.dryRun: expected an array of strings');
  const causes: StatusCause[] = [];
  if (raw.orphanDependents !== undefined && raw.orphanDependents !== null && raw.propagationPolicy !== undefined && raw.propagationPolicy !== null) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${goQuote(String(raw.propagationPolicy))}: orphanDependents and deletionPropagation cannot be both set`,
      field: 'propagationPolicy',
    });
  }
  const policy = raw.propagationPolicy ?? undefined;
  if (policy !== undefined && !PROPAGATION.includes(policy as string)) {
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${goQuote(String(policy))}: supported values: ${[...PROPAGATION, 'nil'].map((v) => goQuote(v)).join(', ')}`,
      field: 'propagationPolicy',
    });
  }
  causes.push(...dryRunCauses(dryRun as string[]));
  if (causes.length > 0) throw invalid('DeleteOptions', 'meta.k8s.io', '', causes);
  return {
    dryRun: dryRun.length > 0,
    preconditions: preconditionsOf(raw.preconditions),
  };
}

/** apimachinery's ValidateDryRun: every value must be "All"; the list is shown as Go prints a []string. */
export function dryRunCauses(values: readonly string[]): StatusCause[] {
  if (values.every((v) => v === 'All')) return [];
  const shown = `[]string{${values.map((v) => goQuote(v)).join(', ')}}`;
  return [{ reason: 'FieldValueNotSupported', message: `Unsupported value: ${shown}: supported values: "All"`, field: 'dryRun' }];
}

function fromBody(body: Buffer): RawDeleteOptions {
  const parsed = readOptionsBody(body);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('decoded object cannot be converted to DeleteOptions');
  return parsed as RawDeleteOptions;
}

function fromQuery(query: URLSearchParams): RawDeleteOptions {
  const orphan = query.get('orphanDependents');
  return {
    dryRun: query.getAll('dryRun'),
    ...(query.has('propagationPolicy') ? { propagationPolicy: query.get('propagationPolicy') } : {}),
    ...(orphan !== null ? { orphanDependents: orphan === 'true' } : {}),
  };
}

function preconditionsOf(value: unknown): DeleteOptions['preconditions'] {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest('DeleteOptions.preconditions: expected an object');
  const { uid, resourceVersion } = value as { uid?: unknown; resourceVersion?: unknown };
  return {
    ...(typeof uid === 'string' ? { uid } : {}),
    ...(typeof resourceVersion === 'string' ? { resourceVersion } : {}),
  };
}
