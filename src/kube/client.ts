// The only code that talks to an API server. Every call goes through one path: the QPS limiter,
// retries for transient failures, and the status map to typed errors. Objects cross this edge as
// the plain shapes of ./types.ts, so nothing beyond src/kube/ depends on the generated client.

import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  AuthorizationV1Api,
  VersionApi,
  PatchStrategy,
  setHeaderOptions,
  Observable,
  type KubeConfig,
  type RequestContext as HttpRequest,
  type ResponseContext,
} from '@kubernetes/client-node';
import { dropUndefined, fromRawConfigMap, fromV1ConfigMap, fromV1Lease, fromV1Meta, toV1ConfigMap, toV1Lease } from './convert.js';
import { transportOptions, withMiddleware, type TransportOptions } from './transport.js';
import { DEFAULT_PAGE_BYTES, DEFAULT_PAGE_SIZE, ListSplitter, objectKey, PageCollector, type RawObject } from './list-stream.js';
import { WatchLineSplitter } from './watch-stream.js';
import { GoneError, UnexpectedError, fromHttpFailure, fromTransportFailure, type KubeError, type RequestContext } from './errors.js';
import { QpsLimiter } from './limiter.js';
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from './retry.js';
import type { ConfigMap, EventRecord, Lease, ObjectMeta, ObjectMetadata, ObjectRef, Preconditions } from './types.js';
import { realTimer, type Timer } from '../util/timer.js';

export interface KubeClientOptions {
  qps?: number;
  burst?: number;
  retry?: RetryPolicy;
  timer?: Timer;
  random?: () => number;
  /** Send every write and delete with dryRun=All: validated and authorized, never persisted. */
  serverDryRun?: boolean;
  requestTimeoutMs?: number;
  /** Told about every retry, for logging. */
  onRetry?: (err: KubeError, attempt: number, delayMs: number) => void;
  /** Reporting identity for Events. */
  component?: string;
}

export interface ListOptions {
  /** Undefined lists across all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Objects per request at most (the API's `limit`). */
  pageSize?: number;
  /** JSON bytes of objects per page at most; a single larger object is a page of its own. */
  pageBytes?: number;
  signal?: AbortSignal;
  /**
   * Told the resourceVersion of the list's snapshot (what a watch starts from). A list that asks
   * for it never restarts after an expired continue token, which would mix two snapshots: it
   * throws the GoneError instead, and the caller lists again.
   */
  onSnapshot?: (resourceVersion: string) => void;
}

export interface WatchOptions {
  /** Undefined watches all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Only changes after this one (a list's, or the last event's or bookmark's). */
  resourceVersion: string;
  /** The server ends the stream after this long (it ends long watches anyway); the caller watches again from where it got. */
  timeoutSeconds: number;
  signal?: AbortSignal;
}

/** One event of a watch: a change to an object, or a bookmark (a resourceVersion to resume from, nothing changed). */
export type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: ConfigMap } | { type: 'BOOKMARK'; resourceVersion: string };

export type DeleteOutcome = 'deleted' | 'not-found';

const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
/** Restarts after expired continue tokens in a row without a new item; progress resets the count. */
const MAX_LIST_RESTARTS = 3;

