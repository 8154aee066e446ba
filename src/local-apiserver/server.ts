// The embedded local API server: node:http, routing to the resource API, fault injection in front,
// a request log behind, and optional persistence to a data file.

import type { ConfigMap } from '../kube/types.js';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ResourceApi, SYSTEM_NAMESPACES, type ApiContext } from './api.js';
import { startControllers, type Controller } from './controllers.js';
import { bodyMediaType, readObjectBody } from './request-body.js';
import { TokenAuthenticator, type Identity } from './authn.js';
import { Authorizer, reviewAccess, type AllowRule, type DenyRule, type RuleHandle } from './authz.js';
import { FaultInjector, seededRandom } from './faults.js';
import { sendJson } from './json-response.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { negotiate } from './negotiation.js';
import { ContinueTokens } from './paging.js';
import { DataFileWriter, loadDataFile } from './persistence.js';
import { NAMESPACES, findKind } from './resources.js';
import type { KubeObject, Verb } from './resource-def.js';
import { requestInfo } from './request-info.js';
import { route, routeVerb, type Route } from './router.js';
import { ApiError, badRequest, internalError, requestEntityTooLarge, statusBody, statusForCode } from './status.js';
import { Store } from './store.js';
import { WatchStream, parseWatchQuery, type ActiveWatch } from './watch.js';

/**
 * Where a new server's resourceVersions start: etcd revisions are large numbers on a real cluster,
 * and clients must treat them as opaque strings, not count them from 1.
 */
const FIRST_RESOURCE_VERSION = 100_000_000;

