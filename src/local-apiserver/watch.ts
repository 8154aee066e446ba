// `watch=true` streams: newline-delimited events from a resourceVersion on, filtered by namespace
// and selectors, with the transitions a selector implies (moving out of it is a DELETED).

import type { ServerResponse } from 'node:http';
import { matchesListQuery, type ListQuery } from './list-query.js';
import { storageOf } from './resources.js';
import type { ResourceDef } from './resource-def.js';
import { statusBody, tooOldResourceVersion } from './status.js';
import { StoredObject, viewed, type Store, type StoreEvent, type WatchEventType } from './store.js';

export interface WatchOptions {
  def: ResourceDef;
  namespace?: string;
  listQuery: ListQuery;
  metadataOnly: boolean;
  /** The `resourceVersion` parameter: undefined or "0" starts with the current objects as ADDED. */
  resourceVersion?: string;
  timeoutSeconds?: number;
}

/** An open watch; `close` ends the stream. */
export interface ActiveWatch {
  close(): void;
}

export function serveWatch(store: Store, res: ServerResponse, opts: WatchOptions, onEnd: () => void): ActiveWatch {
  const { def, namespace, listQuery } = opts;
  // Changes arrive as stored; a watch through a view (events.k8s.io) sees and selects them converted.
  const inScope = (s: StoredObject) => storageOf(s.def) === storageOf(def) && (namespace === undefined || s.namespace === namespace);
  const matches = (s: StoredObject) => inScope(s) && matchesListQuery(listQuery, viewed(def, s));

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  // Clients wait for the headers before they read events; an idle watch must not hold them back.
  res.flushHeaders();
  const send = (type: WatchEventType, s: StoredObject) => {
    const v = viewed(def, s);
    res.write(`{"type":"${type}","object":${opts.metadataOnly ? v.metadataJson() : v.json()}}\n`);
  };

  let ended = false;
  let unsubscribe = () => {};
  let timer: NodeJS.Timeout | undefined;
  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    if (timer) clearTimeout(timer);
    res.end();
    onEnd();
  };

  const deliver = (e: StoreEvent) => {
    const now = matches(e.object);
    const before = e.previous !== undefined && matches(e.previous);
    if (e.type === 'MODIFIED') {
      if (now && before) send('MODIFIED', e.object);
      else if (now) send('ADDED', e.object);
      // Leaving the selection: the object as the watcher last matched it, at this event's
      // resourceVersion, as the watch cache sends it.
      else if (before) send('DELETED', atResourceVersion(e.previous as StoredObject, e.rv));
    } else if (now) {
      send(e.type, e.object);
    }
  };

  const rv = opts.resourceVersion;
  if (rv === undefined || rv === '' || rv === '0') {
    for (const s of store.list(def, namespace !== undefined ? { namespace } : {}).items) if (matches(s)) send('ADDED', s);
  } else {
    const since = Number(rv);
    const backlog = Number.isSafeInteger(since) ? store.eventsSince(since) : undefined;
    if (!backlog) {
      const err = tooOldResourceVersion(since, store.oldestRetainedRv + 1);
      res.write(`${JSON.stringify({ type: 'ERROR', object: statusBody(err) })}\n`);
      end();
      return { close: end };
    }
    for (const e of backlog) deliver(e);
  }
  unsubscribe = store.subscribe(deliver);
  res.on('close', end);
  if (opts.timeoutSeconds !== undefined && opts.timeoutSeconds > 0) {
    timer = setTimeout(end, opts.timeoutSeconds * 1000);
  }
  return { close: end };
}

function atResourceVersion(s: StoredObject, rv: number): StoredObject {
  return new StoredObject(s.def, s.key, { ...s.obj, metadata: { ...s.obj.metadata, resourceVersion: String(rv) } }, rv);
}