export class KubeClient {
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly authorization: AuthorizationV1Api;
  private readonly version: VersionApi;
  private readonly limiter: QpsLimiter;
  private readonly dryRun: 'All' | undefined;
  private readonly transport: TransportOptions;
  readonly server: string;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: KubeClientOptions = {},
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.coordination = kubeConfig.makeApiClient(CoordinationV1Api);
    this.authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
    this.version = kubeConfig.makeApiClient(VersionApi);
    this.server = kubeConfig.getCurrentCluster()?.server ?? '(unknown server)';
    this.limiter = new QpsLimiter(options.qps ?? 50, options.burst, options.timer ?? realTimer);
    this.dryRun = options.serverDryRun ? 'All' : undefined;
    this.transport = transportOptions(options.requestTimeoutMs ?? 30_000);
  }

  get serverDryRun(): boolean {
    return this.dryRun !== undefined;
  }

  /** One API call: rate limited, retried when transient, failures mapped to typed errors. */
  private call<T>(ctx: RequestContext, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const timer = this.options.timer ?? realTimer;
    return withRetry(
      async () => {
        await this.limiter.acquire(signal);
        try {
          return await fn();
        } catch (err) {
          throw this.toKubeError(err, ctx);
        }
      },
      {
        policy: this.options.retry ?? DEFAULT_RETRY_POLICY,
        timer,
        random: this.options.random ?? Math.random,
        signal,
        onRetry: (err, attempt, delay) => this.options.onRetry?.(err as KubeError, attempt, delay),
      },
    );
  }

  private toKubeError(err: unknown, ctx: RequestContext): KubeError {
    if (err instanceof ApiException) {
      return fromHttpFailure({ code: err.code, body: err.body, headers: err.headers ?? {} }, ctx);
    }
    return fromTransportFailure(err, ctx, this.server);
  }

  // ---- ConfigMaps -------------------------------------------------------------------------

  /** Pages of full ConfigMaps, each at most `pageBytes` of JSON; restarts after an expired continue token without repeating items. */
  listConfigMapPages(options: ListOptions): AsyncGenerator<ConfigMap[]> {
    return this.pages(options, false, fromRawConfigMap);
  }

  /** Pages of metadata only (PartialObjectMetadataList): no data is downloaded. */
  listConfigMapMetadataPages(options: ListOptions): AsyncGenerator<ObjectMetadata[]> {
    return this.pages(options, true, (raw) => ({ metadata: fromV1Meta(raw.metadata) }));
  }

  /**
   * Pages bounded twice: at most `pageSize` objects per request and at most `pageBytes` of them
   * held. The answer is read item by item (./list-stream.ts); once the next item would pass the
   * byte budget, the rest of the answer is dropped and the same window (continue token) is asked
   * again, skipping what was already yielded. The next request's limit follows the largest object
   * of the last answer: large objects come in pages that fit, small ones in pages of `pageSize`,
   * and a jump from small to large costs one cut.
   */
  private async *pages<T extends { metadata: ObjectMeta }>(options: ListOptions, metadataOnly: boolean, convert: (raw: RawObject) => T): AsyncGenerator<T[]> {
    const ctx: RequestContext = { verb: 'list', resource: 'configmaps', namespace: options.namespace };
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    const budget = options.pageBytes ?? DEFAULT_PAGE_BYTES;
    let token: string | undefined;
    let lastKey: string | undefined;
    let restarts = 0;
    /** The largest object of the last answer that had any, in JSON bytes; 0 before the first. */
    let largest = 0;
    /** Objects of the current window (since `token`) already yielded: a request after a cut asks for them again. */
    let yieldedInWindow = 0;
    for (;;) {
      const fit = largest === 0 ? pageSize : Math.max(1, Math.floor(budget / largest));
      // A cut comes before the answer's limit (at most pageSize), so yieldedInWindow < pageSize and
      // the clamp still leaves room for a new object.
      const limit = Math.min(pageSize, Math.min(pageSize, fit) + yieldedInWindow);
      let page: ListedPage;
      try {
        page = await this.call(ctx, () => this.listPage(options, metadataOnly, { token, limit, budget, after: lastKey }), options.signal);
      } catch (err) {
        // Lists come in key order (namespace, name): restarting and skipping what was already
        // yielded continues where the expired token left off.
        if (err instanceof GoneError && token !== undefined && restarts < MAX_LIST_RESTARTS && !options.onSnapshot) {
          restarts++;
          token = undefined;
          yieldedInWindow = 0;
          continue;
        }
        throw err;
      }
      if (token === undefined && page.resourceVersion !== undefined) options.onSnapshot?.(page.resourceVersion);
      // An answer without objects says nothing about their size.
      if (page.largest > 0) largest = page.largest;
      const items = page.items.map(convert);
      const last = items.at(-1);
      if (last) lastKey = objectKey(last.metadata);
      if (items.length > 0) {
        // A long list consumed slowly sees a token expire at every etcd compaction (~5 min):
        // only restarts that bring nothing new count towards giving up.
        restarts = 0;
        yield items;
      }
      if (page.cut) {
        yieldedInWindow += items.length;
        continue;
      }
      yieldedInWindow = 0;
      token = page.continueToken;
      if (!token) return;
    }
  }

  /** One list request, its items read as they arrive (see PageCollector); the generated client parses only the rest. */
  private async listPage(options: ListOptions, metadataOnly: boolean, request: { token: string | undefined; limit: number; budget: number; after: string | undefined }): Promise<ListedPage> {
    const collector = new PageCollector(request.budget, request.after);
    const headers = metadataOnly ? (setHeaderOptions('Accept', METADATA_LIST_ACCEPT, this.transport) as TransportOptions) : this.transport;
    const transport = withMiddleware(headers, streamedList(collector));
    const query = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector, limit: request.limit, _continue: request.token };
    const list =
      options.namespace === undefined
        ? await this.core.listConfigMapForAllNamespaces(query, transport)
        : await this.core.listNamespacedConfigMap({ namespace: options.namespace, ...query }, transport);
    return { items: collector.items, largest: collector.largest, cut: collector.cut, continueToken: list.metadata?._continue || undefined, resourceVersion: list.metadata?.resourceVersion };
  }

  /**
   * One watch request: the events after `resourceVersion` as they arrive, with bookmarks. Ends
   * when the server ends the stream (timeoutSeconds). Throws GoneError when the resourceVersion is
   * too old (list again), a transient UnavailableError when the connection drops (watch again
   * from the last event). Nothing is read ahead of the caller: a slow consumer holds the stream,
   * and the server closes it rather than buffer without bound.
   */
  async *watchConfigMaps(options: WatchOptions): AsyncGenerator<WatchEvent> {
    const ctx: RequestContext = { verb: 'watch', resource: 'configmaps', namespace: options.namespace };
    let body: ReadableStream<Uint8Array> | null = null;
    // The stream outlives the request: its deadline is the watch's own timeout and a margin.
    const transport = withMiddleware(transportOptions((options.timeoutSeconds + WATCH_DEADLINE_MARGIN_S) * 1000, options.signal), {
      pre: (request: HttpRequest) => new Observable(Promise.resolve(request)),
      post: (response: ResponseContext) => {
        if (response.httpStatusCode === 200) {
          // The events are read below, as the caller asks for them; the generated client parses an empty list.
          body = response.body.stream();
          const empty = '{"metadata":{},"items":[]}';
          response.body = { text: async () => empty, binary: async () => Buffer.from(empty), stream: () => null };
        }
        return new Observable(Promise.resolve(response));
      },
    });
    const query = {
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      watch: true,
      allowWatchBookmarks: true,
      resourceVersion: options.resourceVersion,
      timeoutSeconds: options.timeoutSeconds,
    };
    await this.call(
      ctx,
      () => (options.namespace === undefined ? this.core.listConfigMapForAllNamespaces(query, transport) : this.core.listNamespacedConfigMap({ namespace: options.namespace, ...query }, transport)),
      options.signal,
    );
    const stream = body as ReadableStream<Uint8Array> | null;
    if (!stream) return;
    const lines = new WatchLineSplitter();
    const reader = stream.getReader();
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (options.signal?.aborted) return;
          throw this.toKubeError(err, ctx);
        }
        if (chunk.done) return;
        for (const line of lines.push(chunk.value)) yield watchEvent(line, ctx);
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  async getConfigMap(ref: ObjectRef, signal?: AbortSignal): Promise<ConfigMap> {
    const v1 = await this.call({ verb: 'get', resource: 'configmaps', ...ref }, () => this.core.readNamespacedConfigMap(ref, this.transport), signal);
    return fromV1ConfigMap(v1);
  }

  async createConfigMap(cm: ConfigMap, signal?: AbortSignal): Promise<ConfigMap> {
    const ref = refOf(cm.metadata);
    const v1 = await this.call(
      { verb: 'create', resource: 'configmaps', ...ref },
      () => this.core.createNamespacedConfigMap({ namespace: ref.namespace, body: toV1ConfigMap(cm), dryRun: this.dryRun }, this.transport),
      signal,
    );
    return fromV1ConfigMap(v1);
  }

  /** Replaces the object; its metadata.resourceVersion is the precondition (409 when stale). */
  async replaceConfigMap(cm: ConfigMap, signal?: AbortSignal): Promise<ConfigMap> {
    const ref = refOf(cm.metadata);
    const v1 = await this.call(
      { verb: 'update', resource: 'configmaps', ...ref },
      () => this.core.replaceNamespacedConfigMap({ ...ref, body: toV1ConfigMap(cm), dryRun: this.dryRun }, this.transport),
      signal,
    );
    return fromV1ConfigMap(v1);
  }

  /** JSON merge patch; put metadata.resourceVersion in it to make it conditional. */
  async mergePatchConfigMap(ref: ObjectRef, patch: object, signal?: AbortSignal): Promise<ConfigMap> {
    const v1 = await this.call(
      { verb: 'patch', resource: 'configmaps', ...ref },
      () => this.core.patchNamespacedConfigMap({ ...ref, body: patch, dryRun: this.dryRun }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch, this.transport)),
      signal,
    );
    return fromV1ConfigMap(v1);
  }

  /**
   * Deletes under preconditions; a 404 means the job is already done. dryRun travels in the
   * DeleteOptions body, never in the query: kube-apiserver reads the options from the body
   * whenever there is one and then ignores the query's dryRun, so a query-only dry run would
   * delete for real.
   */
  async deleteConfigMap(ref: ObjectRef, preconditions?: Preconditions, signal?: AbortSignal): Promise<DeleteOutcome> {
    const body = dropUndefined({ preconditions, dryRun: this.dryRun ? [this.dryRun] : undefined });
    return this.deleteWith({ verb: 'delete', resource: 'configmaps', ...ref }, signal, () => this.core.deleteNamespacedConfigMap({ ...ref, body }, this.transport));
  }

  private async deleteWith(ctx: RequestContext, signal: AbortSignal | undefined, fn: () => Promise<unknown>): Promise<DeleteOutcome> {
    try {
      await this.call(ctx, fn, signal);
      return 'deleted';
    } catch (err) {
      if ((err as KubeError).kind === 'not-found') return 'not-found';
      throw err;
    }
  }

  // ---- Leases -----------------------------------------------------------------------------

  async getLease(ref: ObjectRef): Promise<Lease> {
    const v1 = await this.call({ verb: 'get', resource: 'leases', ...ref }, () => this.coordination.readNamespacedLease(ref, this.transport));
    return fromV1Lease(v1);
  }

  async createLease(lease: Lease): Promise<Lease> {
    const ref = refOf(lease.metadata);
    const v1 = await this.call({ verb: 'create', resource: 'leases', ...ref }, () => this.coordination.createNamespacedLease({ namespace: ref.namespace, body: toV1Lease(lease) }, this.transport));
    return fromV1Lease(v1);
  }

  async replaceLease(lease: Lease): Promise<Lease> {
    const ref = refOf(lease.metadata);
    const v1 = await this.call({ verb: 'update', resource: 'leases', ...ref }, () => this.coordination.replaceNamespacedLease({ ...ref, body: toV1Lease(lease) }, this.transport));
    return fromV1Lease(v1);
  }

  async deleteLease(ref: ObjectRef, preconditions?: Preconditions): Promise<DeleteOutcome> {
    return this.deleteWith({ verb: 'delete', resource: 'leases', ...ref }, undefined, () => this.coordination.deleteNamespacedLease({ ...ref, body: { preconditions } }, this.transport));
  }

  // ---- Events and access reviews -----------------------------------------------------------

  async createEvent(event: EventRecord, now: Date): Promise<void> {
    const { involved } = event;
    const ctx: RequestContext = { verb: 'create', resource: 'events', namespace: involved.namespace };
    await this.call(ctx, () =>
      this.core.createNamespacedEvent(
        {
          namespace: involved.namespace,
          dryRun: this.dryRun,
          body: {
            metadata: { name: `${involved.name}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`, namespace: involved.namespace },
            involvedObject: {
              apiVersion: involved.apiVersion ?? 'v1',
              kind: involved.kind,
              namespace: involved.namespace,
              name: involved.name,
              uid: involved.uid,
              resourceVersion: involved.resourceVersion,
            },
            type: event.type,
            reason: event.reason,
            message: event.message,
            action: event.action,
            count: 1,
            firstTimestamp: now,
            lastTimestamp: now,
            source: { component: this.options.component ?? 'cmstate' },
            reportingComponent: this.options.component ?? 'cmstate',
            reportingInstance: process.env.HOSTNAME ?? 'local',
          },
        },
        this.transport,
      ),
    );
  }

  /** SelfSubjectAccessReview: may this identity do `verb` on `resource` here? */
  async canI(verb: string, resource: string, namespace: string | undefined, group = ''): Promise<boolean> {
    const review = await this.call({ verb: 'create', resource: 'selfsubjectaccessreviews' }, () =>
      this.authorization.createSelfSubjectAccessReview(
        { body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb, resource, namespace, group } } } },
        this.transport,
      ),
    );
    return review.status?.allowed === true;
  }

  /** GET /version: reachability and the server's version. */
  async serverVersion(): Promise<string> {
    const ctx: RequestContext = { verb: 'get', resource: 'version' };
    const info = await this.call(ctx, () => this.version.getCode({}, this.transport));
    return info.gitVersion;
  }
}

