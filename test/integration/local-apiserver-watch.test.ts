// Watches over HTTP as StateManager.watch uses them: from a resourceVersion with bookmarks, resumed
// after a dropped connection, relisted after 410 Gone, ended by timeoutSeconds, closed when the
// client stops reading; and the WatchList parameters of v1.32. Tests without the embedded server's
// hooks run unchanged against a real cluster (CMSTATE_TEST_KUBECONFIG), selecting only objects
// they made.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test, type TestContext, type TestOptions } from 'node:test';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';
import { embeddedOnly, eventually, startTestCluster, type TestCluster } from '../support/cluster.js';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import type { ConfigMap } from '../../src/kube/types.js';
import { LocalApiServer, type LocalApiServerOptions } from '../../src/local-apiserver/index.js';

interface WatchEvent {
  type: string;
  // Tests read arbitrary fields of the objects events carry.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  object: any;
}

/** How a stream stopped: the server ended it, or the connection broke. */
type Ended = 'end' | 'broken';

/** A watch read line by line; one read is outstanding at a time, so a timed-out wait loses nothing. */
class WatchReader {
  private buffer = '';
  private read: ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']> | undefined;
  private readonly decoder = new TextDecoder();
  ended: Ended | undefined;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly controller: AbortController,
  ) {}

  /** The next event; 'end' or 'broken' once the stream has stopped; 'timeout' if none came within `timeoutMs`. */
  async next(timeoutMs = 10_000): Promise<WatchEvent | Ended | 'timeout'> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl !== -1) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        return JSON.parse(line) as WatchEvent;
      }
      if (this.ended) return this.ended;
      this.read ??= this.reader.read();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - performance.now()))));
      const result = await Promise.race([this.read.catch(() => 'broken' as const), timeout]);
      clearTimeout(timer);
      if (result === 'timeout') return result;
      this.read = undefined;
      if (result === 'broken') this.ended = 'broken';
      else if (result.done) this.ended = 'end';
      else this.buffer += this.decoder.decode(result.value, { stream: true });
    }
  }

  /** The next event, which must come. */
  async event(what = 'an event'): Promise<WatchEvent> {
    const e = await this.next();
    if (typeof e === 'string') assert.fail(`expected ${what}, the watch gave ${e}`);
    return e;
  }

  /** Every event until the stream stops, and how it stopped. */
  async rest(timeoutMs = 10_000): Promise<{ events: WatchEvent[]; ended: Ended }> {
    const events: WatchEvent[] = [];
    for (;;) {
      const e = await this.next(timeoutMs);
      if (e === 'timeout') assert.fail(`the watch did not end within ${timeoutMs} ms (events so far: ${summary(events)})`);
      if (e === 'end' || e === 'broken') return { events, ended: e };
      events.push(e);
    }
  }

  close(): void {
    this.controller.abort();
  }
}

/** An API server the tests talk to over HTTP, as the kubeconfig's user. */
class Api {
  constructor(readonly kubeConfig: KubeConfig) {}

  static of(server: LocalApiServer): Api {
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml());
    return new Api(kc);
  }

  client(): KubeClient {
    return new KubeClient(this.kubeConfig, { qps: 1000 });
  }

  async get(path: string, options: { signal?: AbortSignal; accept?: string } = {}) {
    const url = `${this.kubeConfig.getCurrentCluster()?.server}${path}`;
    const ctx = new RequestContext(url, HttpMethod.GET);
    await this.kubeConfig.applySecurityAuthentication(ctx);
    const headers = { ...ctx.getHeaders(), ...(options.accept ? { accept: options.accept } : {}) };
    return fetch(url, { headers, dispatcher: ctx.getDispatcher() as Dispatcher | undefined, ...(options.signal ? { signal: options.signal } : {}) });
  }

  /** A watch of ConfigMaps in `namespace`; it must be answered 200. */
  async watch(namespace: string, params: Record<string, string>, accept?: string): Promise<WatchReader> {
    const controller = new AbortController();
    const res = await this.get(configMaps(namespace, { watch: 'true', ...params }), { signal: controller.signal, ...(accept ? { accept } : {}) });
    assert.equal(res.status, 200, res.status === 200 ? '' : await res.text());
    return new WatchReader((res.body as ReadableStream<Uint8Array>).getReader(), controller);
  }
}

function configMaps(namespace: string, params: Record<string, string> = {}): string {
  const query = new URLSearchParams(params).toString();
  return `/api/v1/namespaces/${namespace}/configmaps${query ? `?${query}` : ''}`;
}

