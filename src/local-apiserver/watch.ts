// `watch=true` streams, served as kube-apiserver v1.32's watch cache serves them: newline-delimited
// events after a resourceVersion (or the current objects first), filtered by namespace and
// selectors with the transitions a selector implies (moving out of it is a DELETED), BOOKMARKs when
// asked for, an end at the request's timeout, and a close for a client that stops reading.

import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { goQuote } from './go-json-syntax.js';
import { encodeStruct } from './go-struct.js';
import { matchesListQuery, parseListQuery, type ListQuery } from './list-query.js';
import { apiVersionOf, storageOf } from './resources.js';
import type { ResourceDef } from './resource-def.js';
import { ApiError, badRequest, invalid, statusBody, tooOldResourceVersion, unclassifiedError, type StatusCause } from './status.js';
import { StoredObject, viewed, type Store, type StoreEvent, type WatchEventType } from './store.js';

/** What a watch request asks, after the parameters are decoded, validated and defaulted. */
export interface WatchQuery {
  listQuery: ListQuery;
  /** The resourceVersion as the storage reads it: undefined when absent or empty, 0 for "0" (any: now). */
  resourceVersion: number | undefined;
  /** Start with the current objects as ADDED (a watch from "" or "0" that does not say otherwise). */
  sendInitialEvents: boolean;
  allowWatchBookmarks: boolean;
  /** As sent; undefined when absent. 0 (or absent) leaves the end to the server's own limit. */
  timeoutSeconds: number | undefined;
}

/**
 * Reads a watch request's parameters in kube-apiserver's order: the numbers and booleans of the
 * query (400), the selectors (400), ListOptions validation (422) and then defaulting as v1.32 does
 * with its WatchList feature gate on (the default in v1.32), and last the resourceVersion, which
 * the storage layer parses (a plain 500 for one it cannot).
 */
export function parseWatchQuery(def: ResourceDef, query: URLSearchParams): WatchQuery {
  const timeoutSeconds = optionalInt64(query.get('timeoutSeconds'));
  const sendInitialEventsParam = query.get('sendInitialEvents');
  const sendInitialEvents = sendInitialEventsParam === null ? undefined : queryBool(sendInitialEventsParam);
  const allowWatchBookmarks = queryBool(query.get('allowWatchBookmarks') ?? 'false');
  // resourceVersionMatch is validated here, by the watch rules, not by the list's.
  const rest = new URLSearchParams(query);
  rest.delete('resourceVersionMatch');
  const listQuery = parseListQuery(def, rest, true);
  const causes = validateWatchOptions(sendInitialEvents, query.get('resourceVersionMatch') ?? '', listQuery.continueToken);
  if (causes.length > 0) throw invalid('ListOptions', 'meta.k8s.io', '', causes);
  const rv = listQuery.resourceVersion;
  return {
    listQuery,
    resourceVersion: storageResourceVersion(rv),
    // SetListOptionsDefaults: a watch from "" or "0" without the WatchList options is one with sendInitialEvents=true.
    sendInitialEvents: sendInitialEvents ?? (rv === '' || rv === '0'),
    allowWatchBookmarks,
    timeoutSeconds,
  };
}

