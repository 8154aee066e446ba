// The TTL sweeper against an API server over HTTP (the embedded one, or a real cluster with
// CMSTATE_TEST_KUBECONFIG), driven through the CLI in-process with --now.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { DateTime } from 'luxon';
import { cli } from '../support/cli.js';
import { embeddedOnly, startTestCluster, type TestCluster } from '../support/cluster.js';
import { feedbackEntries, stateConfigMap } from '../support/states.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { ConfigMap } from '../../src/kube/types.js';
import { encodeState } from '../../src/state/encode.js';
import { taskState } from '../support/states.js';
import { asJobPod, testJob } from '../support/workload-env.js';
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../src/kube/config.js';
import { runBounded } from '../../src/job/executor.js';

const T0 = DateTime.fromISO('2026-11-20T12:00:00Z', { zone: 'utc' });
const at = (hours: number) => T0.plus({ hours }).toISO({ suppressMilliseconds: true })!;
const daysAgo = (days: number) => T0.minus({ days }).toISO({ suppressMilliseconds: true })!;

let cluster: TestCluster;
let client: KubeClient;
let ns: string;

before(async () => {
  cluster = await startTestCluster();
  client = cluster.client();
});
after(async () => cluster.close());
beforeEach(async () => {
  ns = await cluster.extraNamespace();
  cluster.local?.faults.clear();
});

async function recordedEvents(): Promise<CoreV1Event[]> {
  const core = loadKubeConfig({ kubeconfig: cluster.kubeconfig }).kubeConfig.makeApiClient(CoreV1Api);
  return (await core.listNamespacedEvent({ namespace: ns })).items;
}

/** N expired states, marked by a first run at at(0): a run at at(25) deletes them. */
async function markedForDeletion(count: number): Promise<string[]> {
  await seed(Array.from({ length: count }, (_, i) => stateConfigMap({ id: `gone-${String(i).padStart(3, '0')}`, namespace: ns, lastUpdate: daysAgo(10) })));
  const marking = await sweep(at(0));
  assert.equal(marking.code, 0, marking.stderr);
  return Array.from({ length: count }, (_, i) => `task-gone-${String(i).padStart(3, '0')}-state`);
}

async function seed(objects: ConfigMap[]): Promise<void> {
  for (const cm of objects) await client.createConfigMap(cm);
}

async function names(): Promise<string[]> {
  const all: string[] = [];
  for await (const page of client.listConfigMapMetadataPages({ namespace: ns, labelSelector: 'cmstate.io/state' })) all.push(...page.map((o) => o.metadata.name));
  return all.sort();
}

/** List requests for ConfigMaps in the request log (embedded server only). */
function configMapLists(): number {
  return cluster.local!.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/configmaps')).length;
}

/** Feedback archives of a seeded task, as the StateManager writes them (owned by its ConfigMap). */
async function seedArchives(id: string, lastUpdate: string): Promise<ConfigMap[]> {
  const parent = await client.getConfigMap({ namespace: ns, name: `task-${id}-state` });
  const { archives } = encodeState(taskState({ id, lastUpdate, feedback: feedbackEntries(400, { descriptionBytes: 2000 }) }), {
    namespace: ns,
    budgetBytes: 200_000,
    compressionThreshold: 1_000_000,
    parentUid: parent.metadata.uid,
  });
  assert.ok(archives.length >= 1);
  await seed(archives);
  return archives;
}

function sweep(now: string, ...extra: string[]) {
  return cli(['sweep', '--kubeconfig', cluster.kubeconfig, '-n', ns, '--now', now, '--output', 'json', '--qps', '500', ...extra]);
}

function standardSet(): ConfigMap[] {
  return [
    ...['old-1', 'old-2', 'old-3'].map((id) => stateConfigMap({ id, namespace: ns, lastUpdate: daysAgo(10), status: 'succeeded' })),
    ...['fresh-1', 'fresh-2'].map((id) => stateConfigMap({ id, namespace: ns, lastUpdate: daysAgo(1) })),
    stateConfigMap({ id: 'kept', namespace: ns, lastUpdate: daysAgo(30), labels: { 'cmstate.io/keep': 'true' } }),
    stateConfigMap({ id: 'long-ttl', namespace: ns, lastUpdate: daysAgo(10), annotations: { 'cmstate.io/ttl': 'P30D' } }),
  ];
}

