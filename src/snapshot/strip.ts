// What a snapshot keeps of a ConfigMap: what its writer set, not what the server assigned.
// resourceVersion, uid, timestamps, generation and managedFields are the server's and are
// assigned afresh on restore. Owner references are kept as they were: they carry the owner's
// name, by which restore finds the owner's new uid.

import type { ConfigMap, ObjectMeta } from '../kube/types.js';

const SERVER_OWNED: readonly (keyof ObjectMeta)[] = ['resourceVersion', 'uid', 'creationTimestamp', 'deletionTimestamp', 'generation', 'managedFields'];

export function stripServerFields(cm: ConfigMap): ConfigMap {
  const metadata: ObjectMeta = { ...cm.metadata };
  for (const key of SERVER_OWNED) delete metadata[key];
  // Fields outside the typed shape (selfLink, deletionGracePeriodSeconds) are the server's too.
  for (const key of ['selfLink', 'deletionGracePeriodSeconds']) delete (metadata as unknown as Record<string, unknown>)[key];
  const stripped: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata };
  if (cm.data !== undefined) stripped.data = cm.data;
  if (cm.binaryData !== undefined) stripped.binaryData = cm.binaryData;
  if (cm.immutable !== undefined) stripped.immutable = cm.immutable;
  return stripped;
}
