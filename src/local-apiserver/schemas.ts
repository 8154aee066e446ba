// The OpenAPI (Swagger 2.0) definitions of the types the server serves, named as the real server
// names them: the one source of the OpenAPI v2 and v3 documents (kubectl validates `create -f`
// against them and reads patch strategies from them) and of Table column descriptions. Structure,
// types, required fields and the x-kubernetes-* extensions are the real ones; descriptions are kept
// only where the server shows them elsewhere (Table columns), verbatim from kube-apiserver v1.32.

export type SchemaObject = Record<string, unknown>;

const CORE = 'io.k8s.api.core.v1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const COORDINATION = 'io.k8s.api.coordination.v1';
const EVENTS = 'io.k8s.api.events.v1';
const AUTHORIZATION = 'io.k8s.api.authorization.v1';

const string: SchemaObject = { type: 'string' };
const boolean: SchemaObject = { type: 'boolean' };
const int32: SchemaObject = { type: 'integer', format: 'int32' };
const int64: SchemaObject = { type: 'integer', format: 'int64' };
const stringMap: SchemaObject = { type: 'object', additionalProperties: string };
const atomicStrings: SchemaObject = { type: 'array', items: string, 'x-kubernetes-list-type': 'atomic' };

function ref(name: string): SchemaObject {
  return { $ref: `#/definitions/${name}` };
}

function described(schema: SchemaObject, description: string): SchemaObject {
  return { ...schema, description };
}

function arrayOf(name: string, extensions: SchemaObject = {}): SchemaObject {
  return { type: 'array', items: ref(name), ...extensions };
}

function object(properties: Record<string, SchemaObject>, extra: SchemaObject = {}): SchemaObject {
  return { type: 'object', properties, ...extra };
}

function gvk(group: string, version: string, kind: string): SchemaObject {
  return { 'x-kubernetes-group-version-kind': [{ group, kind, version }] };
}

const typeMeta = { apiVersion: string, kind: string };

/** A top-level kind: TypeMeta, ObjectMeta and its own fields. */
function kind(group: string, version: string, name: string, properties: Record<string, SchemaObject>, required?: string[]): SchemaObject {
  return object({ ...typeMeta, metadata: ref(`${META}.ObjectMeta`), ...properties }, { ...(required ? { required } : {}), ...gvk(group, version, name) });
}

function list(group: string, version: string, name: string, item: string): SchemaObject {
  return object({ ...typeMeta, items: arrayOf(item), metadata: ref(`${META}.ListMeta`) }, { required: ['items'], ...gvk(group, version, name) });
}

const time: SchemaObject = { type: 'string', format: 'date-time' };

const objectReference = object(
  {
    apiVersion: string,
    fieldPath: described(
      string,
      'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.',
    ),
    kind: string,
    name: string,
    namespace: string,
    resourceVersion: string,
    uid: string,
  },
  { 'x-kubernetes-map-type': 'atomic' },
);

