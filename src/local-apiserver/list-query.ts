// Label and field selectors of a list or watch request, checked against the resource's
// supported field labels (unknown ones are a 400, as on the real server).

import type { ResourceDef } from './resources.js';
import {
  SelectorParseError,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  type FieldSelector,
  type LabelSelector,
} from '../kube/selectors.js';
import { badRequest } from './status.js';
import type { StoredObject } from './store.js';

/** Parsed list options shared by list and watch. */
export interface ListQuery {
  labels: LabelSelector;
  fields: FieldSelector;
}

export function parseListQuery(def: ResourceDef, query: URLSearchParams): ListQuery {
  try {
    const labels = parseLabelSelector(query.get('labelSelector') ?? '');
    const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
    for (const f of fields) {
      if (!def.fieldLabels[f.field]) throw badRequest(`field label not supported: ${f.field}`);
    }
    return { labels, fields };
  } catch (err) {
    if (err instanceof SelectorParseError) throw badRequest(err.message);
    throw err;
  }
}

export function matchesListQuery(q: ListQuery, stored: StoredObject): boolean {
  if (q.labels.length > 0 && !matchesLabels(q.labels, stored.obj.metadata.labels)) return false;
  if (q.fields.length > 0) {
    const labels = stored.def.fieldLabels;
    if (!matchesFields(q.fields, (f) => labels[f]?.(stored.obj))) return false;
  }
  return true;
}
