// What the repair planner needs to know about the other observed objects, by name only: which
// task states exist (an archive without one is an orphan) and each task's highest archive index
// (new archives are numbered after it). Names only, so it stays small for any number of objects.

import type { ObjectMeta } from '../../src/kube/types.js';
import { LABEL_STATE, STATE_VALUE_ARCHIVE, STATE_VALUE_TASK, parseArchiveName, stateConfigMapName } from '../../src/state/labels.js';

export class ObservedIndex {
  private readonly tasks = new Set<string>();
  private readonly archives = new Map<string, number>();

  /** An index of these objects' metadata. */
  static of(objects: Iterable<{ metadata: ObjectMeta }>): ObservedIndex {
    const index = new ObservedIndex();
    for (const object of objects) index.add(object.metadata);
    return index;
  }

  /** Records one object; anything but a task state or an archive is ignored. */
  add(meta: Pick<ObjectMeta, 'namespace' | 'name' | 'labels'>): void {
    const kind = meta.labels?.[LABEL_STATE];
    const namespace = meta.namespace ?? '';
    if (kind === STATE_VALUE_TASK) this.tasks.add(key(namespace, meta.name));
    if (kind !== STATE_VALUE_ARCHIVE) return;
    const parsed = parseArchiveName(meta.name);
    if (parsed === undefined) return;
    const task = key(namespace, stateConfigMapName(parsed.taskId));
    this.archives.set(task, Math.max(this.archives.get(task) ?? 0, parsed.index));
  }

  hasTask(namespace: string, name: string): boolean {
    return this.tasks.has(key(namespace, name));
  }

  /** The highest `n` of the task's `task-{id}-state-archive-{n}`, 0 when it has none. */
  highestArchiveIndex(namespace: string, taskName: string): number {
    return this.archives.get(key(namespace, taskName)) ?? 0;
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
