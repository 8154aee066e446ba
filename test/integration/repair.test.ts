// `cmstate repair` against an API server over HTTP (the embedded one, or a real cluster with
// CMSTATE_TEST_KUBECONFIG), driven through the CLI in-process with --now. The corpus of
// test/fixtures/repair/ is seeded and repaired for real; the originals must be in the snapshot
// store as they were on the server.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { cli } from '../support/cli.js';
import { embeddedOnly, startTestCluster, type TestCluster } from '../support/cluster.js';
import { comparable, loadRepairCorpus, type RepairFixture } from '../support/repair-corpus.js';
import { stateConfigMap } from '../support/states.js';
import { asJobPod, testJob } from '../support/workload-env.js';
import type { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import type { ConfigMap } from '../../src/kube/types.js';
import { listSnapshots, readSnapshot } from '../../src/snapshot/reader.js';

const corpus = loadRepairCorpus();
const NOW = corpus[0]!.now;
const OPTIONS = corpus[0]!.options;

let cluster: TestCluster;
let client: KubeClient;
let events: CoreV1Api;
let ns: string;
let snapshots: string;
let snapshotRoot: string;

before(async () => {
  snapshotRoot = await mkdtemp(path.join(tmpdir(), 'cmstate-repair-snapshots-'));
  cluster = await startTestCluster();
  client = cluster.client();
  events = loadKubeConfig({ kubeconfig: cluster.kubeconfig }).kubeConfig.makeApiClient(CoreV1Api);
});
after(async () => {
  await cluster.close();
  await rm(snapshotRoot, { recursive: true, force: true });
});
beforeEach(async () => {
  ns = await cluster.extraNamespace();
  snapshots = path.join(snapshotRoot, ns);
  cluster.local?.faults.clear();
  cluster.local?.clearRequests();
});

function inNamespace(cm: ConfigMap): ConfigMap {
  return { ...cm, metadata: { ...cm.metadata, namespace: ns } };
}

async function seed(objects: ConfigMap[]): Promise<Map<string, ConfigMap>> {
  const stored = new Map<string, ConfigMap>();
  for (const cm of objects) stored.set(cm.metadata.name, await client.createConfigMap(inNamespace(cm)));
  return stored;
}

async function get(name: string): Promise<ConfigMap | undefined> {
  try {
    return await client.getConfigMap({ namespace: ns, name });
  } catch (err) {
    if ((err as { kind?: string }).kind === 'not-found') return undefined;
    throw err;
  }
}

function repair(...extra: string[]) {
  return cli([
    'repair',
    '--kubeconfig',
    cluster.kubeconfig,
    '-n',
    ns,
    '--now',
    NOW,
    '--output',
    'json',
    '--qps',
    '1000',
    '--budget-bytes',
    String(OPTIONS.budgetBytes),
    '--compression-threshold',
    String(OPTIONS.compressionThreshold),
    '--snapshot-dir',
    snapshots,
    ...extra,
  ]);
}

interface Summary {
  observed: number;
  planned: Record<string, number>;
  applied: Record<string, number>;
  skipped: Record<string, number>;
  failed: number;
}

/** The objects of every committed snapshot in the directory, oldest snapshot first. */
async function snapshotContents(): Promise<ConfigMap[][]> {
  const all: ConfigMap[][] = [];
  for (const listing of await listSnapshots(snapshots)) {
    assert.equal(listing.reason, 'repair');
    const objects: ConfigMap[] = [];
    for await (const cm of readSnapshot(listing.file)) objects.push(cm);
    all.push(objects);
  }
  return all;
}

/** What a snapshot must keep of an object exactly: the writer's part. */
function content(cm: ConfigMap) {
  return { name: cm.metadata.name, labels: cm.metadata.labels, annotations: cm.metadata.annotations, data: cm.data, binaryData: cm.binaryData };
}

function count(fixtures: RepairFixture[], action: string): number {
  return fixtures.filter((f) => f.expected.action === action).length;
}

/** Per rule: the fixtures that break it, and how many of those are repaired or quarantined. */
function expectedRuleCounts(): Record<string, { found: number; repaired: number; quarantined: number }> {
  const counts: Record<string, { found: number; repaired: number; quarantined: number }> = {};
  for (const fixture of corpus) {
    for (const rule of new Set(fixture.expected.findings)) {
      const c = (counts[rule] ??= { found: 0, repaired: 0, quarantined: 0 });
      c.found++;
      if (fixture.expected.action === 'quarantine') c.quarantined++;
      else if (fixture.expected.action !== 'none') c.repaired++;
    }
  }
  return counts;
}

describe('repair', () => {
  test('the corpus: each object repaired, quarantined, deleted or left alone as planned; originals in the snapshot byte for byte; a second run finds nothing', async () => {
    const seeded = await seed(corpus.flatMap((f) => [f.object, ...f.context]));
    const run = await repair();
    assert.equal(run.code, 0, run.stderr);
    const summary = run.json<Summary>();
    assert.equal(summary.observed, seeded.size);
    assert.deepEqual(summary.planned, { repair: count(corpus, 'replace'), quarantine: count(corpus, 'quarantine'), delete_orphan: count(corpus, 'delete-orphan') });
    assert.deepEqual(summary.applied, { ...summary.planned, create_archive: corpus.reduce((n, f) => n + (f.expected.newArchives?.length ?? 0), 0) });
    assert.equal(summary.failed, 0);

    for (const fixture of corpus) {
      const { name } = fixture.object.metadata;
      const now = await get(name);
      const was = seeded.get(name)!;
      switch (fixture.expected.action) {
        case 'replace':
          assert.deepEqual(comparable(now!), comparable(fixture.expected.repaired!), fixture.name);
          for (const archive of fixture.expected.newArchives ?? []) {
            const created = await get(archive.metadata.name);
            assert.deepEqual(comparable(created!), comparable(archive), `${fixture.name}: ${archive.metadata.name}`);
            assert.equal(created!.metadata.ownerReferences?.[0]?.uid, was.metadata.uid, 'owned by the task');
          }
          break;
        case 'quarantine':
          assert.equal(now!.metadata.annotations?.['cmstate.io/quarantined'], fixture.expected.repaired!.metadata.annotations?.['cmstate.io/quarantined'], fixture.name);
          assert.deepEqual([now!.data, now!.binaryData], [was.data, was.binaryData], `${fixture.name}: data untouched`);
          break;
        case 'delete-orphan':
          assert.equal(now, undefined, fixture.name);
          break;
        case 'none':
          assert.equal(now!.metadata.resourceVersion, was.metadata.resourceVersion, `${fixture.name}: untouched`);
          break;
      }
      for (const other of fixture.context)
        assert.equal((await get(other.metadata.name))?.metadata.resourceVersion, seeded.get(other.metadata.name)!.metadata.resourceVersion, `${other.metadata.name}: untouched`);
    }

    const [saved, ...more] = await snapshotContents();
    assert.equal(more.length, 0, 'one snapshot for the run');
    const changed = corpus
      .filter((f) => f.expected.action !== 'none')
      .map((f) => f.object.metadata.name)
      .sort();
    assert.deepEqual(saved!.map((cm) => cm.metadata.name).sort(), changed);
    for (const cm of saved!) assert.deepEqual(content(cm), content(seeded.get(cm.metadata.name)!), `${cm.metadata.name}: the original as it was on the server`);

    const recorded = (await events.listNamespacedEvent({ namespace: ns })).items;
    const reasons = (reason: string) => recorded.filter((e) => e.reason === reason).length;
    // Objects that still exist get an Event each; deleted orphans one Event for the run, on the namespace.
    assert.deepEqual([reasons('Repaired'), reasons('Quarantined'), reasons('OrphanArchiveDeleted'), reasons('OrphanArchivesDeleted')], [count(corpus, 'replace'), count(corpus, 'quarantine'), 0, 1]);
    const orphans = corpus.filter((f) => f.expected.action === 'delete-orphan').map((f) => f.object.metadata.name);
    assert.ok(orphans.length > 0);
    assert.ok(!recorded.some((e) => orphans.includes(e.involvedObject.name ?? '')), 'no Event about a deleted orphan');
    const deletedEvent = recorded.find((e) => e.reason === 'OrphanArchivesDeleted')!;
    assert.deepEqual([deletedEvent.type, deletedEvent.involvedObject.kind, deletedEvent.involvedObject.name], ['Normal', 'Namespace', ns]);
    assert.match(deletedEvent.message ?? '', new RegExp(`^deleted ${orphans.length} orphan archives: `));
    for (const name of orphans.slice(0, 10)) assert.ok(deletedEvent.message!.includes(name), name);
    const quarantineEvent = recorded.find((e) => e.involvedObject.name === 'task-field-feedback-unparseable-state');
    assert.equal(quarantineEvent?.type, 'Warning');
    assert.match(quarantineEvent?.message ?? '', /^quarantined \(field-invalid\): the feedback is unreadable and this is its only copy/);

    assert.deepEqual(JSON.parse(run.stdout.at(-2)!), { rules: expectedRuleCounts() });

    const second = await repair();
    assert.equal(second.code, 0, second.stderr);
    const again = second.json<Summary>();
    assert.deepEqual(again.planned, { repair: 0, quarantine: 0, delete_orphan: 0 });
    const quarantinedBefore = corpus.filter((f) => f.expected.reasons.some((r) => r.startsWith('quarantined earlier'))).length;
    assert.equal(summary.skipped.quarantined, quarantinedBefore);
    assert.equal(again.skipped.quarantined, count(corpus, 'quarantine') + quarantinedBefore);
    assert.deepEqual(JSON.parse(second.stdout.at(-2)!), { rules: {} });
    assert.equal((await snapshotContents()).length, 1, 'nothing to change, nothing saved');
  });

  test('--dry-run prints findings and a key-by-key diff, needs no snapshot directory and changes nothing', async () => {
    const fixture = corpus.find((f) => f.name === 'history-ahead-of-counter')!;
    const seeded = await seed([fixture.object, stateConfigMap({ id: 'fine', namespace: ns, lastUpdate: '2026-11-19T10:00:00Z' })]);
    const run = await cli(['repair', '--kubeconfig', cluster.kubeconfig, '-n', ns, '--now', NOW, '--dry-run']);
    assert.equal(run.code, 0, run.stderr);
    const text = run.stdout.join('\n');
    assert.match(text, new RegExp(`${ns}/task-history-ahead-of-counter-state: would replace`));
    assert.match(text, /finding iteration-history-mismatch: task-history-ahead-of-counter-state: iteration_history has 4 entries for iteration 2/);
    assert.match(text, /why: iteration raised from 2 to 4/);
    assert.ok(run.stdout.some((l) => l.includes('- data.iteration: "2"')) && text.includes('+ data.iteration: "4"'), text);
    assert.doesNotMatch(text, /task-fine-state/);
    assert.match(text, /iteration-history-mismatch\s+1\s+0\s+0/);
    assert.match(run.stdout.at(-1)!, /^repair \(dry run\): observed 2 · planned repair 1, quarantine 0, delete_orphan 0 · applied repair 0/);
    for (const [name, cm] of seeded) assert.equal((await get(name))!.metadata.resourceVersion, cm.metadata.resourceVersion);
    assert.equal((await listSnapshots(snapshots)).length, 0);
  });

  test('without --snapshot-dir a real run is refused as a usage error before anything is read', async () => {
    const run = await cli(['repair', '--kubeconfig', cluster.kubeconfig, '-n', ns]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--snapshot-dir: required unless --dry-run/);
  });

  test('malformed objects mixed with good ones: only the broken ones change', async () => {
    const good = Array.from({ length: 20 }, (_, i) =>
      stateConfigMap({ id: `good-${i}`, namespace: ns, lastUpdate: '2026-11-19T10:00:00Z', iteration: i % 5, status: i % 5 === 0 ? 'pending' : 'in_progress' }),
    );
    const broken = corpus.filter((f) => ['field-feedback-unparseable', 'mirror-stale-status-label', 'compressed-invalid', 'legacy-version-0', 'status-unknown-no-history'].includes(f.name));
    const seeded = await seed([...good, ...broken.map((f) => f.object)]);
    const run = await repair();
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.json<Summary>().applied, { repair: 2, quarantine: 3, delete_orphan: 0 });
    for (const cm of good) assert.equal((await get(cm.metadata.name))!.metadata.resourceVersion, seeded.get(cm.metadata.name)!.metadata.resourceVersion, cm.metadata.name);
    for (const fixture of broken) assert.notEqual((await get(fixture.object.metadata.name))!.metadata.resourceVersion, seeded.get(fixture.object.metadata.name)!.metadata.resourceVersion);
  });

  /** Starts a repair whose write of `name` is held for a while, and calls `write` once the run has read everything. */
  async function repairWithConcurrentWrite(name: string, write: () => Promise<unknown>) {
    cluster.local!.faults.add({ match: { method: 'PUT', path: name }, fault: { kind: 'latency', ms: 1000 }, times: 1 });
    const running = repair();
    const fullList = () => cluster.local!.requests.some((r) => r.method === 'GET' && r.path.endsWith('/configmaps') && !/PartialObjectMetadataList/.test(r.accept ?? ''));
    while (!fullList()) await new Promise((resolve) => setTimeout(resolve, 10));
    await write();
    return running;
  }

  test(...embeddedOnly('fault injection', 'a conflict re-reads the object and plans it again: the concurrent write is kept, its original saved in a second snapshot'), async () => {
    const fixture = corpus.find((f) => f.name === 'history-short')!;
    const name = fixture.object.metadata.name;
    await seed([fixture.object]);
    const run = await repairWithConcurrentWrite(name, () => client.mergePatchConfigMap({ namespace: ns, name }, { metadata: { annotations: { 'controller/touched': 'yes' } } }));
    assert.equal(run.code, 0, run.stderr);
    const summary = run.json<Summary>();
    assert.equal(summary.applied.repair, 1);
    assert.deepEqual(summary.skipped, {});
    const repaired = await get(name);
    assert.equal(repaired!.metadata.annotations?.['controller/touched'], 'yes');
    assert.equal(repaired!.data!.iteration_history, fixture.expected.repaired!.data!.iteration_history);
    const [first, second] = await snapshotContents();
    assert.equal(first![0]!.metadata.annotations?.['controller/touched'], undefined);
    assert.equal(second![0]!.metadata.annotations?.['controller/touched'], 'yes');
  });

  test(...embeddedOnly('fault injection', 'a conflict with a write that repaired the state itself: nothing left to do, counted as changed'), async () => {
    const fixture = corpus.find((f) => f.name === 'mirror-stale-status-label')!;
    const name = fixture.object.metadata.name;
    await seed([fixture.object]);
    const run = await repairWithConcurrentWrite(name, () => client.mergePatchConfigMap({ namespace: ns, name }, { metadata: { labels: { 'cmstate.io/status': 'in_progress' } } }));
    assert.equal(run.code, 0, run.stderr);
    const summary = run.json<Summary>();
    assert.equal(summary.applied.repair, 0);
    assert.deepEqual(summary.skipped, { changed: 1 });
    assert.equal((await snapshotContents()).length, 1);
  });

  test(...embeddedOnly('fault injection', 'a write that landed although its answer was lost keeps the new archives: no feedback is lost'), async () => {
    const fixture = corpus.find((f) => f.name === 'over-budget-archive')!;
    const name = fixture.object.metadata.name;
    assert.ok(fixture.expected.newArchives?.length);
    await seed([fixture.object, ...fixture.context]);
    // The first PUT is carried out but its answer never arrives; the retried PUT gets 409.
    cluster.local!.faults.add({ match: { method: 'PUT', path: name }, fault: { kind: 'lose-response' }, times: 1 });
    const run = await repair();
    assert.equal(run.code, 0, run.stderr);
    const summary = run.json<Summary>();
    assert.equal(summary.applied.repair, 1);
    assert.equal(summary.applied.create_archive, fixture.expected.newArchives.length);
    assert.deepEqual((await get(name))!.data, fixture.expected.repaired!.data);
    for (const archive of fixture.expected.newArchives) assert.ok(await get(archive.metadata.name), `${archive.metadata.name} kept`);
  });

  test(...embeddedOnly('fault injection', 'a failed write is a failure (exit 1), not counted as repaired in the findings by rule'), async () => {
    const fixture = corpus.find((f) => f.name === 'history-short')!;
    const name = fixture.object.metadata.name;
    await seed([fixture.object]);
    cluster.local!.faults.add({ match: { method: 'PUT', path: name }, fault: { kind: 'status', code: 403 } });
    const run = await repair();
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.json<Summary>().failed, 1);
    const { rules } = JSON.parse(run.stdout.at(-2)!) as { rules: Record<string, { found: number; repaired: number }> };
    assert.ok(Object.values(rules).some((r) => r.found > 0));
    assert.ok(
      Object.values(rules).every((r) => r.repaired === 0),
      JSON.stringify(rules),
    );
  });

  test(...embeddedOnly('fault injection', 'a second conflict after the re-plan skips the object, counted, and leaves it as it was'), async () => {
    const fixture = corpus.find((f) => f.name === 'history-short')!;
    const name = fixture.object.metadata.name;
    const seeded = await seed([fixture.object, corpus.find((f) => f.name === 'mirror-stale-status-label')!.object]);
    cluster.local!.faults.add({ match: { method: 'PUT', path: name }, fault: { kind: 'status', code: 409 } });
    const run = await repair();
    assert.equal(run.code, 0, run.stderr);
    const summary = run.json<Summary>();
    assert.equal(summary.applied.repair, 1);
    assert.deepEqual(summary.skipped, { conflict: 1 });
    assert.equal((await get(name))!.metadata.resourceVersion, seeded.get(name)!.metadata.resourceVersion);
    assert.equal(cluster.local!.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(name)).length, 2, 'written once, planned again, written once more');
  });

  test(...embeddedOnly('fault injection', 'faults (429 with Retry-After, 500, dropped connections) slow the repair but it converges'), async () => {
    const stale = corpus.find((f) => f.name === 'mirror-stale-status-label')!.object;
    const short = corpus.find((f) => f.name === 'history-short')!.object;
    const broken = Array.from({ length: 20 }, (_, i) => {
      const template = i % 2 === 0 ? stale : short;
      const id = `broken-${i}`;
      const data = { ...template.data, task_id: id };
      return { ...template, metadata: { ...template.metadata, name: `task-${id}-state`, labels: { ...template.metadata.labels, 'cmstate.io/task-id': id } }, data };
    });
    const good = Array.from({ length: 20 }, (_, i) => stateConfigMap({ id: `ok-${i}`, namespace: ns, lastUpdate: '2026-11-19T10:00:00Z' }));
    const seeded = await seed([...broken, ...good]);
    const local = cluster.local!;
    // At these rates 39% of requests fail; each kind is capped, so that no request can lose all six
    // of its attempts (which would be a failure to report, not a slow convergence) and the test
    // does not depend on how the random draws fall between concurrent requests.
    local.faults.add({ match: { path: '/configmaps' }, fault: { kind: 'status', code: 429, retryAfterSeconds: 0 }, rate: 0.2, times: 2 });
    local.faults.add({ match: { path: '/configmaps' }, fault: { kind: 'status', code: 500 }, rate: 0.15, times: 2 });
    local.faults.add({ match: { path: '/configmaps' }, fault: { kind: 'drop' }, rate: 0.1, times: 1 });
    const run = await repair();
    local.faults.clear();
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /retrying/);
    const summary = run.json<Summary>();
    assert.equal((summary.applied.repair ?? 0) + (summary.skipped.changed ?? 0), 20);
    for (const cm of good) assert.equal((await get(cm.metadata.name))!.metadata.resourceVersion, seeded.get(cm.metadata.name)!.metadata.resourceVersion);
    const second = await repair();
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(second.json<Summary>().planned, { repair: 0, quarantine: 0, delete_orphan: 0 });
  });

  test("in a Job's pod, the deleted orphans are reported in one Event on the Job", async () => {
    const orphans = corpus.filter((f) => f.expected.action === 'delete-orphan');
    await seed(orphans.flatMap((f) => [f.object, ...f.context]));
    const job = testJob(ns);
    const run = await asJobPod(job, () => repair());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json<Summary>().applied.delete_orphan, orphans.length);
    const recorded = (await events.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.reason?.startsWith('Orphan'));
    assert.equal(recorded.length, 1);
    const [event] = recorded;
    assert.deepEqual(
      [event!.reason, event!.type, event!.involvedObject.apiVersion, event!.involvedObject.kind, event!.involvedObject.name, event!.involvedObject.uid],
      ['OrphanArchivesDeleted', 'Normal', 'batch/v1', 'Job', job.name, job.uid],
    );
    assert.match(event!.message ?? '', new RegExp(`^deleted ${orphans.length} orphan archives: ${orphans[0]!.object.metadata.name}`));
  });
});
