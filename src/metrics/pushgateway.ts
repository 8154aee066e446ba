// Pushes a registry to a Prometheus Pushgateway, lists its groups, and deletes groups from it.
//
// Written on `fetch` rather than prom-client's `Pushgateway` class, which cannot do what a
// push must do here: it URI-encodes every grouping name and value, so a value with `/` or
// an empty value cannot be sent in the gateway's `<name>@base64/<value>` form (a `/` would
// need smuggling `@base64` into the name); a 4xx/5xx reaches the caller only as a plain
// `Error` whose message holds the status, indistinguishable from a network error; and the
// transport cannot be injected. The body is still prom-client's: `registry.metrics()`.
//
// Grouping key: `job=cmstate-<job>`, `namespace`, and `shard` when sharded.
// - `namespace` is the namespace the run worked on, or `_all` (ALL_NAMESPACES) for
//   --all-namespaces. `_all` cannot clash with a namespace (`_` is not allowed in one),
//   while an empty value would make Prometheus drop the label on scrape.
// - The gateway overwrites a pushed series' own `namespace` label with the grouping key's,
//   and rejects the push when that makes two series equal. State gauges of several
//   namespaces therefore go to one group per namespace, never into the `_all` group.
//
// Methods (the Pushgateway's semantics):
// - PUT replaces the whole group: every metric name not in the push is gone.
// - POST replaces only the metric names it sends (a name sent without any sample is NOT
//   replaced); other names in the group stay.
// - DELETE removes the whole group.
// A successful run pushes with PUT: the group then holds exactly the last successful run,
// and metrics that a newer version or other options no longer produce do not linger. A
// group must therefore be pushed in one piece: the `metrics` job merges its run metrics and
// state gauges (`Registry.merge`) before pushing. A failed run pushes with POST and without
// `cmstate_job_last_success_timestamp_seconds`, so the gateway keeps the last success while
// the rest of the group is updated. `RunMetrics.record()` returns which method to use.
import type { Registry } from 'prom-client';

export type PushMethod = 'put' | 'post';

/** `namespace` value of the grouping key for a run over --all-namespaces. */
export const ALL_NAMESPACES = '_all';

export interface Grouping {
  /** The entrypoint's name (`sweep`); the grouping key's job is `cmstate-<job>`. */
  job: string;
  /** The namespace the run worked on, or ALL_NAMESPACES. */
  namespace: string;
  /** The shard index, only when the run is sharded (--shard-count > 1). */
  shard?: number;
}

export interface GatewayOptions {
  /** The Pushgateway's base URL, e.g. `http://pushgateway:9091` (a path prefix is kept). */
  url: string;
  /** Retries after the first attempt, for network errors, timeouts, 408, 429 and 5xx. */
  retries?: number;
  /** Per attempt. */
  timeoutMs?: number;
  /** First backoff; it doubles per retry, with jitter, up to 10 s. */
  backoffMs?: number;
  fetch?: typeof fetch;
}

export interface GatewayRequestOptions extends GatewayOptions {
  grouping: Grouping;
}

export interface PushOptions extends GatewayRequestOptions {
  registry: Registry;
  method: PushMethod;
}