function refOf(meta: ObjectMeta): ObjectRef {
  if (!meta.namespace) throw new TypeError(`object "${meta.name}" has no namespace`);
  return { namespace: meta.namespace, name: meta.name };
}

interface ListedPage {
  items: RawObject[];
  largest: number;
  cut: boolean;
  continueToken: string | undefined;
  resourceVersion: string | undefined;
}

/** Seconds a watch's connection may outlive its timeoutSeconds before the client gives up on it. */
const WATCH_DEADLINE_MARGIN_S = 30;

/** One line of a watch stream as an event; an ERROR event becomes the error its Status maps to. */
function watchEvent(line: string, ctx: RequestContext): WatchEvent {
  let event: { type?: string; object?: RawObject & { metadata?: { resourceVersion?: string } } };
  try {
    event = JSON.parse(line) as typeof event;
  } catch {
    throw new UnexpectedError(`${ctx.verb} configmaps: the server sent a line that is not JSON: ${line.slice(0, 200)}`, undefined, ctx);
  }
  const { type, object } = event;
  if (type === 'ERROR') {
    const status = (object ?? {}) as { code?: number };
    throw fromHttpFailure({ code: status.code ?? 500, body: JSON.stringify(object ?? {}), headers: {} }, ctx);
  }
  if (type === 'BOOKMARK') return { type, resourceVersion: object?.metadata?.resourceVersion ?? '' };
  if ((type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') && object) return { type, object: fromRawConfigMap(object) };
  throw new UnexpectedError(`${ctx.verb} configmaps: unknown watch event ${JSON.stringify(type)}`, undefined, ctx);
}

/**
 * A list answer read as a stream: a 200's items go to the collector one by one, and the generated
 * client is handed only the rest of the document (metadata, the continue token) to parse. Error
 * answers pass untouched, so they become the usual ApiExceptions.
 */
function streamedList(collector: PageCollector) {
  return {
    pre: (request: HttpRequest) => new Observable(Promise.resolve(request)),
    post: (response: ResponseContext) => new Observable(readListAnswer(response, collector)),
  };
}

async function readListAnswer(response: ResponseContext, collector: PageCollector): Promise<ResponseContext> {
  const stream = response.httpStatusCode === 200 ? response.body.stream() : null;
  if (!stream) return response;
  const splitter = new ListSplitter((json) => collector.add(json));
  const reader = stream.getReader();
  let rest = '{"metadata":{},"items":[]}';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        rest = splitter.finish();
        break;
      }
      if (!splitter.push(value)) {
        // The page is full: the rest of this answer is asked for again from the same token.
        await reader.cancel();
        break;
      }
    }
  } catch (err) {
    // An answer that does not parse: its unread rest must not hold the connection.
    await reader.cancel(err).catch(() => undefined);
    throw err;
  } finally {
    reader.releaseLock();
  }
  response.body = { text: async () => rest, binary: async () => Buffer.from(rest), stream: () => null };
  return response;
}
