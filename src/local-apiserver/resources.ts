// The resource types the local API server serves, with what discovery, routing, decoding,
// validation, field selectors and storage need to know about each. A kind served in two versions
// (Events, in core/v1 and events.k8s.io/v1) is stored once, as one of them; the other is a view.

import { CORE_EVENT, EVENTS_V1_EVENT, OBJECT_REFERENCE, coreFromEventsV1, eventsV1FromCore } from './events.js';
import { LEASE } from './leases.js';
import type { KubeObject, ResourceDef, Verb } from './resource-def.js';

const VERBS: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** The def whose collection holds the objects of `def`. */
export function storageOf(def: ResourceDef): ResourceDef {
  return def.view?.storage ?? def;
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
  // No deletecollection: the real server removes namespaces one by one, through their finalizers.
  verbs: VERBS.filter((v) => v !== 'deletecollection'),
  fieldLabels: { 'metadata.name': (o) => o.metadata.name, 'status.phase': (o) => nested(o, 'status', 'phase') },
};

function field(obj: KubeObject, key: string): string | undefined {
  const v = obj[key];
  return typeof v === 'string' ? v : undefined;
}

/** The selectable fields of the object an Event is about, under `ref` (involvedObject, or regarding in events.k8s.io). */
function referenceFields(ref: string): Record<string, (obj: KubeObject) => string | undefined> {
  return Object.fromEntries(OBJECT_REFERENCE.fields.map(({ json: k }) => [`${ref}.${k}`, (o: KubeObject) => nested(o, ref, k)]));
}

export const EVENTS: ResourceDef = {
  group: '',
  version: 'v1',
  resource: 'events',
  kind: 'Event',
  singularName: 'event',
  namespaced: true,
  shortNames: ['ev'],
  verbs: VERBS,
  body: CORE_EVENT,
  fieldLabels: {
    ...metadataFields,
    ...referenceFields('involvedObject'),
    reason: (o) => field(o, 'reason'),
    type: (o) => field(o, 'type'),
    reportingComponent: (o) => field(o, 'reportingComponent'),
    // Events written through events.k8s.io/v1 have no source: they are selected by their controller.
    source: (o) => nested(o, 'source', 'component') || field(o, 'reportingComponent'),
  },
};

/** Event in events.k8s.io/v1: the same objects as EVENTS, converted; its field selectors use its own names for the core fields. */
const EVENTS_V1: ResourceDef = {
  group: 'events.k8s.io',
  version: 'v1',
  resource: 'events',
  kind: 'Event',
  singularName: 'event',
  namespaced: true,
  shortNames: ['ev'],
  verbs: VERBS,
  body: EVENTS_V1_EVENT,
  fieldLabels: {
    ...metadataFields,
    ...referenceFields('regarding'),
    reason: (o) => field(o, 'reason'),
    type: (o) => field(o, 'type'),
    reportingController: (o) => field(o, 'reportingController'),
    source: (o) => nested(o, 'deprecatedSource', 'component') || field(o, 'reportingController'),
  },
  view: { storage: EVENTS, toStorage: coreFromEventsV1, fromStorage: eventsV1FromCore },
};

const LEASES: ResourceDef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  resource: 'leases',
  kind: 'Lease',
  singularName: 'lease',
  namespaced: true,
  shortNames: [],
  verbs: VERBS,
  body: LEASE,
  fieldLabels: metadataFields,
};

/** Served kinds, in discovery order. SelfSubjectAccessReview is handled apart: it is create-only and stores nothing. */
export const RESOURCES: readonly ResourceDef[] = [CONFIGMAPS, EVENTS, NAMESPACES, LEASES, EVENTS_V1];

export function findResource(group: string, version: string, resource: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export function findKind(apiVersion: string, kind: string): ResourceDef | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}