function summary(events: WatchEvent[]): string {
  return events.map((e) => `${e.type} ${e.object?.metadata?.name ?? e.object?.metadata?.resourceVersion ?? ''}`).join(', ') || 'none';
}

/** A label value no other test (or anything else on a real cluster) uses. */
function uniqueSet(): string {
  return `w-${randomBytes(4).toString('hex')}`;
}

function cm(namespace: string, name: string, labels: Record<string, string>, data: Record<string, string> = { k: 'v' }): ConfigMap {
  return { metadata: { name, namespace, labels }, data };
}

const rvOf = (o: { metadata: { resourceVersion?: string } }) => o.metadata.resourceVersion as string;

/** What the real server's BOOKMARK objects hold: the kind, and metadata with the resourceVersion alone. */
function assertBookmarkShape(e: WatchEvent, kind = 'ConfigMap', apiVersion = 'v1'): void {
  assert.equal(e.type, 'BOOKMARK');
  assert.equal(e.object.kind, kind);
  assert.equal(e.object.apiVersion, apiVersion);
  assert.match(e.object.metadata.resourceVersion, /^\d+$/);
  // v1.32 writes the zero creationTimestamp as null; v1.33 and later leave it out.
  assert.equal(e.object.metadata.creationTimestamp ?? null, null);
  const rest = Object.keys(e.object.metadata).filter((k) => k !== 'resourceVersion' && k !== 'creationTimestamp' && k !== 'annotations');
  assert.deepEqual(rest, []);
  assert.deepEqual(Object.keys(e.object).sort(), ['apiVersion', 'kind', 'metadata']);
}

let cluster: TestCluster;
let api: Api;
let client: KubeClient;
/** For requests that create nothing; tests that create objects work in a namespace of their own. */
let ns: string;

before(async () => {
  cluster = await startTestCluster();
  api = new Api(loadKubeConfig({ kubeconfig: cluster.kubeconfig }).kubeConfig);
  client = cluster.client();
  ns = cluster.namespace;
});
after(async () => cluster.close());

/** Whether the server serves sendInitialEvents (the WatchList feature gate: on in v1.32 and v1.34+, off in v1.33). */
let watchList: Promise<boolean> | undefined;
function watchListServed(): Promise<boolean> {
  watchList ??= (async () => {
    const res = await api.get(configMaps(ns, { watch: 'true', sendInitialEvents: 'false', resourceVersionMatch: 'NotOlderThan', labelSelector: 'probe=none', timeoutSeconds: '1' }));
    if (res.status === 200) {
      await res.body?.cancel();
      return true;
    }
    assert.match(await res.text(), /WatchList feature gate/);
    return false;
  })();
  return watchList;
}

async function needsWatchList(t: TestContext): Promise<boolean> {
  if (await watchListServed()) return true;
  t.skip('the server has the WatchList feature gate off');
  return false;
}

