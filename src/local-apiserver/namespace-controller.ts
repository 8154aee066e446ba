// kube-controller-manager's namespace controller: a namespace that a DELETE turned Terminating is
// emptied a moment later (every object in it deleted, with the usual watch events) and then removed,
// so a client sees what it sees on a real cluster: Terminating first, 403 for new content, then 404.

import { NAMESPACES, RESOURCES } from './resources.js';
import type { Store, StoreEvent, StoredObject } from './store.js';

const NAMESPACED = RESOURCES.filter((r) => r.namespaced);

export class NamespaceController {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly delayMs: number,
  ) {
    this.unsubscribe = store.subscribe((event) => this.observe(event));
    // Namespaces a data file left Terminating.
    for (const ns of store.list(NAMESPACES, {}).items) if (isTerminating(ns)) this.schedule(ns.name);
  }

  stop(): void {
    this.unsubscribe();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private observe({ type, object }: StoreEvent): void {
    if (object.def === NAMESPACES && type === 'MODIFIED' && isTerminating(object)) this.schedule(object.name);
  }

  private schedule(namespace: string): void {
    if (this.timers.has(namespace)) return;
    const timer = setTimeout(() => {
      this.timers.delete(namespace);
      this.finalize(namespace);
    }, this.delayMs);
    timer.unref();
    this.timers.set(namespace, timer);
  }

  private finalize(namespace: string): void {
    const ns = this.store.get(NAMESPACES, undefined, namespace);
    if (!ns || !isTerminating(ns)) return;
    for (const s of this.store.objectsInNamespace(NAMESPACED, namespace)) this.store.delete(s.def, s);
    this.store.delete(NAMESPACES, ns);
  }
}

/** A namespace a DELETE has turned Terminating: it takes no new content until it is gone. */
export function isTerminating(ns: StoredObject): boolean {
  return ns.obj.metadata['deletionTimestamp'] !== undefined;
}