describe('sweep', () => {
  test('a full cycle: mark, wait out the grace period, delete with archives', async () => {
    await seed(standardSet());
    // Archives of old-1, as the StateManager writes them.
    const archives = await seedArchives('old-1', daysAgo(10));

    const first = await sweep(at(0));
    assert.equal(first.code, 0, first.stderr);
    const summary1 = first.json<{ planned: Record<string, number>; applied: Record<string, number>; observed: number }>();
    // Every object read counts, archives too, as in every job; the breaker's base is the 7 task states alone.
    assert.equal(summary1.observed, 7 + archives.length);
    assert.deepEqual(summary1.planned, { mark: 3, unmark: 0, delete: 0 });
    assert.equal(summary1.applied.mark, 3);
    const marked = await client.getConfigMap({ namespace: ns, name: 'task-old-2-state' });
    assert.equal(marked.metadata.labels?.['cmstate.io/sweep'], 'marked');
    assert.equal(marked.metadata.annotations?.['cmstate.io/marked-at'], at(0));

    const waiting = await sweep(at(12));
    assert.equal(waiting.code, 0);
    assert.equal(waiting.json<{ applied: Record<string, number> }>().applied.delete, 0);

    const second = await sweep(at(25));
    assert.equal(second.code, 0, second.stderr);
    const summary2 = second.json<{ applied: Record<string, number> }>();
    assert.equal(summary2.applied.delete, 3);
    assert.equal(summary2.applied.delete_archive, archives.length);
    assert.deepEqual(await names(), ['task-fresh-1-state', 'task-fresh-2-state', 'task-kept-state', 'task-long-ttl-state']);
  });

  test('a state updated during the grace period is unmarked, not deleted', async () => {
    await seed(standardSet());
    assert.equal((await sweep(at(0))).code, 0);
    const cm = await client.getConfigMap({ namespace: ns, name: 'task-old-3-state' });
    // A controller writes it again: new last_update, as every write sets it.
    await client.replaceConfigMap({ ...cm, data: { ...cm.data, last_update: at(1) }, metadata: { ...cm.metadata, annotations: { ...cm.metadata.annotations, 'cmstate.io/last-update': at(1) } } });
    const run = await sweep(at(25));
    const summary = run.json<{ applied: Record<string, number> }>();
    assert.equal(summary.applied.unmark, 1);
    assert.equal(summary.applied.delete, 2);
    const kept = await client.getConfigMap({ namespace: ns, name: 'task-old-3-state' });
    assert.equal(kept.metadata.labels?.['cmstate.io/sweep'], undefined);
    assert.equal(kept.metadata.annotations?.['cmstate.io/marked-at'], undefined);
  });

  test('--dry-run prints the plan with reasons and changes nothing', async () => {
    await seed(standardSet());
    const before = await client.getConfigMap({ namespace: ns, name: 'task-old-1-state' });
    const run = await sweep(at(0), '--dry-run');
    assert.equal(run.code, 0, run.stderr);
    const plans = run.stdout.slice(0, -1).map((l) => JSON.parse(l) as { plan: string; name: string; reason: string });
    assert.deepEqual(plans.map((p) => p.name).sort(), ['task-old-1-state', 'task-old-2-state', 'task-old-3-state']);
    assert.ok(plans.every((p) => p.plan === 'mark' && /expired/.test(p.reason)));
    assert.equal(run.json<{ dry_run: boolean }>().dry_run, true);
    const after = await client.getConfigMap({ namespace: ns, name: 'task-old-1-state' });
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
  });

  test(...embeddedOnly('request log', '--dry-run=server sends the writes with dryRun=All and persists nothing'), async () => {
    await seed(standardSet());
    cluster.local!.clearRequests();
    const run = await sweep(at(0), '--dry-run=server');
    assert.equal(run.code, 0, run.stderr);
    const patches = cluster.local!.requests.filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, 3);
    assert.ok(patches.every((r) => r.query.get('dryRun') === 'All'));
    const cm = await client.getConfigMap({ namespace: ns, name: 'task-old-1-state' });
    assert.equal(cm.metadata.labels?.['cmstate.io/sweep'], undefined);
  });

  test(...embeddedOnly('request log', 'observe lists metadata only and reads data only for a legacy state without the annotation'), async () => {
    const legacy: ConfigMap = {
      metadata: { name: 'task-legacy-state', namespace: ns, labels: { 'cmstate.io/state': 'task' } },
      data: { iteration: '2', last_update: daysAgo(9) },
    };
    await seed([...standardSet(), legacy]);
    cluster.local!.clearRequests();
    const run = await sweep(at(0));
    assert.equal(run.code, 0, run.stderr);
    const lists = cluster.local!.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/configmaps'));
    assert.ok(lists.length >= 1);
    assert.ok(
      lists.every((r) => /as=PartialObjectMetadataList/.test(r.accept ?? '')),
      'every list asks for metadata only',
    );
    const gets = cluster.local!.requests.filter((r) => r.method === 'GET' && /\/configmaps\/[^/]+$/.test(r.path));
    assert.deepEqual(
      gets.map((r) => r.path.split('/').at(-1)),
      ['task-legacy-state'],
    );
    assert.equal(run.json<{ applied: Record<string, number> }>().applied.mark, 4);
  });

  test(...embeddedOnly('fault injection', 'a legacy state that cannot be read is one failure (exit 1), and the others are still handled'), async () => {
    const legacy: ConfigMap = {
      metadata: { name: 'task-legacy-state', namespace: ns, labels: { 'cmstate.io/state': 'task' } },
      data: { iteration: '2', last_update: daysAgo(9) },
    };
    await seed([...standardSet(), legacy]);
    cluster.local!.faults.add({ match: { method: 'GET', path: '/configmaps/task-legacy-state' }, fault: { kind: 'status', code: 403 } });
    cluster.local!.clearRequests();
    const run = await sweep(at(0));
    assert.equal(run.code, 1, run.stderr);
    const summary = run.json<{ failed: number; applied: Record<string, number> }>();
    // Read once: pass 2 leaves alone what pass 1 could not read.
    assert.equal(summary.failed, 1);
    assert.equal(cluster.local!.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/task-legacy-state')).length, 1);
    assert.equal(summary.applied.mark, 3);
    assert.match(run.stderr, /cannot read data\.last_update of .*task-legacy-state/);
  });

  test('malformed annotations are reported and the object is skipped, the others handled', async () => {
    await seed([
      stateConfigMap({ id: 'bad-ttl', namespace: ns, lastUpdate: daysAgo(10), annotations: { 'cmstate.io/ttl': 'forever' } }),
      stateConfigMap({ id: 'bad-time', namespace: ns, lastUpdate: daysAgo(10), annotations: { 'cmstate.io/last-update': 'yesterday' } }),
      stateConfigMap({ id: 'good', namespace: ns, lastUpdate: daysAgo(10) }),
    ]);
    const run = await sweep(at(0));
    assert.equal(run.code, 0, run.stderr);
    const summary = run.json<{ skipped: Record<string, number>; applied: Record<string, number> }>();
    assert.equal(summary.skipped.invalid, 2);
    assert.equal(summary.applied.mark, 1);
    assert.match(run.stderr, /cmstate\.io\/ttl \\"forever\\" is not a duration/);
  });

  test(...embeddedOnly('fault injection', 'an object changed between observe and act is not deleted: the conflict is counted'), async () => {
    await seed(standardSet());
    assert.equal((await sweep(at(0))).code, 0);
    // Hold the delete of old-1 long enough for a controller to write it meanwhile.
    cluster.local!.faults.add({ match: { method: 'DELETE', path: 'task-old-1-state' }, fault: { kind: 'latency', ms: 1500 } });
    cluster.local!.clearRequests();
    const running = sweep(at(25));
    // Pass 1 has observed it and planned its delete (kept: no second list); the write lands
    // before the delete, which the fault holds back.
    while (cluster.local!.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/configmaps')).length < 1) await new Promise((r) => setTimeout(r, 20));
    await client.mergePatchConfigMap({ namespace: ns, name: 'task-old-1-state' }, { metadata: { annotations: { touched: 'yes' } } });
    const run = await running;
    assert.equal(run.code, 0, run.stderr);
    const summary = run.json<{ skipped: Record<string, number>; applied: Record<string, number> }>();
    assert.equal(summary.skipped.conflict, 1);
    assert.equal(summary.applied.delete, 2);
    assert.ok((await names()).includes('task-old-1-state'));
  });

  test(...embeddedOnly('request log', 'a plan that fits half of --page-bytes is kept: the states are listed once, not once per pass'), async () => {
    await seed(standardSet());
    assert.equal((await sweep(at(0))).code, 0);
    cluster.local!.clearRequests();
    const run = await sweep(at(25));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json<{ applied: Record<string, number> }>().applied.delete, 3);
    assert.equal(configMapLists(), 1, 'one page, listed by pass 1 only');
  });

  describe(...embeddedOnly('fault injection', 'a plan too large to keep: pass 2 observes again'), () => {
    // Each kept delete counts ~640 bytes (keptActionBytes), so FILLERS of them pass the 512 KiB
    // that --page-bytes 1Mi leaves for the plan, and pass 2 lists again: only then can a change
    // between the passes be seen as one (skipped.changed) rather than as a conflict.
    const FILLERS = 1000;
    async function seedDeletableFillers(): Promise<void> {
      const fillers = Array.from({ length: FILLERS }, (_, i) =>
        stateConfigMap({
          id: `filler-${String(i).padStart(4, '0')}`,
          namespace: ns,
          lastUpdate: daysAgo(10),
          labels: { 'cmstate.io/sweep': 'marked' },
          annotations: { 'cmstate.io/marked-at': at(0) },
        }),
      );
      await runBounded(fillers, 16, async (cm) => {
        await client.createConfigMap(cm);
      });
    }

    // Pass 2's first list request is held back 1 s, so a write made once pass 1 has listed
    // everything lands between the passes. Pass 1's list requests (several pages, some cut by
    // bytes) are counted on a dry run of the same sweep, which lists once per pass too.
    async function sweepWithWriteBetweenPasses(write: () => Promise<void>) {
      cluster.local!.clearRequests();
      assert.equal((await sweep(at(25), '--page-bytes', '1Mi', '--dry-run')).code, 0);
      const perPass = configMapLists() / 2;
      cluster.local!.faults.add({ match: { verb: 'list', path: '/configmaps' }, fault: { kind: 'latency', ms: 1000 }, nth: perPass + 1 });
      cluster.local!.clearRequests();
      const running = sweep(at(25), '--page-bytes', '1Mi');
      while (configMapLists() < perPass) await new Promise((r) => setTimeout(r, 10));
      await write();
      const run = await running;
      assert.equal(run.code, 0, run.stderr);
      return run.json<{ planned: Record<string, number>; applied: Record<string, number>; skipped: Record<string, number> }>();
    }

    test('a state updated meanwhile is not deleted: pass 2 acts on what it sees, and counts the change', async () => {
      await seed(standardSet());
      assert.equal((await sweep(at(0))).code, 0);
      await seedDeletableFillers();
      const summary = await sweepWithWriteBetweenPasses(async () => {
        const cm = await client.getConfigMap({ namespace: ns, name: 'task-old-1-state' });
        await client.replaceConfigMap({ ...cm, metadata: { ...cm.metadata, annotations: { ...cm.metadata.annotations, 'cmstate.io/last-update': at(1) } } });
      });
      assert.deepEqual(summary.planned, { mark: 0, unmark: 0, delete: 3 + FILLERS });
      assert.equal(summary.applied.delete, 2 + FILLERS);
      // The planned delete that did not happen, and the unmark pass 1 did not plan (left to the next run).
      assert.equal(summary.skipped.changed, 2);
      assert.ok((await names()).includes('task-old-1-state'));
      const next = await sweep(at(26));
      assert.equal(next.json<{ applied: Record<string, number> }>().applied.unmark, 1);
    });

    test('a deletable state that appears meanwhile never takes the deletes past what the breaker approved', async () => {
      await seed(standardSet());
      assert.equal((await sweep(at(0))).code, 0);
      await seedDeletableFillers();
      const summary = await sweepWithWriteBetweenPasses(async () => {
        await seed([stateConfigMap({ id: 'late', namespace: ns, lastUpdate: daysAgo(10), labels: { 'cmstate.io/sweep': 'marked' }, annotations: { 'cmstate.io/marked-at': at(0) } })]);
      });
      assert.deepEqual(summary.planned, { mark: 0, unmark: 0, delete: 3 + FILLERS });
      assert.equal(summary.applied.delete, 3 + FILLERS);
      assert.equal(summary.skipped.changed, 1);
      // 4 states were deletable by then; one of them is left for the next run.
      assert.equal((await names()).length, 5);
    });
  });

  test('the circuit breaker refuses a mass delete (exit 3, nothing changed) unless --force', async () => {
    await seed(standardSet());
    // Archives of a fresh task: read and counted as observed, but not in the breaker's base.
    const archives = await seedArchives('fresh-1', daysAgo(1));
    assert.equal((await sweep(at(0))).code, 0);
    const refused = await sweep(at(25), '--max-delete', '2');
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /refusing to delete 3 objects: more than --max-delete 2/);
    assert.equal((await names()).length, 7 + archives.length);
    const percent = await sweep(at(25), '--max-delete-percent', '20');
    assert.equal(percent.code, 3);
    assert.match(percent.stderr, /refusing to delete 3 objects: 42\.9% of 7 observed task states, more than --max-delete-percent 20/);
    const forced = await sweep(at(25), '--max-delete', '2', '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await names()).length, 4 + archives.length);
  });

  test('a second sweep while another holds the lease exits 3 with a clear message', async () => {
    await seed(standardSet());
    await client.createLease({
      metadata: { name: 'cmstate-sweep', namespace: ns },
      spec: { holderIdentity: 'other-pod', leaseDurationSeconds: 300, acquireTime: new Date().toISOString(), renewTime: new Date().toISOString() },
    });
    const run = await sweep(at(0));
    assert.equal(run.code, 3);
    assert.match(run.stderr, /another run holds lease .*cmstate-sweep .*other-pod/);
    const cm = await client.getConfigMap({ namespace: ns, name: 'task-old-1-state' });
    assert.equal(cm.metadata.labels?.['cmstate.io/sweep'], undefined);
  });

  test(...embeddedOnly('fault injection', 'faults (429 with Retry-After, 500, dropped connections) slow the sweep but do not change its outcome'), async () => {
    const objects = [
      ...Array.from({ length: 30 }, (_, i) => stateConfigMap({ id: `exp-${i}`, namespace: ns, lastUpdate: daysAgo(10) })),
      ...Array.from({ length: 30 }, (_, i) => stateConfigMap({ id: `live-${i}`, namespace: ns, lastUpdate: daysAgo(1) })),
    ];
    await seed(objects);
    assert.equal((await sweep(at(0))).code, 0);
    const local = cluster.local!;
    local.faults.add({ match: { path: '/configmaps' }, fault: { kind: 'status', code: 429, retryAfterSeconds: 0 }, rate: 0.15 });
    local.faults.add({ match: { path: '/configmaps' }, fault: { kind: 'status', code: 500 }, rate: 0.1 });
    local.faults.add({ match: { path: '/configmaps' }, fault: { kind: 'drop' }, rate: 0.08 });
    const run = await sweep(at(25));
    local.faults.clear();
    // Retries absorb most faults; a request unlucky enough to fail every attempt is a per-object
    // failure (exit 1), never a wrong delete, and the next run finishes the job.
    assert.ok(run.code === 0 || run.code === 1, run.stderr);
    assert.match(run.stderr, /retrying/);
    const deleted = run.json<{ applied: Record<string, number> }>().applied.delete!;
    assert.ok(deleted > 0);
    let left = await names();
    assert.ok(left.filter((n) => n.startsWith('task-live-')).length === 30, 'no live state was touched');
    assert.equal(left.length, 60 - deleted);
    const rerun = await sweep(at(26));
    assert.equal(rerun.code, 0, rerun.stderr);
    left = await names();
    assert.equal(left.length, 30);
    assert.ok(left.every((n) => n.startsWith('task-live-')));
  });

  test('two shards plan disjoint sets whose union is every expired state', async () => {
    await seed(Array.from({ length: 40 }, (_, i) => stateConfigMap({ id: `s-${i}`, namespace: ns, lastUpdate: daysAgo(10) })));
    const planned = async (index: number) => {
      const run = await sweep(at(0), '--dry-run', '--shard-count', '2', '--shard-index', String(index));
      assert.equal(run.code, 0, run.stderr);
      return run.stdout.slice(0, -1).map((l) => (JSON.parse(l) as { name: string }).name);
    };
    const [a, b] = [await planned(0), await planned(1)];
    assert.ok(a.length > 0 && b.length > 0);
    assert.equal(a.filter((n) => b.includes(n)).length, 0);
    assert.equal(new Set([...a, ...b]).size, 40);
  });

  // On a shared cluster this would mark and delete expired states in everybody's namespaces.
  test(...embeddedOnly('cluster-wide deletes', '--all-namespaces sweeps every namespace in one run, each object by its own namespace'), async () => {
    const other = await cluster.extraNamespace();
    await seed([stateConfigMap({ id: 'here-old', namespace: ns, lastUpdate: daysAgo(10) }), stateConfigMap({ id: 'here-fresh', namespace: ns, lastUpdate: daysAgo(1) })]);
    await seed([stateConfigMap({ id: 'there-old', namespace: other, lastUpdate: daysAgo(10) })]);
    const marked = async (namespace: string, id: string) => (await client.getConfigMap({ namespace, name: `task-${id}-state` })).metadata.labels?.['cmstate.io/sweep'] === 'marked';

    // -n: where the run's Lease lives.
    const first = await cli(['sweep', '--all-namespaces', '-n', ns, '--kubeconfig', cluster.kubeconfig, '--now', at(0), '--output', 'json']);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(first.json<{ observed: number }>().observed >= 3);
    assert.deepEqual([await marked(ns, 'here-old'), await marked(ns, 'here-fresh'), await marked(other, 'there-old')], [true, false, true]);

    const second = await cli(['sweep', '-A', '-n', ns, '--kubeconfig', cluster.kubeconfig, '--now', at(25), '--output', 'json']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await names(), ['task-here-fresh-state']);
    await assert.rejects(client.getConfigMap({ namespace: other, name: 'task-there-old-state' }), /not found/i);
  });

  test(...embeddedOnly('fault injection', 'SIGTERM stops starting actions, reports what was left, and exits 1'), async () => {
    await seed(Array.from({ length: 20 }, (_, i) => stateConfigMap({ id: `t-${i}`, namespace: ns, lastUpdate: daysAgo(10) })));
    cluster.local!.faults.add({ match: { method: 'PATCH' }, fault: { kind: 'latency', ms: 200 } });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 500);
    const run = await cli(['sweep', '--kubeconfig', cluster.kubeconfig, '-n', ns, '--now', at(0), '--output', 'json', '--concurrency', '2'], { signal: stop.signal });
    assert.equal(run.code, 1);
    const summary = run.json<{ applied: Record<string, number>; skipped: Record<string, number> }>();
    assert.ok(summary.applied.mark! > 0 && summary.applied.mark! < 20, `applied ${summary.applied.mark}`);
    assert.equal(summary.applied.mark! + summary.skipped.interrupted!, 20);
    assert.match(run.stderr, /stopped by a signal/);
  });

  test('sweep unmark undoes a soft delete by id and by selector', async () => {
    await seed(standardSet());
    assert.equal((await sweep(at(0))).code, 0);
    const byId = await cli(['sweep', 'unmark', 'old-1', '--kubeconfig', cluster.kubeconfig, '-n', ns, '--output', 'json']);
    assert.equal(byId.code, 0, byId.stderr);
    assert.equal(byId.json<{ applied: Record<string, number> }>().applied.unmark, 1);
    const bySelector = await cli(['sweep', 'unmark', '--selector', 'cmstate.io/status=succeeded', '--kubeconfig', cluster.kubeconfig, '-n', ns, '--output', 'json']);
    assert.equal(bySelector.json<{ applied: Record<string, number> }>().applied.unmark, 2);
    const missing = await cli(['sweep', 'unmark', 'nope', '--kubeconfig', cluster.kubeconfig, '-n', ns]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no task state .*task-nope-state/);
    const run = await sweep(at(25));
    assert.equal(run.json<{ applied: Record<string, number> }>().applied.delete, 0);
  });

  describe('deletions are reported in one Event per run', () => {
    test('outside a pod: one StatesDeleted Event on the namespace with the count and a sample, none per deleted state; marks keep theirs', async () => {
      const names = await markedForDeletion(12);
      const run = await sweep(at(25));
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json<{ applied: Record<string, number> }>().applied.delete, 12);
      const recorded = await recordedEvents();
      assert.equal(recorded.filter((e) => e.reason === 'MarkedForDeletion').length, 12, 'states that still exist after the run keep an Event each');
      assert.ok(!recorded.some((e) => e.reason !== 'MarkedForDeletion' && names.includes(e.involvedObject.name ?? '')), 'no Event about a deleted state');
      const deleted = recorded.filter((e) => e.reason === 'StatesDeleted');
      assert.equal(deleted.length, 1);
      assert.deepEqual([deleted[0]!.type, deleted[0]!.involvedObject.kind, deleted[0]!.involvedObject.name], ['Normal', 'Namespace', ns]);
      const message = deleted[0]!.message ?? '';
      assert.match(message, /^deleted 12 task states: .* and 2 more$/);
      assert.equal(names.filter((name) => message.includes(name)).length, 10);
      // The log keeps one line per delete.
      assert.equal(names.filter((name) => run.stderr.includes(`delete ${ns}/${name}`)).length, 12);
    });

    test("in a Job's pod (the chart's downward API env): the Event is on the Job", async () => {
      await markedForDeletion(3);
      const job = testJob(ns);
      const run = await asJobPod(job, () => sweep(at(25)));
      assert.equal(run.code, 0, run.stderr);
      const deleted = (await recordedEvents()).filter((e) => e.reason === 'StatesDeleted');
      assert.equal(deleted.length, 1);
      const { involvedObject, message } = deleted[0]!;
      assert.deepEqual([involvedObject.apiVersion, involvedObject.kind, involvedObject.namespace, involvedObject.name, involvedObject.uid], ['batch/v1', 'Job', ns, job.name, job.uid]);
      assert.equal(message, 'deleted 3 task states: task-gone-000-state, task-gone-001-state, task-gone-002-state');
    });

    test('--dry-run records no Event; nothing deleted, no StatesDeleted', async () => {
      await markedForDeletion(2);
      const run = await sweep(at(25), '--dry-run');
      assert.equal(run.code, 0, run.stderr);
      assert.equal((await recordedEvents()).filter((e) => e.reason === 'StatesDeleted').length, 0);
    });

    test(...embeddedOnly('request log', 'deleting N states: N deletes and one Event create'), async () => {
      const count = 200;
      await markedForDeletion(count);
      cluster.local!.clearRequests();
      const run = await sweep(at(25), '--concurrency', '16');
      assert.equal(run.code, 0, run.stderr);
      const requests = cluster.local!.requests;
      assert.equal(requests.filter((r) => r.method === 'DELETE' && r.path.includes('/configmaps/')).length, count);
      assert.equal(requests.filter((r) => r.method === 'POST' && r.path.endsWith('/events')).length, 1);
    });

    test(...embeddedOnly('request log', '--dry-run=server sends the summary Event with dryRun=All'), async () => {
      await markedForDeletion(2);
      cluster.local!.clearRequests();
      const run = await sweep(at(25), '--dry-run=server');
      assert.equal(run.code, 0, run.stderr);
      const creates = cluster.local!.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/events'));
      assert.equal(creates.length, 1);
      assert.equal(creates[0]!.query.get('dryRun'), 'All');
      assert.equal((await recordedEvents()).filter((e) => e.reason === 'StatesDeleted').length, 0);
    });
  });
});
