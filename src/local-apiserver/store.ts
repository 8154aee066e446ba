// Objects by kind, ordered by (namespace, name) for paging, with one global resourceVersion and a
// bounded history of changes that watches resume from.

import { storageOf } from './resources.js';
import type { KubeObject, ResourceDef } from './resource-def.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A stored object: never mutated; its JSON forms are serialized at most once. */
export class StoredObject {
  private jsonCache: string | undefined;
  private metadataCache: string | undefined;

  constructor(
    readonly def: ResourceDef,
    readonly key: string,
    readonly obj: KubeObject,
    readonly rv: number,
  ) {}

  get name(): string {
    return this.obj.metadata.name as string;
  }

  get namespace(): string | undefined {
    return this.obj.metadata.namespace;
  }

  json(): string {
    this.jsonCache ??= JSON.stringify(this.obj);
    return this.jsonCache;
  }

  /**
   * The object as an item of a list: without apiVersion and kind, which the list states once. Cut
   * from json() when it starts with them (objects are stored in wire order), so no second copy.
   */
  itemJson(): string {
    const json = this.json();
    const prefix = `{"apiVersion":${JSON.stringify(this.obj.apiVersion)},"kind":${JSON.stringify(this.obj.kind)},`;
    if (json.startsWith(prefix)) return `{${json.slice(prefix.length)}`;
    const { apiVersion: _apiVersion, kind: _kind, ...item } = this.obj;
    return JSON.stringify(item);
  }

  /** The object as a PartialObjectMetadata: metadata only, never the data. */
  metadataJson(): string {
    this.metadataCache ??= JSON.stringify({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: this.obj.metadata });
    return this.metadataCache;
  }

  /** A deep copy the caller may change (patches, updates). */
  copy(): KubeObject {
    return JSON.parse(this.json()) as KubeObject;
  }
}

/**
 * A stored object as the version `def` serves it: converted when `def` is a view of another kind's
 * storage (events.k8s.io/v1 Events), the object itself otherwise.
 */
export function viewed(def: ResourceDef, stored: StoredObject): StoredObject {
  return def.view && stored.def !== def ? new StoredObject(def, stored.key, def.view.fromStorage(stored.obj), stored.rv) : stored;
}

export interface StoreEvent {
  type: WatchEventType;
  rv: number;
  object: StoredObject;
  /**
   * The object before a MODIFIED or DELETED: watches with selectors tell moves in and out by it,
   * and a continued list serves it as the object was at the list's revision.
   */
  previous?: StoredObject;
}

/** etcd's key order: the bytes of "<namespace>/<name>", so "team-a/x" sorts before "team/x" as on a real server. */
export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** The objects of one kind: a map for lookups and a sorted key array for ordered, resumable scans. */
class Collection {
  readonly byKey = new Map<string, StoredObject>();
  readonly sorted: string[] = [];

  lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.sorted[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  upperBound(key: string): number {
    const i = this.lowerBound(key);
    return this.sorted[i] === key ? i + 1 : i;
  }

  insertKey(key: string): void {
    const last = this.sorted[this.sorted.length - 1];
    if (last === undefined || last < key) this.sorted.push(key);
    else this.sorted.splice(this.lowerBound(key), 0, key);
  }

  removeKey(key: string): void {
    const i = this.lowerBound(key);
    if (this.sorted[i] === key) this.sorted.splice(i, 1);
  }

  /** [start, end) of the keys in one namespace, or all keys. */
  range(namespace: string | undefined): [number, number] {
    if (namespace === undefined) return [0, this.sorted.length];
    // "0" is the character after "/": names cannot contain "/", so this is exactly the namespace.
    return [this.lowerBound(`${namespace}/`), this.lowerBound(`${namespace}0`)];
  }
}

export interface ListPage {
  items: StoredObject[];
  /** Key of the last object examined when more remain, to continue after. */
  continueKey?: string;
  /** Objects after this page, when the list is not filtered. */
  remaining?: number;
}

export interface ListOptions {
  namespace?: string;
  afterKey?: string;
  limit?: number;
  filter?: (obj: StoredObject) => boolean;
}

/**
 * Up to `limit` objects of `objects` that pass the filter, with where to continue and, unfiltered,
 * how many remain (`countRest` when it knows faster than counting what is left).
 */
function page(def: ResourceDef, objects: Iterator<StoredObject>, opts: ListOptions, countRest?: (lastKey: string) => number): ListPage {
  const items: StoredObject[] = [];
  const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
  let lastKey: string | undefined;
  let next = objects.next();
  for (; !next.done && items.length < limit; next = objects.next()) {
    lastKey = next.value.key;
    const obj = viewed(def, next.value);
    if (!opts.filter || opts.filter(obj)) items.push(obj);
  }
  if (next.done || lastKey === undefined) return { items };
  if (opts.filter) return { items, continueKey: lastKey };
  if (countRest) return { items, continueKey: lastKey, remaining: countRest(lastKey) };
  let remaining = 0;
  for (; !next.done; next = objects.next()) remaining++;
  return { items, continueKey: lastKey, remaining };
}

export class Store {
  private rv: number;
  private readonly collections = new Map<ResourceDef, Collection>();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private history: StoreEvent[] = [];
  /** Every change after this resourceVersion is still in `history`. */
  private historyFloor: number;