describe('bookmarks', () => {
  test('with allowWatchBookmarks a watch gets a BOOKMARK before it times out, shaped as the real one and resumable; without, none', async () => {
    const ns = await cluster.extraNamespace();
    const set = uniqueSet();
    const start = await client.createConfigMap(cm(ns, 'start', { set }));
    const params = { labelSelector: `set=${set}`, resourceVersion: rvOf(start), timeoutSeconds: '3' };
    const started = performance.now();
    const [withBookmarks, without] = await Promise.all([api.watch(ns, { ...params, allowWatchBookmarks: 'true' }), api.watch(ns, params)]);
    // A change the watches do not select moves the resourceVersion past where they started.
    const other = await client.createConfigMap(cm(ns, 'other', { set: `${set}-other` }));

    const [a, b] = await Promise.all([withBookmarks.rest(), without.rest()]);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 2500 && elapsed < 10_000, `ended after ${elapsed.toFixed(0)} ms`);
    assert.equal(a.ended, 'end');
    assert.equal(b.ended, 'end');
    assert.deepEqual(b.events, [], summary(b.events));
    assert.ok(a.events.length >= 1, 'a bookmark before the timeout');
    for (const e of a.events) assertBookmarkShape(e);
    const bookmark = a.events.at(-1) as WatchEvent;
    assert.equal(bookmark.object.metadata.annotations, undefined);
    assert.ok(BigInt(rvOf(bookmark.object)) >= BigInt(rvOf(other)), `bookmark ${rvOf(bookmark.object)} after ${rvOf(other)}`);

    // A client resumes from a bookmark: only what came after it.
    const resumed = await api.watch(ns, { labelSelector: `set=${set}`, resourceVersion: rvOf(bookmark.object) });
    try {
      await client.createConfigMap(cm(ns, 'after', { set }));
      const e = await resumed.event('ADDED after');
      assert.equal(`${e.type} ${e.object.metadata.name}`, 'ADDED after');
    } finally {
      resumed.close();
    }
  });

  describe('at the configured interval', () => {
    let own: LocalApiServer;
    let ownApi: Api;
    before(async () => {
      if (cluster.local === undefined) return;
      own = await LocalApiServer.start({ watchBookmarkIntervalMs: 100 });
      ownApi = Api.of(own);
      // The root-CA publisher's first writes, after which nothing changes until the test does.
      await eventually(
        'kube-root-ca.crt in every namespace',
        async () => ['default', 'kube-system', 'kube-public', 'kube-node-lease'].every((n) => own.getObject('v1', 'ConfigMap', n, 'kube-root-ca.crt')) || undefined,
      );
    });
    after(async () => own?.close());

    test(...embeddedOnly('watchBookmarkIntervalMs', 'bookmarks come periodically once the resourceVersion is past the start, never without allowWatchBookmarks'), async () => {
      const params = { labelSelector: 'set=none', resourceVersion: own.resourceVersion };
      const bookmarked = await ownApi.watch('default', { ...params, allowWatchBookmarks: 'true' });
      const metadataOnly = await ownApi.watch('default', { ...params, allowWatchBookmarks: 'true' }, 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
      const plain = await ownApi.watch('default', params);
      try {
        // Nothing happened after the start: nothing to bookmark, as the watch cache sends none at the start's resourceVersion.
        assert.equal(await bookmarked.next(350), 'timeout');
        own.seed([{ metadata: { name: 'unwatched', labels: { set: 'other' } } }]);
        const first = await bookmarked.event('a bookmark');
        assertBookmarkShape(first);
        assert.equal(rvOf(first.object), own.resourceVersion);
        const second = await bookmarked.event('another bookmark');
        assertBookmarkShape(second);
        assert.equal(rvOf(second.object), own.resourceVersion);
        const meta = await metadataOnly.event('a metadata-only bookmark');
        assertBookmarkShape(meta, 'PartialObjectMetadata', 'meta.k8s.io/v1');
        assert.equal(await plain.next(350), 'timeout');
      } finally {
        for (const w of [bookmarked, metadataOnly, plain]) w.close();
      }
    });
  });
});