/** The real server's request body limit (3 MiB); larger bodies get 413. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface LocalApiServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Load objects from this JSON file at start if it exists; rewrite it after changes and on close. */
  dataFile?: string;
  /** How long a `continue` token stays valid (default 300000 ms, like etcd's compaction interval). */
  continueTokenTtlMs?: number;
  /** Random source for fault rates and generated names (default: seeded, deterministic). */
  random?: () => number;
  /** Clock (ms since epoch) for timestamps, ages and token expiry (default Date.now). */
  now?: () => number;
  /**
   * Bearer tokens and their users, in kube-apiserver's --token-auth-file format (CSV lines
   * `token,user,uid,"group1,group2"`); a malformed file fails the start with a TokenFileError.
   * A request without a token is then system:anonymous, as on a cluster. Without a file the server
   * knows one token, of an admin (group system:masters) named by `user`, and a request without a
   * token is that admin too: kubectl sends no credentials over plain HTTP.
   */
  tokenAuthFile?: string;
  /** The built-in admin's user name when there is no tokenAuthFile (default cmstate-local). */
  user?: string;
  /** Changes retained for watches to resume from (default 10000). */
  watchHistorySize?: number;
  /**
   * How often a watch with allowWatchBookmarks=true gets a BOOKMARK (default 60000 ms, as the watch
   * cache's bookmark frequency; tests use ~100). One also comes 2 s before a watch times out.
   */
  watchBookmarkIntervalMs?: number;
  /**
   * Live events held for a watch whose client is not reading (default 100). Past it, a watch that
   * does not drain within 100 ms is closed, as the watch cache closes an unresponsive watcher; the
   * client resumes from the last resourceVersion it read.
   */
  watchBufferSize?: number;
  /**
   * kube-apiserver's --min-request-timeout in seconds (default 1800): a watch without
   * timeoutSeconds ends after a random time between this and twice this.
   */
  minRequestTimeoutSeconds?: number;
  /** Debounce of data file writes (default 200 ms). */
  persistDebounceMs?: number;
  /** Request log entries kept, oldest dropped first (default 100000). */
  requestLogLimit?: number;
  /** How long after an owner's deletion the garbage collector deletes its dependents (default 100 ms: never at once, as on a real cluster). */
  garbageCollectionDelayMs?: number;
  /** How long a deleted namespace stays Terminating before its content, then itself, is deleted (default 100 ms). */
  namespaceDeletionDelayMs?: number;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The Accept header as sent, so tests can check that metadata only was asked for. */
  accept: string | undefined;
  contentType: string | undefined;
  /** The verb the request meant (discovery is `get`). */
  verb: Verb;
  /** HTTP status answered; 0 when the connection was dropped by a fault. */
  status: number;
  /** Until the answer was written: a list is logged once its last piece is, or once its client has gone away. */
  durationMs: number;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(requestEntityTooLarge(`limit is ${MAX_BODY_BYTES}`));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class LocalApiServer {
  /** Fault injection: `faults.add(rule)` returns a handle to remove it; `faults.clear()`. */
  readonly faults: FaultInjector;
  /** Every request answered (or dropped), oldest first. */
  readonly requests: RequestLogEntry[] = [];

  private readonly store: Store;
  private readonly authn: TokenAuthenticator;
  private readonly authz: Authorizer;
  private readonly tokens: ContinueTokens;
  private readonly api: ResourceApi;
  private readonly watches = new Set<ActiveWatch>();
  private readonly writer: DataFileWriter | undefined;
  private readonly controllers: Controller;
  private readonly requestLogLimit: number;
  private readonly watchOptions: { bookmarkIntervalMs: number; bufferSize: number; minRequestTimeoutMs: number };
  /** Draws the randomized watch timeouts, apart from `random` so open watches do not shift fault rates or generated names. */
  private readonly watchTimeoutRandom = seededRandom(2);
  private http: Server | undefined;
  private address: AddressInfo | undefined;

  private constructor(options: LocalApiServerOptions) {
    const random = options.random ?? seededRandom(1);
    const now = options.now ?? Date.now;
    this.authn = options.tokenAuthFile ? TokenAuthenticator.fromFile(options.tokenAuthFile) : TokenAuthenticator.builtIn(options.user ?? 'cmstate-local');
    const loaded = options.dataFile ? loadDataFile(options.dataFile) : undefined;
    this.store = new Store(options.watchHistorySize ?? 10000, loaded?.resourceVersion ?? FIRST_RESOURCE_VERSION);
    this.authz = new Authorizer();
    this.tokens = new ContinueTokens(options.continueTokenTtlMs ?? 300000, now, this.store);
    this.faults = new FaultInjector(random);
    this.requestLogLimit = options.requestLogLimit ?? 100000;
    this.watchOptions = {
      bookmarkIntervalMs: options.watchBookmarkIntervalMs ?? 60_000,
      bufferSize: options.watchBufferSize ?? 100,
      minRequestTimeoutMs: (options.minRequestTimeoutSeconds ?? 1800) * 1000,
    };
    const ctx: ApiContext = { store: this.store, tokens: this.tokens, now, random };
    this.api = new ResourceApi(ctx);
    if (loaded) this.restore(loaded.objects);
    for (const name of SYSTEM_NAMESPACES) {
      if (!this.store.get(NAMESPACES, undefined, name)) this.api.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }]);
    }
    if (options.dataFile) {
      const writer = new DataFileWriter(options.dataFile, options.persistDebounceMs ?? 200, () => ({
        resourceVersion: this.store.resourceVersion,
        objects: this.store.all(),
      }));
      this.store.subscribe(() => writer.schedule());
      this.writer = writer;
    }
    this.controllers = startControllers(
      { store: this.store, api: this.api },
      { garbageCollectionDelayMs: options.garbageCollectionDelayMs ?? 100, namespaceDeletionDelayMs: options.namespaceDeletionDelayMs ?? 100 },
    );
  }

  /** Starts a server; it listens before the promise resolves. */
  static async start(options: LocalApiServerOptions = {}): Promise<LocalApiServer> {
    const server = new LocalApiServer(options);
    await server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
    return server;
  }

  get port(): number {
    return (this.address as AddressInfo).port;
  }

  /** `http://127.0.0.1:PORT` */
  get url(): string {
    const host = (this.address as AddressInfo).address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  /** Current global resourceVersion. */
  get resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  /**
   * Makes every request matching the rule 403, and matching access reviews `allowed: false`,
   * whoever asks: the admin too, which no real cluster can do (a test device, for `cmstate doctor`).
   */
  deny(rule: DenyRule): RuleHandle {
    return this.authz.deny(rule);
  }

  clearDenyRules(): void {
    this.authz.clearDenyRules();
  }

  /** Grants a user what an RBAC (Cluster)RoleBinding of one rule would; users outside system:masters have nothing else but the bootstrap roles. */
  allow(rule: AllowRule): RuleHandle {
    return this.authz.allow(rule);
  }

  /** The token of a system:masters member, which the kubeconfig carries (throws if the token file names none). */
  get adminToken(): string {
    return this.authn.adminToken;
  }

  /**
   * Stores objects without HTTP (ConfigMaps unless `apiVersion`/`kind` say otherwise; namespace
   * `default` unless set), validated and given uid and resourceVersion as by create. Missing
   * namespaces are created. Throws ApiError (422 Invalid, 409 AlreadyExists) and stores nothing then.
   */
  seed(objects: readonly (KubeObject | ConfigMap)[]): KubeObject[] {
    return this.api.seed(objects as readonly KubeObject[]).map((s) => s.obj);
  }

  /** A stored object (a copy), or undefined: for assertions without HTTP. */
  getObject(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const def = findKind(apiVersion, kind);
    return def ? this.store.get(def, def.namespaced ? namespace : undefined, name)?.copy() : undefined;
  }

  /** Makes every outstanding `continue` token answer 410 Expired. */
  expireContinueTokens(): void {
    this.tokens.expireAll();
  }

  /**
   * Test hook: ends every open watch abruptly, as a broken connection or a restarting apiserver
   * does: the response stops without another event, and clients resume from what they last read.
   */
  dropWatches(): void {
    for (const w of [...this.watches]) w.drop();
  }

  /**
   * Test hook: forgets every retained change, as an etcd compaction (or a restarted watch cache)
   * does: a watch from any resourceVersion older than the current one gets the ERROR event with a
   * 410 Expired Status, and a continued list 410 too; a watch from the current one still works.
   */
  compactWatchHistory(): void {
    this.store.compactHistory();
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  kubeconfigYaml(namespace = 'default'): string {
    return kubeconfigYaml({ url: this.url, namespace, token: this.adminToken });
  }

  async writeKubeconfig(path: string, namespace = 'default'): Promise<void> {
    await writeFile(path, this.kubeconfigYaml(namespace), { mode: 0o600 });
  }

  /** Stops the controllers, ends open watches, stops listening, and writes the data file if one is configured. */
  async close(): Promise<void> {
    this.controllers.stop();
    for (const w of [...this.watches]) w.close();
    const http = this.http;
    if (http) {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      this.http = undefined;
    }
    await this.writer?.flush();
  }

  private restore(objects: KubeObject[]): void {
    const entries = objects.map((obj) => {
      const def = findKind(obj.apiVersion ?? '', obj.kind ?? '');
      if (!def) throw badRequest(`data file holds an object of unknown kind ${obj.apiVersion}/${obj.kind}`);
      return { def, obj, keepRv: true };
    });
    this.store.bulkCreate(entries);
  }

  private listen(port: number, host: string): Promise<void> {
    const http = createServer((req, res) => void this.handle(req, res));
    http.keepAliveTimeout = 65000;
    this.http = http;
    return new Promise((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        this.address = http.address() as AddressInfo;
        resolve();
      });
    });
  }

  /** As the watch handler times a watch: timeoutSeconds, or without it (or 0) a random time between the min request timeout and twice it. */
  private watchTimeoutMs(timeoutSeconds: number | undefined): number {
    if (timeoutSeconds !== undefined && timeoutSeconds !== 0) return timeoutSeconds * 1000;
    return this.watchOptions.minRequestTimeoutMs * (this.watchTimeoutRandom() + 1);
  }

  private log(entry: RequestLogEntry): void {
    this.requests.push(entry);
    if (this.requests.length > this.requestLogLimit * 2) this.requests.splice(0, this.requests.length - this.requestLogLimit);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://local');
    const r = route(method, url.pathname, url.searchParams, headerValue(req.headers.accept));
    const entry: RequestLogEntry = {
      method,
      path: url.pathname,
      query: url.searchParams,
      accept: headerValue(req.headers.accept),
      contentType: headerValue(req.headers['content-type']),
      verb: routeVerb(r, method),
      status: 0,
      durationMs: 0,
    };
    const finish = (status: number) => {
      entry.status = status;
      entry.durationMs = performance.now() - started;
      this.log(entry);
    };
    try {
      const fault = this.faults.pick({ method, url: req.url ?? '/', verb: entry.verb });
      if (fault?.kind === 'drop') {
        finish(0);
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'latency') await new Promise((resolve) => setTimeout(resolve, fault.ms));
      if (fault?.kind === 'status') throw statusForCode(fault.code, fault.retryAfterSeconds ?? (fault.code === 429 ? 1 : undefined));
      // As kube-apiserver's filters: who is asking (401 for an unknown token), then may they (403),
      // from the URL alone and before the body is read or the path routed.
      const identity = this.authn.authenticate(req.headers.authorization);
      this.authz.check(identity, requestInfo(method, url.pathname, url.searchParams));
      const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req);
      if (fault?.kind === 'lose-response') {
        res.end = (() => {
          req.socket.destroy();
          return res;
        }) as typeof res.end;
      }
      await this.answer(r, req, res, url, body, identity, finish);
    } catch (err) {
      const apiError = err instanceof ApiError ? err : internalError((err as Error).message);
      if (res.headersSent) {
        res.destroy();
        finish(apiError.code);
        return;
      }
      const headers: Record<string, string> = {};
      const retry = apiError.details?.retryAfterSeconds;
      if (retry !== undefined) headers['Retry-After'] = String(retry);
      finish(apiError.code);
      await sendJson(res, apiError.code, JSON.stringify(statusBody(apiError)), headers);
    }
  }

  private async answer(r: Route, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer | undefined, identity: Identity, finish: (status: number) => void): Promise<void> {
    switch (r.kind) {
      case 'error':
        throw r.error;
      case 'document':
        finish(r.status);
        res.writeHead(r.status, { ...(r.contentType ? { 'Content-Type': r.contentType } : {}), 'Cache-Control': 'no-cache, private' }).end(r.body);
        return;
      case 'accessReview': {
        const reviewKind = { group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview' };
        const review = readObjectBody(reviewKind, body, bodyMediaType(reviewKind, headerValue(req.headers['content-type'])));
        finish(201);
        await sendJson(res, 201, JSON.stringify(reviewAccess(this.authz, identity, review)));
        return;
      }
      case 'resource':
        break;
    }
    const { target, verb } = r;
    const accept = headerValue(req.headers.accept);
    if (verb === 'watch') {
      const metadataOnly = negotiate(accept, 'watch', target.def) === 'metadata';
      const query = parseWatchQuery(target.def, url.searchParams);
      finish(200);
      const watch: WatchStream = new WatchStream(
        this.store,
        res,
        {
          def: target.def,
          ...(target.namespace !== undefined ? { namespace: target.namespace } : {}),
          query,
          metadataOnly,
          timeoutMs: this.watchTimeoutMs(query.timeoutSeconds),
          bookmarkIntervalMs: this.watchOptions.bookmarkIntervalMs,
          bufferSize: this.watchOptions.bufferSize,
        },
        () => this.watches.delete(watch),
      );
      this.watches.add(watch);
      watch.start();
      return;
    }
    const contentType = headerValue(req.headers['content-type']);
    const result = this.api.handle(verb, {
      target,
      query: url.searchParams,
      ...(accept !== undefined ? { accept } : {}),
      ...(contentType !== undefined ? { contentType } : {}),
      ...(body !== undefined ? { body } : {}),
    });
    await sendJson(res, result.status, result.body, result.headers);
    finish(result.status);
  }
}
