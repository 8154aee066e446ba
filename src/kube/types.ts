// Plain shapes of the Kubernetes objects cmstate handles. They mirror the API's JSON, so
// pure code (codec, planners) can use them without importing @kubernetes/client-node.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
}

/** A ConfigMap as the API serves it; `binaryData` values are base64, as on the wire. */
export interface ConfigMap {
  apiVersion?: 'v1';
  kind?: 'ConfigMap';
  metadata: ObjectMeta;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  immutable?: boolean;
}

/** An item of a metadata-only list (`PartialObjectMetadataList`): no data is downloaded. */
export interface ObjectMetadata {
  metadata: ObjectMeta;
}

/** Where an object lives; what a delete or an event refers to. */
export interface ObjectRef {
  namespace: string;
  name: string;
}

/** Preconditions the API server checks before a write or delete. */
export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

export interface Lease {
  apiVersion?: 'coordination.k8s.io/v1';
  kind?: 'Lease';
  metadata: ObjectMeta;
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export type EventType = 'Normal' | 'Warning';

/** A core/v1 Event about one object, as a job reports a destructive action. */
export interface EventRecord {
  involved: { kind: string; namespace: string; name: string; uid?: string; resourceVersion?: string; apiVersion?: string };
  type: EventType;
  reason: string;
  message: string;
  action?: string;
}

/** The ConfigMap an Event is about, as its involvedObject. */
export function involvedConfigMap(object: { namespace?: string; name: string; uid?: string; resourceVersion?: string }): EventRecord['involved'] {
  return { kind: 'ConfigMap', namespace: object.namespace ?? '', name: object.name, uid: object.uid, resourceVersion: object.resourceVersion };
}