/** A push or delete that did not succeed after its retries. `status` is absent when no HTTP answer came. */
export class PushError extends Error {
  override name = 'PushError';
  constructor(
    message: string,
    readonly url: string,
    readonly status: number | undefined,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const DEFAULTS = { retries: 3, timeoutMs: 5_000, backoffMs: 500 };
const MAX_BACKOFF_MS = 10_000;

/** Pushes the registry's exposition text to the group; throws PushError when it fails. */
export async function pushMetrics(options: PushOptions): Promise<void> {
  const body = await options.registry.metrics();
  await send(options, groupUrl(options.url, options.grouping), options.method === 'put' ? 'PUT' : 'POST', {
    body,
    headers: { 'content-type': options.registry.contentType },
  });
}

/** Removes the group and every metric in it; a group that does not exist is no error. */
export async function deleteGroup(options: GatewayRequestOptions): Promise<void> {
  await send(options, groupUrl(options.url, options.grouping), 'DELETE', {});
}

/**
 * The grouping keys of every group the gateway holds (its `/api/v1/metrics`), e.g.
 * `{ job: 'cmstate-metrics', namespace: 'team-a' }`, for finding groups to delete.
 */
export async function listGroups(options: GatewayOptions): Promise<Record<string, string>[]> {
  const url = `${baseUrl(options.url)}/api/v1/metrics`;
  const text = await send(options, url, 'GET', {});
  let groups: unknown;
  try {
    groups = (JSON.parse(text) as { data?: unknown }).data;
  } catch {
    groups = undefined;
  }
  if (!Array.isArray(groups)) throw new PushError(`listing groups at ${url} failed: the answer is not the Pushgateway's group list`, url, 200, 1);
  return groups.map((group: { labels?: Record<string, string> }) => ({ ...group.labels }));
}

/** The group's path below the base URL: `/metrics/job/cmstate-sweep/namespace/team-a`. */
export function groupPath(grouping: Grouping): string {
  const pairs: [string, string][] = [
    ['job', `cmstate-${grouping.job}`],
    ['namespace', grouping.namespace],
  ];
  if (grouping.shard !== undefined) pairs.push(['shard', String(grouping.shard)]);
  return '/metrics' + pairs.map(([name, value]) => `/${encodePair(name, value)}`).join('');
}

// Plain values stay readable in URLs and logs; anything else (a `/`, an empty value, `.`
// or `..` that path cleaning would eat, other special characters) goes in the gateway's
// `@base64` form, URL-safe alphabet; an empty value must be sent as `=`.
function encodePair(name: string, value: string): string {
  if (/^[A-Za-z0-9_-][A-Za-z0-9._~-]*$/.test(value)) return `${name}/${value}`;
  const encoded = value === '' ? '=' : Buffer.from(value, 'utf8').toString('base64url');
  return `${name}@base64/${encoded}`;
}

function groupUrl(base: string, grouping: Grouping): string {
  return baseUrl(base) + groupPath(grouping);
}

function baseUrl(base: string): string {
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new PushError(`Pushgateway URL "${base}" is not a URL`, base, undefined, 0);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new PushError(`Pushgateway URL "${base}" is not http(s)`, base, undefined, 0);
  }
  return parsed.origin + parsed.pathname.replace(/\/+$/, '');
}

function retryable(status: number): boolean {
  // Other 4xx are deterministic (e.g. 400: metrics inconsistent with the group): the same
  // request would get the same answer.
  return status === 408 || status === 429 || status >= 500;
}

async function send(options: GatewayOptions, url: string, method: string, init: { body?: string; headers?: Record<string, string> }): Promise<string> {
  const retries = options.retries ?? DEFAULTS.retries;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const backoffMs = options.backoffMs ?? DEFAULTS.backoffMs;
  const doFetch = options.fetch ?? fetch;
  const verb = method === 'DELETE' ? 'delete of' : method === 'GET' ? 'listing' : 'push to';

  for (let attempt = 1; ; attempt++) {
    let failure: PushError;
    try {
      const response = await doFetch(url, { method, ...init, signal: AbortSignal.timeout(timeoutMs) });
      const text = await response.text();
      if (response.ok) return text;
      const detail = text.trim().split('\n')[0]?.slice(0, 200);
      failure = new PushError(`${verb} ${url} failed: HTTP ${response.status}${detail ? ` (${detail})` : ''} after ${plural(attempt)}`, url, response.status, attempt);
      if (!retryable(response.status)) throw failure;
    } catch (err) {
      if (err instanceof PushError) throw err;
      failure = new PushError(`${verb} ${url} failed: ${reason(err, timeoutMs)} after ${plural(attempt)}`, url, undefined, attempt, { cause: err });
    }
    if (attempt > retries) throw failure;
    await delay(Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
  }
}

function reason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // fetch wraps the socket error ("fetch failed"); its cause names it (ECONNREFUSED, ENOTFOUND).
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

function plural(attempts: number): string {
  return attempts === 1 ? '1 attempt' : `${attempts} attempts`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