describe('410 Gone', () => {
  test('a watch from a resourceVersion the server no longer holds gets one ERROR event, 410 Expired, and ends', async () => {
    const w = await api.watch(ns, { labelSelector: `set=${uniqueSet()}`, resourceVersion: '1' });
    const { events, ended } = await w.rest();
    assert.equal(ended, 'end');
    assert.equal(events.length, 1, summary(events));
    const error = events[0] as WatchEvent;
    assert.equal(error.type, 'ERROR');
    assert.match(error.object.message, /^too old resource version: 1 \(\d+\)$/);
    assert.deepEqual({ ...error.object, message: '' }, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: '', reason: 'Expired', code: 410 });
  });

  test(...embeddedOnly('compactWatchHistory', 'after compactWatchHistory() a watch from an older resourceVersion is 410, one from the current resourceVersion works'), async () => {
    const ns = await cluster.extraNamespace();
    const local = cluster.local as LocalApiServer;
    const set = uniqueSet();
    const old = await client.createConfigMap(cm(ns, 'old', { set }));
    await client.createConfigMap(cm(ns, 'newer', { set }));
    local.compactWatchHistory();
    const current = local.resourceVersion;

    const expired = await api.watch(ns, { labelSelector: `set=${set}`, resourceVersion: rvOf(old) });
    const { events, ended } = await expired.rest();
    assert.equal(ended, 'end');
    assert.deepEqual(events, [
      {
        type: 'ERROR',
        object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${rvOf(old)} (${current})`, reason: 'Expired', code: 410 },
      },
    ]);

    const fresh = await api.watch(ns, { labelSelector: `set=${set}`, resourceVersion: current });
    try {
      await client.createConfigMap(cm(ns, 'latest', { set }));
      const e = await fresh.event('ADDED latest');
      assert.equal(`${e.type} ${e.object.metadata.name}`, 'ADDED latest');
    } finally {
      fresh.close();
    }
  });
});

describe('resuming', () => {
  const ways: [string, (w: WatchReader) => void, boolean][] = [
    ['the client closes the watch', (w) => w.close(), false],
    ['dropWatches() breaks the connection', () => (cluster.local as LocalApiServer).dropWatches(), true],
  ];
  for (const [how, stop, hook] of ways) {
    const name = `after ${how}, a watch from the last resourceVersion seen gets exactly the missed events`;
    const [title, options]: [string, TestOptions] = hook ? embeddedOnly('dropWatches', name) : [name, {}];
    test(title, options, async () => {
      const ns = await cluster.extraNamespace();
      const set = uniqueSet();
      const selector = `set=${set}`;
      const first = await client.createConfigMap(cm(ns, 'a', { set }));
      const w = await api.watch(ns, { labelSelector: selector, resourceVersion: rvOf(first) });
      await client.createConfigMap(cm(ns, 'b', { set }));
      await client.createConfigMap(cm(ns, 'c', { set }));
      const seen = [await w.event('ADDED b'), await w.event('ADDED c')];
      assert.deepEqual(
        seen.map((e) => `${e.type} ${e.object.metadata.name}`),
        ['ADDED b', 'ADDED c'],
      );
      stop(w);
      if (hook) assert.ok(['end', 'broken'].includes(String(await w.next())), 'the dropped stream stops without another event');

      // What happens while the client is away.
      await client.mergePatchConfigMap({ namespace: ns, name: 'b' }, { data: { k: 'v2' } });
      await client.deleteConfigMap({ namespace: ns, name: 'c' });
      await client.createConfigMap(cm(ns, 'd', { set }));
      // Leaving the selection is a DELETED too.
      await client.mergePatchConfigMap({ namespace: ns, name: 'a' }, { metadata: { labels: { set: `${set}-gone` } } });

      const resumed = await api.watch(ns, { labelSelector: selector, resourceVersion: rvOf((seen[1] as WatchEvent).object) });
      try {
        await client.createConfigMap(cm(ns, 'sentinel', { set }));
        const events: WatchEvent[] = [];
        for (;;) {
          const e = await resumed.event('the missed events, then ADDED sentinel');
          events.push(e);
          if (e.object.metadata.name === 'sentinel') break;
        }
        assert.deepEqual(
          events.map((e) => `${e.type} ${e.object.metadata.name}`),
          ['MODIFIED b', 'DELETED c', 'ADDED d', 'DELETED a', 'ADDED sentinel'],
        );
        assert.equal(events[0]?.object.data.k, 'v2');
        assert.deepEqual(events[3]?.object.metadata.labels, { set }, 'the object as it last matched');
        const rvs = events.map((e) => BigInt(rvOf(e.object)));
        assert.deepEqual(
          rvs,
          [...rvs].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)),
          'in resourceVersion order',
        );
      } finally {
        resumed.close();
      }
    });
  }

  test('a watch from a resourceVersion not reached yet starts at once and sends only what comes after it', async () => {
    const ns = await cluster.extraNamespace();
    const set = uniqueSet();
    const start = await client.createConfigMap(cm(ns, 'start', { set }));
    const from = BigInt(rvOf(start)) + 2n;
    const w = await api.watch(ns, { labelSelector: `set=${set}`, resourceVersion: String(from) });
    try {
      const made: ConfigMap[] = [];
      for (const name of ['x1', 'x2', 'x3']) made.push(await client.createConfigMap(cm(ns, name, { set })));
      const expected = made.filter((c) => BigInt(rvOf(c)) > from).map((c) => `ADDED ${c.metadata.name}`);
      const events: string[] = [];
      for (let i = 0; i < expected.length; i++) {
        const e = await w.event(expected[i]);
        events.push(`${e.type} ${e.object.metadata.name}`);
      }
      assert.deepEqual(events, expected);
      assert.equal(await w.next(300), 'timeout');
    } finally {
      w.close();
    }
  });

  test('moving out of a label selector is a DELETED of the object as it matched, moving in an ADDED', async () => {
    const ns = await cluster.extraNamespace();
    const set = uniqueSet();
    const obj = await client.createConfigMap(cm(ns, 'mover', { set }));
    const w = await api.watch(ns, { labelSelector: `set=${set}`, resourceVersion: rvOf(obj) });
    try {
      const out = await client.mergePatchConfigMap({ namespace: ns, name: 'mover' }, { metadata: { labels: { set: 'elsewhere' } }, data: { k: 'v2' } });
      const back = await client.mergePatchConfigMap({ namespace: ns, name: 'mover' }, { metadata: { labels: { set } } });
      const deleted = await w.event('DELETED mover');
      assert.equal(deleted.type, 'DELETED');
      assert.deepEqual(deleted.object.metadata.labels, { set });
      assert.deepEqual(deleted.object.data, { k: 'v' });
      assert.equal(rvOf(deleted.object), rvOf(out));
      const added = await w.event('ADDED mover');
      assert.equal(added.type, 'ADDED');
      assert.equal(rvOf(added.object), rvOf(back));
    } finally {
      w.close();
    }
  });
});

describe('timeouts', () => {
  test('timeoutSeconds ends the stream cleanly', async () => {
    const ns = await cluster.extraNamespace();
    const start = await client.createConfigMap(cm(ns, 'timed', { set: uniqueSet() }));
    const started = performance.now();
    const w = await api.watch(ns, { labelSelector: `set=${uniqueSet()}`, resourceVersion: rvOf(start), timeoutSeconds: '1' });
    const { events, ended } = await w.rest();
    const elapsed = performance.now() - started;
    assert.equal(ended, 'end');
    assert.deepEqual(events, []);
    assert.ok(elapsed >= 900 && elapsed < 5000, `ended after ${elapsed.toFixed(0)} ms`);
  });
});

describe('the WatchList parameters (v1.32)', () => {
  test('a watch from "" starts with the current objects; with allowWatchBookmarks they end with the initial-events-end bookmark', async (t) => {
    if (!(await needsWatchList(t))) return;
    const ns = await cluster.extraNamespace();
    const set = uniqueSet();
    const made = [await client.createConfigMap(cm(ns, 'i1', { set })), await client.createConfigMap(cm(ns, 'i2', { set }))];
    const w = await api.watch(ns, { labelSelector: `set=${set}`, allowWatchBookmarks: 'true' });
    try {
      const initial = [await w.event('ADDED'), await w.event('ADDED')];
      assert.deepEqual(initial.map((e) => `${e.type} ${e.object.metadata.name}`).sort(), ['ADDED i1', 'ADDED i2']);
      const end = await w.event('the initial-events-end bookmark');
      assertBookmarkShape(end);
      assert.deepEqual(end.object.metadata.annotations, { 'k8s.io/initial-events-end': 'true' });
      assert.ok(BigInt(rvOf(end.object)) >= BigInt(rvOf(made[1] as ConfigMap)));
      await client.createConfigMap(cm(ns, 'i3', { set }));
      const later = await w.event('ADDED i3');
      assert.equal(`${later.type} ${later.object.metadata.name}`, 'ADDED i3');
    } finally {
      w.close();
    }
  });

  test('sendInitialEvents=false with resourceVersionMatch=NotOlderThan watches from now', async (t) => {
    if (!(await needsWatchList(t))) return;
    const ns = await cluster.extraNamespace();
    const set = uniqueSet();
    await client.createConfigMap(cm(ns, 'existing', { set }));
    const w = await api.watch(ns, { labelSelector: `set=${set}`, sendInitialEvents: 'false', resourceVersionMatch: 'NotOlderThan' });
    try {
      await client.createConfigMap(cm(ns, 'new', { set }));
      const e = await w.event('ADDED new');
      assert.equal(`${e.type} ${e.object.metadata.name}`, 'ADDED new');
    } finally {
      w.close();
    }
  });

  test('sendInitialEvents from a resourceVersion the server has not reached waits for it, then answers 504 Too large', async (t) => {
    if (!(await needsWatchList(t))) return;
    const ns = await cluster.extraNamespace();
    const start = await client.createConfigMap(cm(ns, 'far', { set: uniqueSet() }));
    const far = String(BigInt(rvOf(start)) + 1_000_000_000n);
    const started = performance.now();
    const w = await api.watch(ns, { labelSelector: `set=${uniqueSet()}`, sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', resourceVersion: far });
    const { events, ended } = await w.rest();
    assert.ok(performance.now() - started >= 2900, 'after waiting 3 s for the resourceVersion');
    assert.equal(ended, 'end');
    assert.equal(events.length, 1, summary(events));
    const error = (events[0] as WatchEvent).object;
    assert.match(error.message, new RegExp(`^Timeout: Too large resource version: ${far}, current: \\d+$`));
    assert.deepEqual(
      { ...error, message: '' },
      {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: '',
        reason: 'Timeout',
        details: { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 },
        code: 504,
      },
    );
  });

  test('watch parameters are refused with the real texts', async () => {
    const cases: [Record<string, string>, number, string][] = [
      [
        { resourceVersionMatch: 'NotOlderThan' },
        422,
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
      ],
      [{ resourceVersion: 'abc' }, 500, 'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax'],
      [{ timeoutSeconds: 'soon' }, 400, 'strconv.ParseInt: parsing "soon": invalid syntax'],
    ];
    for (const [params, code, message] of cases) {
      const res = await api.get(configMaps(ns, { watch: 'true', ...params }));
      const body = (await res.json()) as { code: number; message: string; reason?: string };
      assert.equal(res.status, code, JSON.stringify(body));
      assert.equal(body.code, code);
      assert.equal(body.message, message);
    }
    // With the WatchList feature gate off, the server adds that it is off.
    const res = await api.get(configMaps(ns, { watch: 'true', sendInitialEvents: 'true' }));
    const body = (await res.json()) as { message: string };
    assert.equal(res.status, 422);
    assert.ok(body.message.startsWith('ListOptions.meta.k8s.io "" is invalid: '), body.message);
    assert.ok(body.message.includes('resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'), body.message);
  });
});

describe('slow clients', () => {
  let own: LocalApiServer;
  let ownApi: Api;
  const options: LocalApiServerOptions = { watchBufferSize: 5 };
  before(async () => {
    if (cluster.local === undefined) return;
    own = await LocalApiServer.start(options);
    ownApi = Api.of(own);
  });
  after(async () => own?.close());

  test(...embeddedOnly('watchBufferSize', 'a client that stops reading is closed, not buffered for without bound, and resumes from what it read'), async () => {
    const start = own.resourceVersion;
    // Raw HTTP, so the response can be left unread: the connection fills and the server's writes stop.
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${own.url}${configMaps('default', { watch: 'true', labelSelector: 'set=slow', resourceVersion: start })}`, resolve).on('error', reject);
    });
    response.pause();
    const count = 60;
    const big = 'x'.repeat(512 * 1024);
    const writer = ownApi.client();
    for (let i = 0; i < count; i++) await writer.createConfigMap(cm('default', `slow-${String(i).padStart(2, '0')}`, { set: 'slow' }, { big }));
    // Past the buffer, the watcher has 100 ms to drain before it is closed.
    await new Promise((resolve) => setTimeout(resolve, 300));

    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (text += chunk));
    response.resume();
    await new Promise<void>((resolve, reject) => {
      response.on('end', resolve);
      response.on('error', reject);
    });
    const read = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as WatchEvent);
    assert.ok(read.length > 0 && read.length < count, `the stream ended after ${read.length} of ${count} events`);
    const names = (events: WatchEvent[]) => events.map((e) => `${e.type} ${e.object.metadata.name}`);
    const all = Array.from({ length: count }, (_, i) => `ADDED slow-${String(i).padStart(2, '0')}`);
    assert.deepEqual(names(read), all.slice(0, read.length), 'whole events, in order, none missing');

    const resumed = await ownApi.watch('default', { labelSelector: 'set=slow', resourceVersion: rvOf((read.at(-1) as WatchEvent).object) });
    try {
      const rest: WatchEvent[] = [];
      while (rest.length < count - read.length) rest.push(await resumed.event('the events not read'));
      assert.deepEqual(names(rest), all.slice(read.length));
      assert.equal(await resumed.next(200), 'timeout');
    } finally {
      resumed.close();
    }
  });

  test(...embeddedOnly('watchBufferSize', 'a client that keeps reading is not closed by a burst larger than the buffer'), async () => {
    const w = await ownApi.watch('default', { labelSelector: 'set=burst', resourceVersion: own.resourceVersion });
    try {
      own.seed(Array.from({ length: 500 }, (_, i) => ({ metadata: { name: `burst-${i}`, labels: { set: 'burst' } }, data: { k: 'x'.repeat(1024) } })));
      for (let i = 0; i < 500; i++) assert.equal((await w.event(`ADDED burst-${i}`)).object.metadata.name, `burst-${i}`);
      await ownApi.client().createConfigMap(cm('default', 'burst-after', { set: 'burst' }));
      assert.equal((await w.event('ADDED burst-after')).object.metadata.name, 'burst-after');
    } finally {
      w.close();
    }
  });
});