/** apimachinery's validateWatchOptions, WatchList feature gate on. */
function validateWatchOptions(sendInitialEvents: boolean | undefined, match: string, continueToken: string): StatusCause[] {
  const forbidden = (message: string): StatusCause => ({ reason: 'FieldValueForbidden', message: `Forbidden: ${message}`, field: 'resourceVersionMatch' });
  const causes: StatusCause[] = [];
  if (sendInitialEvents !== undefined && match !== 'NotOlderThan') causes.push(forbidden('sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'));
  if (match !== '') {
    if (sendInitialEvents === undefined) causes.push(forbidden('resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'));
    if (match !== 'NotOlderThan') {
      causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${goQuote(match)}: supported values: "NotOlderThan"`, field: 'resourceVersionMatch' });
    }
    if (continueToken !== '') causes.push(forbidden('resourceVersionMatch is forbidden when continue is provided'));
  }
  return causes;
}

/** A boolean query parameter as apimachinery converts it: "0" and "false" (any case) are false, anything else true. */
function queryBool(text: string): boolean {
  return text !== '0' && text.toLowerCase() !== 'false';
}

const INT64_MAX = 9223372036854775807n;
const UINT64_MAX = 18446744073709551615n;

/** An optional int64 parameter (timeoutSeconds): Go's strconv.ParseInt, even of an empty value. */
function optionalInt64(text: string | null): number | undefined {
  if (text === null) return undefined;
  if (!/^[+-]?\d+$/.test(text)) throw badRequest(`strconv.ParseInt: parsing ${goQuote(text)}: invalid syntax`);
  const value = BigInt(text);
  if (value > INT64_MAX || value < -INT64_MAX - 1n) throw badRequest(`strconv.ParseInt: parsing ${goQuote(text)}: value out of range`);
  return Number(value);
}

/** APIObjectVersioner.ParseResourceVersion: its error is a storage InvalidError, which the API answers as a plain 500. */
function storageResourceVersion(rv: string): number | undefined {
  if (rv === '') return undefined;
  const refuse = (why: string) => unclassifiedError(`resourceVersion: Invalid value: ${goQuote(rv)}: strconv.ParseUint: parsing ${goQuote(rv)}: ${why}`);
  if (!/^\d+$/.test(rv)) throw refuse('invalid syntax');
  if (BigInt(rv) > UINT64_MAX) throw refuse('value out of range');
  return Number(rv);
}

/** storage.NewTooLargeResourceVersionError: a 504 the client may retry after a second. */
function tooLargeResourceVersion(requested: number, current: number): ApiError {
  return new ApiError(504, 'Timeout', `Timeout: Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

/** How long the watch cache waits to catch up with a resourceVersion ahead of it (blockTimeout). */
const FRESHNESS_WAIT_MS = 3000;

/** How long a watcher may stay with a full buffer before it is closed (the cacher's dispatch budget). */
const UNRESPONSIVE_BUDGET_MS = 100;

/** The pre-timeout bookmark comes this long before the watch ends. */
const BOOKMARK_BEFORE_TIMEOUT_MS = 2000;

const MAX_TIMER_MS = 2 ** 31 - 1;

export interface WatchOptions {
  def: ResourceDef;
  namespace?: string;
  query: WatchQuery;
  metadataOnly: boolean;
  /** When the server ends the watch, from the start of the request. */
  timeoutMs: number;
  /** How often a watcher that allows them gets a BOOKMARK. */
  bookmarkIntervalMs: number;
  /** Live events held for a client that is not reading before its watcher may be closed. */
  bufferSize: number;
}

/** An open watch: `close` ends the stream as the server does, `drop` breaks its connection. */
export interface ActiveWatch {
  close(): void;
  drop(): void;
}

/**
 * One watch stream. Events are written while the connection takes them; once a write is refused
 * (the client is not reading) they wait in order for 'drain'. The current objects (or the history
 * a watch resumes from) are written lazily, as the watch cache does; live events beyond
 * `bufferSize` that do not drain within the dispatch budget close the watch, which the client
 * resumes from the last resourceVersion it read.
 */
export class WatchStream implements ActiveWatch {
  private ended = false;
  /** Initial events or the resumed history, written before any live event. */
  private pending: Iterator<string> | undefined;
  private readonly queue: string[] = [];
  private queueHead = 0;
  private waitingForDrain = false;
  /** Events and bookmarks go out only after this resourceVersion. */
  private startRv = 0;
  private readonly deadline: number;
  private unsubscribe = () => {};
  private timeoutTimer: NodeJS.Timeout | undefined;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private unresponsiveTimer: NodeJS.Timeout | undefined;
  private cancelFreshnessWait: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly res: ServerResponse,
    private readonly opts: WatchOptions,
    private readonly onEnd: () => void,
  ) {
    this.deadline = performance.now() + opts.timeoutMs;
  }

  start(): void {
    this.res.on('close', () => this.end());
    // Beyond what a timer can hold (24.8 days) a watch outlives any test or demo.
    if (this.opts.timeoutMs <= MAX_TIMER_MS) this.timeoutTimer = setTimeout(() => this.end(), Math.max(0, this.opts.timeoutMs));
    const { resourceVersion, sendInitialEvents } = this.opts.query;
    // Initial events are served once the cache is at least as fresh as asked (NotOlderThan); a
    // plain watch from a resourceVersion not reached yet starts at once and waits for its events.
    if (sendInitialEvents && resourceVersion !== undefined && resourceVersion > this.store.resourceVersion) this.waitUntilFresh(resourceVersion);
    else this.stream();
  }

  close(): void {
    this.end();
  }

  drop(): void {
    this.end(true);
  }

  private waitUntilFresh(rv: number): void {
    const fresh = () => this.store.resourceVersion >= rv;
    const timer = setTimeout(() => {
      this.cancelFreshnessWait?.();
      if (fresh()) this.stream();
      else this.fail(tooLargeResourceVersion(rv, this.store.resourceVersion));
    }, FRESHNESS_WAIT_MS);
    const unsubscribe = this.store.subscribe(() => {
      if (!fresh()) return;
      this.cancelFreshnessWait?.();
      this.stream();
    });
    this.cancelFreshnessWait = () => {
      clearTimeout(timer);
      unsubscribe();
      this.cancelFreshnessWait = undefined;
    };
  }

  private beginResponse(): void {
    this.res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    // Clients wait for the headers before they read events; an idle watch must not hold them back.
    this.res.flushHeaders();
  }

  /** The one ERROR event of a watch that cannot be served, as the cacher's errWatcher sends it. */
  private fail(err: ApiError): void {
    if (this.ended) return;
    this.beginResponse();
    this.res.write(`${JSON.stringify({ type: 'ERROR', object: statusBody(err) })}\n`);
    this.end();
  }

  private stream(): void {
    if (this.ended) return;
    const { def, query } = this.opts;
    const current = this.store.resourceVersion;
    if (query.sendInitialEvents) {
      const items = this.store.list(def, this.opts.namespace !== undefined ? { namespace: this.opts.namespace } : {}).items.filter((s) => this.matches(s));
      this.pending = this.initialEvents(items, current);
      this.startRv = current;
    } else if (query.resourceVersion === undefined || query.resourceVersion === 0) {
      this.startRv = current;
    } else {
      const backlog = this.store.eventsSince(query.resourceVersion);
      // The watch cache's message names the oldest resourceVersion it can still watch from.
      if (!backlog) return this.fail(tooOldResourceVersion(query.resourceVersion, this.store.oldestRetainedRv));
      this.pending = this.resumed(backlog);
      this.startRv = query.resourceVersion;
    }
    this.beginResponse();
    this.unsubscribe = this.store.subscribe((e) => {
      if (e.rv <= this.startRv) return;
      const line = this.lineFor(e);
      if (line !== undefined) this.write(line);
    });
    this.scheduleBookmark();
    this.flush();
  }

  private *initialEvents(items: StoredObject[], rv: number): Generator<string> {
    for (const s of items) yield this.eventLine('ADDED', s);
    // WatchList: the end of the initial events is a bookmark marked as such.
    if (this.opts.query.allowWatchBookmarks) yield this.bookmarkLine(rv, true);
  }

  private *resumed(backlog: StoreEvent[]): Generator<string> {
    for (const e of backlog) {
      const line = this.lineFor(e);
      if (line !== undefined) yield line;
    }
  }

  private inScope(s: StoredObject): boolean {
    return storageOf(s.def) === storageOf(this.opts.def) && (this.opts.namespace === undefined || s.namespace === this.opts.namespace);
  }

  /** Changes arrive as stored; a watch through a view (events.k8s.io) sees and selects them converted. */
  private matches(s: StoredObject): boolean {
    return this.inScope(s) && matchesListQuery(this.opts.query.listQuery, viewed(this.opts.def, s));
  }

  /** The event a change is for this watcher, if any. */
  private lineFor(e: StoreEvent): string | undefined {
    const now = this.matches(e.object);
    const before = e.previous !== undefined && this.matches(e.previous);
    if (e.type === 'MODIFIED') {
      if (now && before) return this.eventLine('MODIFIED', e.object);
      if (now) return this.eventLine('ADDED', e.object);
      // Leaving the selection: the object as the watcher last matched it, at this event's
      // resourceVersion, as the watch cache sends it.
      if (before) return this.eventLine('DELETED', atResourceVersion(e.previous as StoredObject, e.rv));
      return undefined;
    }
    return now ? this.eventLine(e.type, e.object) : undefined;
  }

  private eventLine(type: WatchEventType, s: StoredObject): string {
    const v = viewed(this.opts.def, s);
    return `{"type":"${type}","object":${this.opts.metadataOnly ? v.metadataJson() : v.json()}}\n`;
  }

  /**
   * A BOOKMARK: an empty object of the watched kind (as Go encodes one: v1.32 writes the zero
   * creationTimestamp as null) carrying only a resourceVersion. It is the store's current one:
   * every change up to it has been queued for this watcher before the bookmark.
   */
  private bookmarkLine(rv: number, initialEventsEnd: boolean): string {
    const { def } = this.opts;
    const metadata = { resourceVersion: String(rv), creationTimestamp: null, ...(initialEventsEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}) };
    const object = this.opts.metadataOnly
      ? { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata }
      : { kind: def.kind, apiVersion: apiVersionOf(def), metadata, ...(def.body ? encodeStruct(def.body, {}) : {}) };
    return `${JSON.stringify({ type: 'BOOKMARK', object })}\n`;
  }

  /**
   * The next bookmark, as the cacher schedules them: every interval, and last 2 s before the watch
   * times out; none once that moment has passed.
   */
  private scheduleBookmark(): void {
    if (!this.opts.query.allowWatchBookmarks || this.ended) return;
    const now = performance.now();
    const at = Math.min(now + this.opts.bookmarkIntervalMs, this.deadline - BOOKMARK_BEFORE_TIMEOUT_MS);
    if (at <= now) return;
    this.bookmarkTimer = setTimeout(() => {
      const rv = this.store.resourceVersion;
      // Only past where the watch started; like any event, dropped when the watcher's buffer is full.
      if (rv > this.startRv && this.queued() < this.opts.bufferSize) this.write(this.bookmarkLine(rv, false));
      this.scheduleBookmark();
    }, at - now);
  }

  private queued(): number {
    return this.queue.length - this.queueHead;
  }

  private write(line: string): void {
    if (this.ended) return;
    if (this.waitingForDrain || this.pending || this.queued() > 0) {
      this.queue.push(line);
      if (this.queued() > this.opts.bufferSize) this.unresponsiveTimer ??= setTimeout(() => this.end(), UNRESPONSIVE_BUDGET_MS);
      return;
    }
    if (!this.res.write(line)) this.awaitDrain();
  }

  private flush(): void {
    while (!this.ended && !this.waitingForDrain) {
      let line: string | undefined;
      if (this.pending) {
        const next = this.pending.next();
        if (next.done) {
          this.pending = undefined;
          continue;
        }
        line = next.value;
      } else if (this.queued() > 0) {
        line = this.queue[this.queueHead++] as string;
        // Let go of what was written, so a long backlog is not kept whole until it drains.
        if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
          this.queue.splice(0, this.queueHead);
          this.queueHead = 0;
        }
      } else {
        this.queue.length = 0;
        this.queueHead = 0;
        break;
      }
      if (!this.res.write(line)) this.awaitDrain();
    }
    if (this.queued() <= this.opts.bufferSize) {
      clearTimeout(this.unresponsiveTimer);
      this.unresponsiveTimer = undefined;
    }
  }

  private awaitDrain(): void {
    this.waitingForDrain = true;
    this.res.once('drain', () => {
      this.waitingForDrain = false;
      this.flush();
    });
  }

  /**
   * Ends the stream: cleanly, as the server ends a watch (what is already written is delivered,
   * what waits is not), or by breaking the connection.
   */
  private end(broken = false): void {
    if (this.ended) return;
    this.ended = true;
    this.cancelFreshnessWait?.();
    this.unsubscribe();
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.bookmarkTimer);
    clearTimeout(this.unresponsiveTimer);
    this.pending = undefined;
    this.queue.length = 0;
    if (broken) {
      this.res.destroy();
    } else {
      if (!this.res.headersSent) this.beginResponse();
      this.res.end();
    }
    this.onEnd();
  }
}

function atResourceVersion(s: StoredObject, rv: number): StoredObject {
  return new StoredObject(s.def, s.key, { ...s.obj, metadata: { ...s.obj.metadata, resourceVersion: String(rv) } }, rv);
}
