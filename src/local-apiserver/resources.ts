// The resource types the local API server serves, with what discovery, routing, validation and
// field selectors need to know about each.

import type { GroupResource } from './status.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

export const VERBS: readonly Verb[] = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export interface ResourceDef extends GroupResource {
  version: string;
  kind: string;
  singularName: string;
  namespaced: boolean;
  shortNames: readonly string[];
  verbs: readonly Verb[];
  /** Top-level fields the type has; anything else is an unknown field (dropped, or 400 when strict). */
  fields: ReadonlySet<string>;
  /** Field selectors the real server supports for this type, and how to read them from an object. */
  fieldLabels: Readonly<Record<string, (obj: KubeObject) => string | undefined>>;
}

/** Any object of a served kind, as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: Record<string, unknown> & { name?: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export function apiVersionOf(def: ResourceDef): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

const metadataFields = {
  'metadata.name': (o: KubeObject) => o.metadata.name,
  'metadata.namespace': (o: KubeObject) => o.metadata.namespace,
};

function nested(obj: KubeObject, field: string, key: string): string | undefined {
  const parent = obj[field];
  if (parent && typeof parent === 'object') {
    const v = (parent as Record<string, unknown>)[key];
    return v === undefined || v === null ? undefined : String(v);
  }
  return undefined;
}

export const CONFIGMAPS: ResourceDef = {
  group: '',
  version: 'v1',
  resource: 'configmaps',
  kind: 'ConfigMap',
  singularName: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  verbs: VERBS,
  fields: new Set(['apiVersion', 'kind', 'metadata', 'data', 'binaryData', 'immutable']),
  fieldLabels: metadataFields,
};

export const NAMESPACES: ResourceDef = {
  group: '',
  version: 'v1',
  resource: 'namespaces',
  kind: 'Namespace',
  singularName: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  verbs: VERBS,
  fields: new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']),
  fieldLabels: { 'metadata.name': (o) => o.metadata.name, 'status.phase': (o) => nested(o, 'status', 'phase') },
};

export const EVENTS: ResourceDef = {
  group: '',
  version: 'v1',
  resource: 'events',
  kind: 'Event',
  singularName: 'event',
  namespaced: true,
  shortNames: ['ev'],
  verbs: VERBS,
  fields: new Set([
    'apiVersion', 'kind', 'metadata', 'involvedObject', 'reason', 'message', 'source', 'firstTimestamp',
    'lastTimestamp', 'count', 'type', 'eventTime', 'series', 'action', 'related', 'reportingComponent',
    'reportingInstance',
  ]),
  fieldLabels: {
    ...metadataFields,
    'involvedObject.kind': (o) => nested(o, 'involvedObject', 'kind'),
    'involvedObject.namespace': (o) => nested(o, 'involvedObject', 'namespace'),
    'involvedObject.name': (o) => nested(o, 'involvedObject', 'name'),
    'involvedObject.uid': (o) => nested(o, 'involvedObject', 'uid'),
    'involvedObject.apiVersion': (o) => nested(o, 'involvedObject', 'apiVersion'),
    'involvedObject.resourceVersion': (o) => nested(o, 'involvedObject', 'resourceVersion'),
    'involvedObject.fieldPath': (o) => nested(o, 'involvedObject', 'fieldPath'),
    reason: (o) => (typeof o['reason'] === 'string' ? o['reason'] : undefined),
    type: (o) => (typeof o['type'] === 'string' ? o['type'] : undefined),
    reportingComponent: (o) => (typeof o['reportingComponent'] === 'string' ? o['reportingComponent'] : undefined),
    'source': (o) => nested(o, 'source', 'component'),
  },
};

export const LEASES: ResourceDef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  resource: 'leases',
  kind: 'Lease',
  singularName: 'lease',
  namespaced: true,
  shortNames: [],
  verbs: VERBS,
  fields: new Set(['apiVersion', 'kind', 'metadata', 'spec']),
  fieldLabels: metadataFields,
};

/** Served kinds, in discovery order. SelfSubjectAccessReview is handled apart: it is create-only and stores nothing. */
export const RESOURCES: readonly ResourceDef[] = [CONFIGMAPS, EVENTS, NAMESPACES, LEASES];

export function findResource(group: string, version: string, resource: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export function findKind(apiVersion: string, kind: string): ResourceDef | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}
