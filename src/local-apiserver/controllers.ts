// What kube-controller-manager does to the objects a client sees, so that code and tests meet the
// same world here as on a real cluster: the root-CA publisher puts a kube-root-ca.crt ConfigMap in
// every namespace, the garbage collector deletes dependents whose owners are gone, and the
// namespace controller (namespace-controller.ts) empties and removes a Terminating namespace. All
// work off the store's change stream and act a moment later, as the real controllers do.

import type { ResourceApi } from './api.js';
import { NamespaceController, isTerminating } from './namespace-controller.js';
import { ApiError } from './status.js';
import { CONFIGMAPS, NAMESPACES, findKind } from './resources.js';
import type { KubeObject, ResourceDef } from './resource-def.js';
import type { Store, StoreEvent, StoredObject } from './store.js';

export interface ControllerContext {
  store: Store;
  /** Creates go through the server's own checks (validation, uid, creationTimestamp, 404 for a missing namespace). */
  api: Pick<ResourceApi, 'prepareNew' | 'checkCreatable'>;
}

export interface Controller {
  stop(): void;
}

const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

/**
 * A self-signed CA certificate (CN=kubernetes). The local server speaks plain HTTP, so nothing
 * verifies against it: it is here so the ConfigMap looks like a real cluster's. Its key was discarded.
 */
