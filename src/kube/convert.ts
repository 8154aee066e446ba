// Objects across the edge: the generated client's models (Dates, classes) to the plain shapes of
// ./types.ts that the rest of cmstate speaks (the API's JSON, RFC 3339 strings), and back.

import { V1MicroTime, type V1ConfigMap, type V1Lease, type V1ObjectMeta } from '@kubernetes/client-node';
import type { RawObject } from './list-stream.js';
import type { ConfigMap, Lease, ObjectMeta } from './types.js';

export function fromV1Meta(meta: V1ObjectMeta | undefined): ObjectMeta {
  const m = meta ?? {};
  return dropUndefined({
    name: m.name ?? '',
    namespace: m.namespace,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    // Through Date whether it was parsed by the model (get) or not (list items): one spelling.
    creationTimestamp: m.creationTimestamp ? new Date(m.creationTimestamp).toISOString() : undefined,
    deletionTimestamp: m.deletionTimestamp ? new Date(m.deletionTimestamp).toISOString() : undefined,
    generation: m.generation,
    labels: m.labels,
    annotations: m.annotations,
    ownerReferences: m.ownerReferences?.map((o) => dropUndefined({ ...o })),
    finalizers: m.finalizers,
  });
}

/** Server-owned timestamps and managedFields are not sent back: the server sets them. */
export function toV1Meta(meta: ObjectMeta): V1ObjectMeta {
  return dropUndefined({
    name: meta.name,
    namespace: meta.namespace,
    uid: meta.uid,
    resourceVersion: meta.resourceVersion,
    labels: meta.labels,
    annotations: meta.annotations,
    ownerReferences: meta.ownerReferences,
    finalizers: meta.finalizers,
  });
}

/** A ConfigMap as a list item's JSON has it: the same shape as a read through the generated model. */
export function fromRawConfigMap(raw: RawObject): ConfigMap {
  return fromV1ConfigMap({ ...raw, metadata: raw.metadata as V1ObjectMeta | undefined } as V1ConfigMap);
}

export function fromV1ConfigMap(v1: V1ConfigMap): ConfigMap {
  return dropUndefined({ apiVersion: 'v1' as const, kind: 'ConfigMap' as const, metadata: fromV1Meta(v1.metadata), data: v1.data, binaryData: v1.binaryData, immutable: v1.immutable });
}

export function toV1ConfigMap(cm: ConfigMap): V1ConfigMap {
  return dropUndefined({ apiVersion: 'v1', kind: 'ConfigMap', metadata: toV1Meta(cm.metadata), data: cm.data, binaryData: cm.binaryData, immutable: cm.immutable });
}

export function fromV1Lease(v1: V1Lease): Lease {
  const spec = v1.spec;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: fromV1Meta(v1.metadata),
    spec: spec
      ? dropUndefined({
          holderIdentity: spec.holderIdentity,
          leaseDurationSeconds: spec.leaseDurationSeconds,
          acquireTime: spec.acquireTime ? toRfc3339(spec.acquireTime as unknown as Date) : undefined,
          renewTime: spec.renewTime ? toRfc3339(spec.renewTime as unknown as Date) : undefined,
          leaseTransitions: spec.leaseTransitions,
        })
      : undefined,
  };
}

export function toV1Lease(lease: Lease): V1Lease {
  const spec = lease.spec ?? {};
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: toV1Meta(lease.metadata),
    spec: dropUndefined({
      holderIdentity: spec.holderIdentity,
      leaseDurationSeconds: spec.leaseDurationSeconds,
      // MicroTime: the API server accepts exactly six fractional digits, not Date's three.
      acquireTime: spec.acquireTime ? new V1MicroTime(spec.acquireTime) : undefined,
      renewTime: spec.renewTime ? new V1MicroTime(spec.renewTime) : undefined,
      leaseTransitions: spec.leaseTransitions,
    }) as V1Lease['spec'],
  };
}

function toRfc3339(value: Date | string): string {
  return typeof value === 'string' ? value : value.toISOString();
}

/** `value` without its undefined properties, as a new object: deleting them instead would turn every listed object's metadata into a slow dictionary-mode object. */
export function dropUndefined<T extends object>(value: T): T {
  const defined = {} as T;
  for (const key in value) if (value[key] !== undefined) defined[key] = value[key];
  return defined;
}