const objectMeta = object({
  annotations: stringMap,
  creationTimestamp: described(
    ref(`${META}.Time`),
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  ),
  deletionGracePeriodSeconds: int64,
  deletionTimestamp: ref(`${META}.Time`),
  finalizers: { type: 'array', items: string, 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
  generateName: string,
  generation: int64,
  labels: stringMap,
  managedFields: arrayOf(`${META}.ManagedFieldsEntry`, { 'x-kubernetes-list-type': 'atomic' }),
  name: described(
    string,
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  ),
  namespace: string,
  ownerReferences: arrayOf(`${META}.OwnerReference`, {
    'x-kubernetes-list-map-keys': ['uid'],
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-patch-merge-key': 'uid',
    'x-kubernetes-patch-strategy': 'merge',
  }),
  resourceVersion: string,
  selfLink: string,
  uid: string,
});

/** The group-versions DeleteOptions and WatchEvent are registered in: the ones this server serves. */
const SERVED_GROUP_VERSIONS = [
  ['', 'v1'],
  ['authorization.k8s.io', 'v1'],
  ['coordination.k8s.io', 'v1'],
  ['events.k8s.io', 'v1'],
] as const;

function inEveryGroup(name: string): SchemaObject {
  return { 'x-kubernetes-group-version-kind': SERVED_GROUP_VERSIONS.map(([group, version]) => ({ group, kind: name, version })) };
}

const selectorRequirement = object({ key: string, operator: string, values: atomicStrings }, { required: ['key', 'operator'] });

/** Every definition, by the name `#/definitions/…` references use. */
export const DEFINITIONS: Readonly<Record<string, SchemaObject>> = {
  [`${CORE}.ConfigMap`]: kind('', 'v1', 'ConfigMap', {
    binaryData: { type: 'object', additionalProperties: { type: 'string', format: 'byte' } },
    data: described(
      stringMap,
      "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
    ),
    immutable: boolean,
  }),
  [`${CORE}.ConfigMapList`]: list('', 'v1', 'ConfigMapList', `${CORE}.ConfigMap`),
  [`${CORE}.Event`]: kind(
    '',
    'v1',
    'Event',
    {
      action: string,
      count: described(int32, 'The number of times this event has occurred.'),
      eventTime: ref(`${META}.MicroTime`),
      firstTimestamp: described(ref(`${META}.Time`), 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)'),
      involvedObject: described(ref(`${CORE}.ObjectReference`), 'The object that this event is about.'),
      lastTimestamp: described(ref(`${META}.Time`), 'The time at which the most recent occurrence of this event was recorded.'),
      message: described(string, 'A human-readable description of the status of this operation.'),
      reason: described(string, "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
      related: ref(`${CORE}.ObjectReference`),
      reportingComponent: string,
      reportingInstance: string,
      series: ref(`${CORE}.EventSeries`),
      source: described(ref(`${CORE}.EventSource`), 'The component reporting this event. Should be a short machine understandable string.'),
      type: described(string, 'Type of this event (Normal, Warning), new types could be added in the future'),
    },
    ['metadata', 'involvedObject'],
  ),
  [`${CORE}.EventList`]: list('', 'v1', 'EventList', `${CORE}.Event`),
  [`${CORE}.EventSeries`]: object({ count: int32, lastObservedTime: ref(`${META}.MicroTime`) }),
  [`${CORE}.EventSource`]: object({ component: string, host: string }),
  [`${CORE}.Namespace`]: kind('', 'v1', 'Namespace', { spec: ref(`${CORE}.NamespaceSpec`), status: ref(`${CORE}.NamespaceStatus`) }),
  [`${CORE}.NamespaceCondition`]: object({ lastTransitionTime: ref(`${META}.Time`), message: string, reason: string, status: string, type: string }, { required: ['type', 'status'] }),
  [`${CORE}.NamespaceList`]: list('', 'v1', 'NamespaceList', `${CORE}.Namespace`),
  [`${CORE}.NamespaceSpec`]: object({ finalizers: atomicStrings }),
  [`${CORE}.NamespaceStatus`]: object({
    conditions: arrayOf(`${CORE}.NamespaceCondition`, {
      'x-kubernetes-list-map-keys': ['type'],
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-patch-merge-key': 'type',
      'x-kubernetes-patch-strategy': 'merge',
    }),
    phase: string,
  }),
  [`${CORE}.ObjectReference`]: objectReference,

  [`${COORDINATION}.Lease`]: kind('coordination.k8s.io', 'v1', 'Lease', { spec: ref(`${COORDINATION}.LeaseSpec`) }),
  [`${COORDINATION}.LeaseList`]: list('coordination.k8s.io', 'v1', 'LeaseList', `${COORDINATION}.Lease`),
  [`${COORDINATION}.LeaseSpec`]: object({
    acquireTime: ref(`${META}.MicroTime`),
    holderIdentity: described(
      string,
      'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.',
    ),
    leaseDurationSeconds: int32,
    leaseTransitions: int32,
    preferredHolder: string,
    renewTime: ref(`${META}.MicroTime`),
    strategy: string,
  }),

  [`${EVENTS}.Event`]: kind(
    'events.k8s.io',
    'v1',
    'Event',
    {
      action: string,
      deprecatedCount: int32,
      deprecatedFirstTimestamp: ref(`${META}.Time`),
      deprecatedLastTimestamp: ref(`${META}.Time`),
      deprecatedSource: ref(`${CORE}.EventSource`),
      eventTime: ref(`${META}.MicroTime`),
      note: string,
      reason: string,
      regarding: ref(`${CORE}.ObjectReference`),
      related: ref(`${CORE}.ObjectReference`),
      reportingController: string,
      reportingInstance: string,
      series: ref(`${EVENTS}.EventSeries`),
      type: string,
    },
    ['eventTime'],
  ),
  [`${EVENTS}.EventList`]: list('events.k8s.io', 'v1', 'EventList', `${EVENTS}.Event`),
  [`${EVENTS}.EventSeries`]: object({ count: int32, lastObservedTime: ref(`${META}.MicroTime`) }, { required: ['count', 'lastObservedTime'] }),

  [`${AUTHORIZATION}.FieldSelectorAttributes`]: object({
    rawSelector: string,
    requirements: arrayOf(`${META}.FieldSelectorRequirement`, { 'x-kubernetes-list-type': 'atomic' }),
  }),
  [`${AUTHORIZATION}.LabelSelectorAttributes`]: object({
    rawSelector: string,
    requirements: arrayOf(`${META}.LabelSelectorRequirement`, { 'x-kubernetes-list-type': 'atomic' }),
  }),
  [`${AUTHORIZATION}.NonResourceAttributes`]: object({ path: string, verb: string }),
  [`${AUTHORIZATION}.ResourceAttributes`]: object({
    fieldSelector: ref(`${AUTHORIZATION}.FieldSelectorAttributes`),
    group: string,
    labelSelector: ref(`${AUTHORIZATION}.LabelSelectorAttributes`),
    name: string,
    namespace: string,
    resource: string,
    subresource: string,
    verb: string,
    version: string,
  }),
  [`${AUTHORIZATION}.SelfSubjectAccessReview`]: kind(
    'authorization.k8s.io',
    'v1',
    'SelfSubjectAccessReview',
    { spec: ref(`${AUTHORIZATION}.SelfSubjectAccessReviewSpec`), status: ref(`${AUTHORIZATION}.SubjectAccessReviewStatus`) },
    ['spec'],
  ),
  [`${AUTHORIZATION}.SelfSubjectAccessReviewSpec`]: object({
    nonResourceAttributes: ref(`${AUTHORIZATION}.NonResourceAttributes`),
    resourceAttributes: ref(`${AUTHORIZATION}.ResourceAttributes`),
  }),
  [`${AUTHORIZATION}.SubjectAccessReviewStatus`]: object({ allowed: boolean, denied: boolean, evaluationError: string, reason: string }, { required: ['allowed'] }),

  [`${META}.DeleteOptions`]: object(
    {
      ...typeMeta,
      dryRun: atomicStrings,
      gracePeriodSeconds: int64,
      ignoreStoreReadErrorWithClusterBreakingPotential: boolean,
      orphanDependents: boolean,
      preconditions: ref(`${META}.Preconditions`),
      propagationPolicy: string,
    },
    inEveryGroup('DeleteOptions'),
  ),
  [`${META}.FieldSelectorRequirement`]: selectorRequirement,
  [`${META}.FieldsV1`]: { type: 'object' },
  [`${META}.LabelSelectorRequirement`]: selectorRequirement,
  [`${META}.ListMeta`]: object({ continue: string, remainingItemCount: int64, resourceVersion: string, selfLink: string }),
  [`${META}.ManagedFieldsEntry`]: object({
    apiVersion: string,
    fieldsType: string,
    fieldsV1: ref(`${META}.FieldsV1`),
    manager: string,
    operation: string,
    subresource: string,
    time: ref(`${META}.Time`),
  }),
  [`${META}.MicroTime`]: time,
  [`${META}.ObjectMeta`]: objectMeta,
  [`${META}.OwnerReference`]: object(
    { apiVersion: string, blockOwnerDeletion: boolean, controller: boolean, kind: string, name: string, uid: string },
    { required: ['apiVersion', 'kind', 'name', 'uid'], 'x-kubernetes-map-type': 'atomic' },
  ),
  [`${META}.Patch`]: { type: 'object' },
  [`${META}.Preconditions`]: object({ resourceVersion: string, uid: string }),
  [`${META}.Status`]: object(
    {
      ...typeMeta,
      code: int32,
      details: ref(`${META}.StatusDetails`),
      message: string,
      metadata: ref(`${META}.ListMeta`),
      reason: string,
      status: string,
    },
    gvk('', 'v1', 'Status'),
  ),
  [`${META}.StatusCause`]: object({ field: string, message: string, reason: string }),
  [`${META}.StatusDetails`]: object({
    causes: arrayOf(`${META}.StatusCause`, { 'x-kubernetes-list-type': 'atomic' }),
    group: string,
    kind: string,
    name: string,
    retryAfterSeconds: int32,
    uid: string,
  }),
  [`${META}.Time`]: time,
  [`${META}.WatchEvent`]: object({ object: ref('io.k8s.apimachinery.pkg.runtime.RawExtension'), type: string }, { required: ['type', 'object'], ...inEveryGroup('WatchEvent') }),
  'io.k8s.apimachinery.pkg.runtime.RawExtension': { type: 'object' },
};

/** The definition of an API kind, found by its x-kubernetes-group-version-kind as kubectl finds it. */
export function definitionOf(group: string, version: string, kindName: string): string | undefined {
  return Object.keys(DEFINITIONS).find((name) => {
    const gvks = (DEFINITIONS[name] as SchemaObject)['x-kubernetes-group-version-kind'];
    return Array.isArray(gvks) && gvks.some((g) => g.group === group && g.version === version && g.kind === kindName);
  });
}

/** The description of a field: what the real server's Table columns show (Go's SwaggerDoc). */
export function fieldDescription(definition: string, field: string): string {
  const properties = (DEFINITIONS[definition]?.['properties'] ?? {}) as Record<string, SchemaObject>;
  const description = properties[field]?.['description'];
  if (typeof description !== 'string') throw new Error(`no description for ${definition}.${field}`);
  return description;
}

export const OBJECT_META = `${META}.ObjectMeta`;