const ROOT_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBgjCCASegAwIBAgIUDgdolO9nj3aBfewAiDk511Wge9owCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3ViZXJuZXRlczAgFw0yNjEyMDExNTEzMjBaGA8yMTI2MTEw
NzE1MTMyMFowFTETMBEGA1UEAwwKa3ViZXJuZXRlczBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABJqvFAu14Z5HNR1fQsVLQdTERFB6CYl1OPjh8k3yQkAINo6IMpMs
WjJX9RVkyuG7GzUUzgmkBK9XXQxO4CRuo6ajUzBRMB0GA1UdDgQWBBRoEtlmQ9wC
79NnDIV3bJc+Kzb7QzAfBgNVHSMEGDAWgBRoEtlmQ9wC79NnDIV3bJc+Kzb7QzAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQDKfJMVnE0LnA/SVRUx
EyWHlQX/yod55ij4YsH6Py/m2QIhAKn5GUb7qd9BGdmyxlGmziqI2W0N/da3uGKy
zzbnpc+2
-----END CERTIFICATE-----
`;

/**
 * kube-controller-manager's root-ca-cert-publisher: every active namespace holds a
 * kube-root-ca.crt ConfigMap with the CA bundle, recreated when deleted and put back when changed.
 * Namespaces are synced on the next turn of the event loop, never inside the write that changed them.
 */
class RootCaPublisher implements Controller {
  private readonly queue = new Set<string>();
  private pending: NodeJS.Immediate | undefined;
  private readonly unsubscribe: () => void;

  constructor(private readonly ctx: ControllerContext) {
    this.unsubscribe = ctx.store.subscribe((event) => this.observe(event));
    // Namespaces from a data file, or seeded before this controller started.
    for (const ns of ctx.store.list(NAMESPACES, {}).items) this.enqueue(ns.name);
  }

  stop(): void {
    this.unsubscribe();
    if (this.pending) clearImmediate(this.pending);
    this.pending = undefined;
    this.queue.clear();
  }

  private observe({ type, object }: StoreEvent): void {
    if (object.def === NAMESPACES && type !== 'DELETED') this.enqueue(object.name);
    else if (object.def === CONFIGMAPS && object.name === ROOT_CA_CONFIGMAP && object.namespace !== undefined) this.enqueue(object.namespace);
  }

  private enqueue(namespace: string): void {
    this.queue.add(namespace);
    this.pending ??= setImmediate(() => {
      this.pending = undefined;
      const namespaces = [...this.queue];
      this.queue.clear();
      for (const ns of namespaces) this.sync(ns);
    });
  }

  private sync(namespace: string): void {
    const { store, api } = this.ctx;
    const ns = store.get(NAMESPACES, undefined, namespace);
    if (!ns || isTerminating(ns)) return;
    const existing = store.get(CONFIGMAPS, namespace, ROOT_CA_CONFIGMAP);
    if (!existing) {
      try {
        const obj = api.prepareNew(
          CONFIGMAPS,
          { metadata: { name: ROOT_CA_CONFIGMAP, annotations: { 'kubernetes.io/description': ROOT_CA_DESCRIPTION } }, data: { 'ca.crt': ROOT_CA_PEM } },
          namespace,
        );
        api.checkCreatable(CONFIGMAPS, obj);
        store.create(CONFIGMAPS, obj);
      } catch (err) {
        // The namespace went away or started terminating: the real publisher gives up too.
        if (!(err instanceof ApiError)) throw err;
      }
      return;
    }
    const obj = existing.copy();
    const data = obj['data'] as Record<string, string> | undefined;
    const annotations = (obj.metadata['annotations'] ?? {}) as Record<string, string>;
    const dataIsCa = data !== undefined && Object.keys(data).length === 1 && data['ca.crt'] === ROOT_CA_PEM;
    if (dataIsCa && annotations['kubernetes.io/description']) return;
    obj['data'] = { 'ca.crt': ROOT_CA_PEM };
    obj.metadata['annotations'] = { ...annotations, 'kubernetes.io/description': ROOT_CA_DESCRIPTION };
    store.update(CONFIGMAPS, obj, existing);
  }
}

interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

function ownerReferences(obj: KubeObject): OwnerReference[] {
  const refs = obj.metadata['ownerReferences'];
  return Array.isArray(refs) ? (refs as OwnerReference[]) : [];
}

interface Dependent {
  def: ResourceDef;
  namespace: string | undefined;
  name: string;
  uid: string;
}

/**
 * kube-controller-manager's garbage collector, background propagation: some time after an object is
 * deleted, or an object is written that names an owner which does not exist, each object whose
 * ownerReferences name that owner is deleted when none of its owners exists any more; when another
 * owner still exists, only the references to absent owners are removed.
 * Its deletes and updates are ordinary store writes: new resourceVersions, watch events, and
 * cascades to their own dependents. (Deleting a namespace deletes its contents by itself.)
 */
class GarbageCollector implements Controller {
  /** Owner uid → its dependents by "<resource>.<group>|<key>". */
  private readonly dependents = new Map<string, Map<string, Dependent>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly delayMs: number,
  ) {
    // Objects loaded from a data file arrive without events.
    for (const stored of ctx.store.all()) this.index(stored, 'add');
    for (const stored of ctx.store.all()) this.scheduleAbsentOwners(stored);
    this.unsubscribe = ctx.store.subscribe((event) => this.observe(event));
  }

  stop(): void {
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private observe({ type, object, previous }: StoreEvent): void {
    if (previous) this.index(previous, 'remove');
    this.index(object, type === 'DELETED' ? 'remove' : 'add');
    const uid = object.obj.metadata['uid'];
    if (type === 'DELETED') {
      if (typeof uid === 'string' && this.dependents.has(uid)) this.schedule(uid);
      return;
    }
    // An object written with a reference to an owner that is already gone (or never was) is
    // collected too, as the real collector does when it first sees it.
    this.scheduleAbsentOwners(object);
  }

  private scheduleAbsentOwners(stored: StoredObject): void {
    for (const ref of ownerReferences(stored.obj)) if (!this.ownerExists(ref, stored.namespace)) this.schedule(ref.uid);
  }

  private index(stored: StoredObject, change: 'add' | 'remove'): void {
    const uid = stored.obj.metadata['uid'];
    if (typeof uid !== 'string') return;
    const id = `${stored.def.resource}.${stored.def.group}|${stored.key}`;
    for (const ref of ownerReferences(stored.obj)) {
      let ofOwner = this.dependents.get(ref.uid);
      if (change === 'add') {
        if (!ofOwner) this.dependents.set(ref.uid, (ofOwner = new Map()));
        ofOwner.set(id, { def: stored.def, namespace: stored.namespace, name: stored.name, uid });
      } else if (ofOwner?.get(id)?.uid === uid) {
        ofOwner.delete(id);
        if (ofOwner.size === 0) this.dependents.delete(ref.uid);
      }
    }
  }

  private schedule(ownerUid: string): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.collect(ownerUid);
    }, this.delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  private collect(ownerUid: string): void {
    const { store } = this.ctx;
    for (const dep of [...(this.dependents.get(ownerUid)?.values() ?? [])]) {
      const current = store.get(dep.def, dep.namespace, dep.name);
      if (!current || current.obj.metadata['uid'] !== dep.uid) continue;
      const refs = ownerReferences(current.obj);
      const live = refs.filter((ref) => ref.uid !== ownerUid && this.ownerExists(ref, dep.namespace));
      if (live.length === 0) {
        store.delete(dep.def, current);
      } else if (live.length < refs.length) {
        const obj = current.copy();
        obj.metadata['ownerReferences'] = live;
        store.update(dep.def, obj, current);
      }
    }
  }

  /** As the real collector judges it: the same uid under that kind and name; a kind it cannot look up counts as present. */
  private ownerExists(ref: OwnerReference, namespace: string | undefined): boolean {
    const def = findKind(ref.apiVersion, ref.kind);
    if (!def) return true;
    if (def.namespaced && namespace === undefined) return true;
    const owner = this.ctx.store.get(def, def.namespaced ? namespace : undefined, ref.name);
    return owner?.obj.metadata['uid'] === ref.uid;
  }
}

export interface ControllerOptions {
  garbageCollectionDelayMs: number;
  namespaceDeletionDelayMs: number;
}

/** Starts every controller; stop() stops them all. */
export function startControllers(ctx: ControllerContext, options: ControllerOptions): Controller {
  const controllers: Controller[] = [new RootCaPublisher(ctx), new GarbageCollector(ctx, options.garbageCollectionDelayMs), new NamespaceController(ctx.store, options.namespaceDeletionDelayMs)];
  return { stop: () => controllers.forEach((c) => c.stop()) };
}
