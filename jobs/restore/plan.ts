// Restore's pure decisions: which snapshot objects a run restores, into which namespace, and the
// object to send, with its owner references pointing at the owners' uids of now.

import type { ConfigMap, OwnerReference } from '../../src/kube/types.js';
import { matchesLabels, type LabelSelector } from '../../src/kube/selectors.js';
import { LABEL_TASK_ID, parseArchiveName, taskIdFromName } from '../../src/state/labels.js';

export const RESTORE_MODES = ['create-missing', 'overwrite'] as const;
export type RestoreMode = (typeof RESTORE_MODES)[number];

export interface RestoreFilter {
  /** Only these tasks (their states and archives). */
  taskIds?: ReadonlySet<string>;
  /** Only objects whose labels match. */
  selector?: LabelSelector;
}

/** The task an object belongs to: its label, else its name. */
export function taskIdOf(cm: ConfigMap): string | undefined {
  return cm.metadata.labels?.[LABEL_TASK_ID] ?? taskIdFromName(cm.metadata.name) ?? parseArchiveName(cm.metadata.name)?.taskId;
}

export function selected(cm: ConfigMap, filter: RestoreFilter): boolean {
  if (filter.taskIds) {
    const id = taskIdOf(cm);
    if (id === undefined || !filter.taskIds.has(id)) return false;
  }
  return !filter.selector || matchesLabels(filter.selector, cm.metadata.labels);
}

/** Objects owned by another ConfigMap (archives) are restored after their owners. */
export function ownedByConfigMap(cm: ConfigMap): boolean {
  return (cm.metadata.ownerReferences ?? []).some((o) => o.kind === 'ConfigMap');
}

/** What becomes of one selected object. */
export type RestoreAction = 'create' | 'overwrite' | 'skip-exists';

/**
 * Overwrite replaces an object that exists (after saving it); create-missing leaves it alone.
 * Whether it exists: for overwrite, what was saved beforehand; for create-missing, the create's
 * own 409 (only a dry run reads first).
 */
export function restoreAction(mode: RestoreMode, exists: boolean): RestoreAction {
  if (!exists) return 'create';
  return mode === 'overwrite' ? 'overwrite' : 'skip-exists';
}

export function targetNamespace(cm: ConfigMap, override: string | undefined): string {
  return override ?? cm.metadata.namespace ?? 'default';
}

export interface PreparedObject {
  object: ConfigMap;
  /** Owner references left out because their owner is not there: `ConfigMap/name`. */
  droppedOwners: string[];
}

/**
 * The object as it is sent: in `namespace`, with the snapshot's uids replaced by those of the
 * owners now (`ownerUid(name)`, undefined when the owner does not exist). An owner reference
 * to a missing owner is dropped: with a stale uid the garbage collector would delete the object.
 * Only ConfigMap owners can be looked up; references to other kinds are dropped likewise.
 */
export function prepareObject(cm: ConfigMap, namespace: string, ownerUid: (name: string) => string | undefined): PreparedObject {
  const owners: OwnerReference[] = [];
  const droppedOwners: string[] = [];
  for (const owner of cm.metadata.ownerReferences ?? []) {
    const uid = owner.kind === 'ConfigMap' && owner.apiVersion === 'v1' ? ownerUid(owner.name) : undefined;
    if (uid === undefined) droppedOwners.push(`${owner.kind}/${owner.name}`);
    else owners.push({ ...owner, uid });
  }
  const metadata = { ...cm.metadata, namespace };
  if (owners.length) metadata.ownerReferences = owners;
  else delete metadata.ownerReferences;
  return { object: { ...cm, metadata }, droppedOwners };
}