  constructor(
    private readonly historyLimit: number,
    initialRv = 0,
  ) {
    this.rv = initialRv;
    this.historyFloor = initialRv;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  skipRevision(): void {
    this.rv++;
  }

  /** The objects of `def`, kept once under the kind they are stored as (reads and writes through a view convert). */
  private collection(def: ResourceDef): Collection {
    const storage = storageOf(def);
    let c = this.collections.get(storage);
    if (!c) {
      c = new Collection();
      this.collections.set(storage, c);
    }
    return c;
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): StoredObject | undefined {
    const stored = this.collections.get(storageOf(def))?.byKey.get(objectKey(namespace, name));
    return stored && viewed(def, stored);
  }

  /** One page of the current objects in (namespace, name) order, resuming after `afterKey`. */
  list(def: ResourceDef, opts: ListOptions): ListPage {
    const c = this.collection(def);
    const [lo, hi] = c.range(opts.namespace);
    const start = opts.afterKey !== undefined ? Math.max(lo, c.upperBound(opts.afterKey)) : lo;
    function* current(): Generator<StoredObject> {
      for (let i = start; i < hi; i++) yield c.byKey.get(c.sorted[i] as string) as StoredObject;
    }
    return page(def, current(), opts, (lastKey) => hi - c.upperBound(lastKey));
  }

  /**
   * One page of the objects as they were at revision `rv`, as etcd serves every page of a list
   * after the first: an object changed since appears as it was, one deleted since still appears,
   * one created since does not. Undefined when the history no longer reaches back to `rv` (the
   * caller answers 410, as after a compaction).
   */
  listAt(def: ResourceDef, opts: ListOptions, rv: number): ListPage | undefined {
    if (rv >= this.rv) return this.list(def, opts);
    const events = this.eventsSince(rv);
    if (!events) return undefined;
    // The state at `rv` of each key changed since: what its first change after `rv` replaced.
    const past = new Map<string, StoredObject | null>();
    const storage = storageOf(def);
    for (const e of events) {
      if (e.object.def === storage && !past.has(e.object.key)) past.set(e.object.key, e.type === 'ADDED' ? null : (e.previous as StoredObject));
    }
    const c = this.collection(def);
    const [lo, hi] = c.range(opts.namespace);
    const inRange = (key: string) => (opts.namespace === undefined || key.startsWith(`${opts.namespace}/`)) && (opts.afterKey === undefined || key > opts.afterKey);
    const gone = [...past.keys()].filter((key) => past.get(key) !== null && !c.byKey.has(key) && inRange(key)).sort();
    const start = opts.afterKey !== undefined ? Math.max(lo, c.upperBound(opts.afterKey)) : lo;
    function* then(): Generator<StoredObject> {
      let i = start;
      let g = 0;
      while (i < hi || g < gone.length) {
        const key = g >= gone.length || (i < hi && (c.sorted[i] as string) < (gone[g] as string)) ? (c.sorted[i++] as string) : (gone[g++] as string);
        const at = past.has(key) ? past.get(key) : c.byKey.get(key);
        if (at) yield at;
      }
    }
    return page(def, then(), opts);
  }

  /** Stores a new object (the caller checked it does not exist), assigning the next resourceVersion. */
  create(def: ResourceDef, obj: KubeObject): StoredObject {
    const stored = this.put(def, obj);
    this.collection(def).insertKey(stored.key);
    this.emit({ type: 'ADDED', rv: stored.rv, object: stored });
    return viewed(def, stored);
  }

  update(def: ResourceDef, obj: KubeObject, previous: StoredObject): StoredObject {
    const before = this.collection(def).byKey.get(previous.key) ?? previous;
    const stored = this.put(def, obj);
    this.emit({ type: 'MODIFIED', rv: stored.rv, object: stored, previous: before });
    return viewed(def, stored);
  }

  /** Removes an object; the returned copy carries the resourceVersion of the deletion, as watches see it. */
  delete(def: ResourceDef, existing: StoredObject): StoredObject {
    const c = this.collection(def);
    const stored = c.byKey.get(existing.key) ?? existing;
    c.byKey.delete(existing.key);
    c.removeKey(existing.key);
    const rv = ++this.rv;
    const obj = { ...stored.obj, metadata: { ...stored.obj.metadata, resourceVersion: String(rv) } };
    const gone = new StoredObject(stored.def, existing.key, obj, rv);
    this.emit({ type: 'DELETED', rv, object: gone, previous: stored });
    return gone;
  }

  /** Every object in a namespace, of every namespaced kind given, each once (as stored) though several versions serve it. */
  objectsInNamespace(defs: readonly ResourceDef[], namespace: string): StoredObject[] {
    return [...new Set(defs.map(storageOf))].flatMap((def) => this.list(def, { namespace }).items);
  }

  /** Adds many objects at once, sorting the index once: for seeding and loading a data file. */
  bulkCreate(entries: readonly { def: ResourceDef; obj: KubeObject; keepRv?: boolean }[]): StoredObject[] {
    const touched = new Set<Collection>();
    const created = entries.map(({ def, obj, keepRv }) => {
      const stored = keepRv ? this.putWithRv(def, obj, Number(obj.metadata['resourceVersion'])) : this.put(def, obj);
      const c = this.collection(def);
      c.sorted.push(stored.key);
      touched.add(c);
      if (!keepRv) this.emit({ type: 'ADDED', rv: stored.rv, object: stored });
      return stored;
    });
    for (const c of touched) c.sorted.sort();
    return created;
  }

  *all(): Generator<StoredObject> {
    for (const c of this.collections.values()) for (const key of c.sorted) yield c.byKey.get(key) as StoredObject;
  }

  /** Changes after `rv`, or undefined when some of them are no longer retained. */
  eventsSince(rv: number): StoreEvent[] | undefined {
    if (rv < this.historyFloor) return undefined;
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.history[mid] as StoreEvent).rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.history.slice(lo);
  }

  /** The oldest resourceVersion a watch can still start from: every change after it is retained. */
  get oldestRetainedRv(): number {
    return this.historyFloor;
  }

  /**
   * Forgets every retained change, as an etcd compaction at the current revision (or a restarted
   * watch cache) does: watches and continued lists from older revisions are then 410 Expired.
   */
  compactHistory(): void {
    this.history = [];
    this.historyFloor = this.rv;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private put(def: ResourceDef, obj: KubeObject): StoredObject {
    return this.putWithRv(def, obj, ++this.rv);
  }

  private putWithRv(def: ResourceDef, obj: KubeObject, rv: number): StoredObject {
    if (rv > this.rv) this.rv = rv;
    const storedObj = def.view ? def.view.toStorage(obj) : obj;
    storedObj.metadata['resourceVersion'] = String(rv);
    const key = objectKey(def.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name as string);
    const stored = new StoredObject(storageOf(def), key, storedObj, rv);
    this.collection(def).byKey.set(key, stored);
    return stored;
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit * 2) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.historyFloor = (dropped[dropped.length - 1] as StoreEvent).rv;
    }
    for (const listener of this.listeners) listener(event);
  }
}
