// The query of a list or watch request, read in kube-apiserver's order: decoding the parameters
// (a bad selector or number is a 400), validating them as ListOptions (422), then mapping the field
// selector onto the resource's field labels (an unknown label is a 400).

import { goQuote } from './go-json-syntax.js';
import type { ResourceDef } from './resource-def.js';
import { SelectorParseError, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, type FieldSelector, type LabelSelector } from '../kube/selectors.js';
import { badRequest, invalid, type StatusCause } from './status.js';
import type { StoredObject } from './store.js';

/** Parsed list options shared by list, watch and deletecollection. */
export interface ListQuery {
  labels: LabelSelector;
  fields: FieldSelector;
  /** 0: no limit (a negative limit is none too, as on the real server). */
  limit: number;
  /** As sent; '' when absent. "0" means any version, served from the watch cache. */
  resourceVersion: string;
  resourceVersionMatch: string;
  continueToken: string;
}

const MATCH_VALUES = ['Exact', 'NotOlderThan', ''];

export function parseListQuery(def: ResourceDef, query: URLSearchParams, watch = false): ListQuery {
  let labels: LabelSelector;
  let fields: FieldSelector;
  try {
    labels = parseLabelSelector(query.get('labelSelector') ?? '');
    fields = parseFieldSelector(query.get('fieldSelector') ?? '');
  } catch (err) {
    if (err instanceof SelectorParseError) throw badRequest(err.message);
    throw err;
  }
  const resourceVersion = query.get('resourceVersion') ?? '';
  const resourceVersionMatch = query.get('resourceVersionMatch') ?? '';
  const limit = parseInt64(query.get('limit'));
  const continueToken = query.get('continue') ?? '';
  const causes = validateListOptions({ watch, resourceVersion, resourceVersionMatch, continueToken });
  if (causes.length > 0) throw invalid('ListOptions', 'meta.k8s.io', '', causes);
  for (const f of fields) {
    if (!def.fieldLabels[f.field]) throw badRequest(unknownFieldLabel(def, f.field));
  }
  return { labels, fields, limit: Math.max(0, limit), resourceVersion, resourceVersionMatch, continueToken };
}

/** A query parameter as Go's strconv.ParseInt reads an int64, with its error texts. */
function parseInt64(text: string | null): number {
  if (text === null || text === '') return 0;
  if (!/^[+-]?\d+$/.test(text)) throw badRequest(`strconv.ParseInt: parsing ${goQuote(text)}: invalid syntax`);
  const value = BigInt(text);
  if (value > 9223372036854775807n || value < -9223372036854775808n) {
    throw badRequest(`strconv.ParseInt: parsing ${goQuote(text)}: value out of range`);
  }
  return Number(value);
}

/** apimachinery's ValidateListOptions. */
function validateListOptions(o: { watch: boolean; resourceVersion: string; resourceVersionMatch: string; continueToken: string }): StatusCause[] {
  const match = o.resourceVersionMatch;
  if (match === '') return [];
  const forbidden = (message: string): StatusCause => ({ reason: 'FieldValueForbidden', message: `Forbidden: ${message}`, field: 'resourceVersionMatch' });
  const causes: StatusCause[] = [];
  if (o.watch) causes.push(forbidden('resourceVersionMatch is forbidden for watch'));
  if (o.resourceVersion === '') causes.push(forbidden('resourceVersionMatch is forbidden unless resourceVersion is provided'));
  if (o.continueToken !== '') causes.push(forbidden('resourceVersionMatch is forbidden when continue is provided'));
  if (match !== 'Exact' && match !== 'NotOlderThan') {
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${goQuote(match)}: supported values: ${MATCH_VALUES.map((v) => goQuote(v)).join(', ')}`,
      field: 'resourceVersionMatch',
    });
  }
  if (match === 'Exact' && o.resourceVersion === '0') causes.push(forbidden('resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
  return causes;
}

/**
 * Kinds with a field label conversion of their own (events, namespaces) word an unknown label one
 * way; the rest fall back to runtime.DefaultMetaV1FieldSelectorConversion, which words it another.
 */
function unknownFieldLabel(def: ResourceDef, field: string): string {
  const labels = Object.keys(def.fieldLabels);
  const metadataOnly = labels.length === 2 && labels.includes('metadata.name') && labels.includes('metadata.namespace');
  return metadataOnly ? `${goQuote(field)} is not a known field selector: only "metadata.name", "metadata.namespace"` : `field label not supported: ${field}`;
}

export function matchesListQuery(q: Pick<ListQuery, 'labels' | 'fields'>, stored: StoredObject): boolean {
  if (q.labels.length > 0 && !matchesLabels(q.labels, stored.obj.metadata.labels)) return false;
  if (q.fields.length > 0) {
    const labels = stored.def.fieldLabels;
    if (!matchesFields(q.fields, (f) => labels[f]?.(stored.obj))) return false;
  }
  return true;
}
