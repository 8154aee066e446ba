// Snapshots against an API server over HTTP (the embedded one, or a real cluster with
// CMSTATE_TEST_KUBECONFIG): a 2,000-state round trip, damaged files, crash safety, subsets,
// other namespaces and overwrite conflicts, driven through the CLI in-process.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DateTime } from 'luxon';
import { cli, type CliResult } from '../support/cli.js';
import { embeddedOnly, startTestCluster, type TestCluster } from '../support/cluster.js';
import { feedbackEntries, stateConfigMap, taskState } from '../support/states.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { ConfigMap } from '../../src/kube/types.js';
import { encodeState } from '../../src/state/encode.js';
import { configMapSize } from '../../src/state/size.js';
import { listSnapshots, verifySnapshot } from '../../src/snapshot/reader.js';
import { SnapshotWriter } from '../../src/snapshot/writer.js';

const root = path.resolve(import.meta.dirname, '../..');
const NOW = '2026-11-22T10:30:00Z';
const SELECTOR = 'cmstate.io/state in (task,archive)';

let cluster: TestCluster;
let client: KubeClient;
let work: string;

before(async () => {
  cluster = await startTestCluster();
  client = cluster.client({ qps: 5000 });
  work = await mkdtemp(path.join(tmpdir(), 'cmstate-snapshot-test-'));
});
after(async () => {
  await cluster.close();
  await rm(work, { recursive: true, force: true });
});

// ---- data -------------------------------------------------------------------------------------

/** Creates objects: seeded straight into the embedded server, else created over HTTP. */
async function put(objects: ConfigMap[]): Promise<ConfigMap[]> {
  if (cluster.local) return cluster.local.seed(objects) as ConfigMap[];
  const created: ConfigMap[] = [];
  for (let i = 0; i < objects.length; i += 32) created.push(...(await Promise.all(objects.slice(i, i + 32).map((cm) => client.createConfigMap(cm)))));
  return created;
}

/**
 * `count` task states with every shape the store must carry: plain, gzip feedback in binaryData,
 * archives owned by their task, unicode in data and annotations, extra binary data keys, and a
 * few near the 1 MiB limit. Returns how many archives were made.
 */
async function seedStates(namespace: string, count: number, prefix = 's'): Promise<{ archives: number }> {
  const lastUpdate = '2026-11-20T08:00:00Z';
  const tasks: ConfigMap[] = [];
  const withArchives: { id: string; feedback: ReturnType<typeof feedbackEntries> }[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${String(i).padStart(4, '0')}`;
    if (i % 100 === 7) {
      withArchives.push({ id, feedback: feedbackEntries(60, { descriptionBytes: 400, prefix: id }) });
      continue;
    }
    const kind = i % 10;
    const feedback =
      kind === 1
        ? feedbackEntries(120, { descriptionBytes: 700 }) // above the 64 KiB threshold: gzip in binaryData
        : kind === 2
          ? feedbackEntries(3).map((e) => ({ ...e, description: `Ünïcödé — 漢字 🙂 ${e.description}` }))
          : feedbackEntries(1 + (i % 4), { descriptionBytes: 50 });
    const cm = stateConfigMap({
      id,
      namespace,
      lastUpdate,
      status: i % 3 === 0 ? 'succeeded' : 'in_progress',
      feedback,
      annotations: kind === 2 ? { 'example.com/note': 'naïve café ✓' } : {},
    });
    if (kind === 3) cm.binaryData = { ...cm.binaryData, 'blob.bin': randomBytes(1 + (i % 2000)).toString('base64') };
    if (i % 500 === 11) {
      // Near the API's limit: incompressible bytes up to ~8 KiB below 1 MiB.
      const room = 1_048_576 - 8 * 1024 - configMapSize(cm);
      cm.binaryData = { ...cm.binaryData, 'big.bin': randomBytes(room).toString('base64') };
    }
    tasks.push(cm);
  }
  // Tasks with archives: the task first (its uid is the archives' owner), then the archives.
  const parents = withArchives.map(({ id, feedback }) => encodeState(taskState({ id, lastUpdate, feedback }), { namespace, budgetBytes: 12_000, compressionThreshold: 1_000_000 }));
  const created = await put([...tasks, ...parents.map((p) => p.configMap)]);
  const uids = new Map(created.map((cm) => [cm.metadata.name, cm.metadata.uid]));
  const archives = parents.flatMap((p) =>
    p.archives.map((a) => ({
      ...a,
      metadata: { ...a.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: p.configMap.metadata.name, uid: uids.get(p.configMap.metadata.name) ?? '' }] },
    })),
  );
  await put(archives);
  return { archives: archives.length };
}

async function listAll(namespace: string): Promise<ConfigMap[]> {
  const all: ConfigMap[] = [];
  for await (const page of client.listConfigMapPages({ namespace, labelSelector: SELECTOR })) all.push(...page);
  return all.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/**
 * Deletes every state, object by object: a deleted namespace takes a while to go (Terminating
 * first) on either server. Archives the garbage collector deleted first are 404s, which are done.
 */
async function deleteAll(namespace: string): Promise<void> {
  const names = (await listAll(namespace)).map((cm) => cm.metadata.name);
  for (let i = 0; i < names.length; i += 64) await Promise.all(names.slice(i, i + 64).map((name) => client.deleteConfigMap({ namespace, name })));
}

/** What restore must bring back byte for byte, by name. */
function content(cm: ConfigMap) {
  return { data: cm.data, binaryData: cm.binaryData, labels: cm.metadata.labels, annotations: cm.metadata.annotations };
}

function run(args: string[], now = NOW): Promise<CliResult> {
  return cli([...args, '--kubeconfig', cluster.kubeconfig, '--output', 'json', '--qps', '5000', '--concurrency', '16', '--now', now]);
}

async function takeSnapshot(namespace: string, dir: string): Promise<string> {
  const result = await run(['snapshot', '--dir', dir, '-n', namespace]);
  assert.equal(result.code, 0, result.stderr);
  const line = JSON.parse(result.stdout.at(-2) ?? '{}') as { snapshot: string };
  return line.snapshot;
}

interface Summary {
  observed: number;
  applied: Record<string, number>;
  skipped: Record<string, number>;
  failed: number;
}

interface ReportEntry {
  namespace: string;
  name: string;
  outcome: string;
  reason?: string;
}

function reportOf(result: CliResult): ReportEntry[] {
  const line = result.stdout.filter((l) => l.startsWith('{"objects"')).at(-1);
  assert.ok(line, `no per-object report in ${result.stdout.join('\n').slice(0, 500)}`);
  return (JSON.parse(line) as { objects: ReportEntry[] }).objects;
}

// ---- tests ------------------------------------------------------------------------------------

describe('snapshot and restore', () => {
  test('2,000 states round trip: snapshot, delete all, restore, every byte back and archives re-owned', async () => {
    const ns = await cluster.extraNamespace();
    const { archives } = await seedStates(ns, 2000);
    const before = await listAll(ns);
    assert.equal(before.length, 2000 + archives);
    assert.ok(
      before.some((cm) => cm.binaryData?.['feedback_history.json.gz']),
      'some feedback is compressed',
    );
    assert.ok(
      before.some((cm) => configMapSize(cm) > 1_000_000),
      'some states are near 1 MiB',
    );

    const dir = path.join(work, 'round-trip');
    const file = await takeSnapshot(ns, dir);
    assert.match(path.basename(file), /^cmstate-20261122T103000\.000Z-snapshot-[0-9a-f]{4}\.ndjson\.gz$/);
    const verify = await cli(['verify', file, '--output', 'json']);
    assert.equal(verify.code, 0, verify.stderr);

    await deleteAll(ns);
    assert.equal((await listAll(ns)).length, 0);

    const restored = await run(['restore', '--from', file, '-n', ns]);
    assert.equal(restored.code, 0, restored.stderr);
    const summary = restored.json<Summary>();
    assert.equal(summary.applied.create, 2000 + archives);
    assert.equal(summary.failed, 0);
    assert.ok(reportOf(restored).every((e) => e.outcome === 'created'));

    const after = await listAll(ns);
    assert.deepEqual(
      after.map((cm) => cm.metadata.name),
      before.map((cm) => cm.metadata.name),
    );
    const afterByName = new Map(after.map((cm) => [cm.metadata.name, cm]));
    for (const original of before) assert.deepEqual(content(afterByName.get(original.metadata.name)!), content(original), original.metadata.name);
    const restoredArchives = after.filter((cm) => cm.metadata.labels?.['cmstate.io/state'] === 'archive');
    assert.equal(restoredArchives.length, archives);
    for (const archive of restoredArchives) {
      const owner = archive.metadata.ownerReferences?.[0];
      const parent = afterByName.get(owner?.name ?? '');
      assert.ok(parent, `${archive.metadata.name} owned by an existing parent`);
      assert.equal(owner?.uid, parent.metadata.uid, `${archive.metadata.name} points to its restored parent's new uid`);
    }
  });

  test('snapshots are private: files 0600 in a directory created 0700; verify warns about one others can read', async () => {
    const ns = await cluster.extraNamespace();
    await seedStates(ns, 5);
    const dir = path.join(work, 'private', 'nested');
    const file = await takeSnapshot(ns, dir);
    const manifest = file.replace(/\.ndjson\.gz$/, '.manifest.json');
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    assert.deepEqual([await mode(dir), await mode(file), await mode(manifest)], [0o700, 0o600, 0o600]);
    const quiet = await cli(['verify', file]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(
      quiet.stdout.some((l) => l.startsWith('warning')),
      false,
    );

    await chmod(file, 0o644);
    const warned = await cli(['verify', file]);
    assert.equal(warned.code, 0, 'intact: a warning, not a failure');
    assert.ok(warned.stdout.includes(`warning ${file}: readable by other users: ${file} (mode 0644); chmod 600 ${file}`), warned.stdout.join('\n'));
    const json = await cli(['verify', file, '--output', 'json']);
    assert.deepEqual(JSON.parse(json.stdout[0] ?? '{}').readableByOthers, [`${file} (mode 0644)`]);
  });

  describe('damaged snapshots: verify fails naming the first bad object, restore refuses and changes nothing', () => {
    let ns: string;
    let file: string;
    let manifest: string;
    before(async () => {
      ns = await cluster.extraNamespace();
      await seedStates(ns, 40, 'd');
      file = await takeSnapshot(ns, path.join(work, 'damaged-source'));
      manifest = file.replace(/\.ndjson\.gz$/, '.manifest.json');
    });

    /** A copy of the pair in a directory of its own, damaged by `damage`. */
    async function damaged(name: string, damage: (copy: { file: string; manifest: string }) => Promise<void>) {
      const dir = path.join(work, `damaged-${name}`);
      await rm(dir, { recursive: true, force: true });
      await cp(path.dirname(file), dir, { recursive: true });
      const copy = { file: path.join(dir, path.basename(file)), manifest: path.join(dir, path.basename(manifest)) };
      await damage(copy);
      return copy;
    }

    async function assertRejected(copy: { file: string }, message: RegExp) {
      const verify = await cli(['verify', copy.file]);
      assert.equal(verify.code, 1, verify.stdout.join('\n'));
      assert.match(verify.stdout.join('\n'), message);
      const verifyDir = await cli(['verify', '--dir', path.dirname(copy.file)]);
      assert.equal(verifyDir.code, 1);

      const target = await cluster.extraNamespace();
      const restore = await run(['restore', '--from', copy.file, '-n', target]);
      assert.equal(restore.code, 1);
      assert.match(restore.stderr, /refusing to restore/);
      assert.match(restore.stderr, message);
      assert.equal((await listAll(target)).length, 0, 'restore created nothing');
    }

    test('a truncated data file', async () => {
      const copy = await damaged('truncated', async (c) => truncate(c.file, Math.floor((await stat(c.file)).size / 2)));
      await assertRejected(copy, /object #\d+ cmstate-test-\w+\/task-d-\d{4}-state.*(truncated|damaged)/);
    });

    test('a flipped byte', async () => {
      const copy = await damaged('flipped', async (c) => {
        const bytes = await readFile(c.file);
        const at = Math.floor(bytes.length / 3);
        bytes[at] = (bytes[at] ?? 0) ^ 0x5a;
        await writeFile(c.file, bytes);
      });
      await assertRejected(copy, /object #\d+ cmstate-test-\w+\/task-d-\d{4}-state/);
    });

    test('a missing manifest', async () => {
      const copy = await damaged('no-manifest', async (c) => rm(c.manifest));
      await assertRejected(copy, /manifest .* is missing/);
    });

    test('a wrong checksum in the manifest names exactly that object', async () => {
      const copy = await damaged('checksum', async (c) => {
        const json = JSON.parse(await readFile(c.manifest, 'utf8')) as { entries: { sha256: string }[] };
        json.entries[4]!.sha256 = 'f'.repeat(64);
        await writeFile(c.manifest, JSON.stringify(json));
      });
      const expected = (JSON.parse(await readFile(manifest, 'utf8')) as { entries: { name: string }[] }).entries[4]!.name;
      await assertRejected(copy, new RegExp(`object #5 cmstate-test-\\w+/${expected}: sha256 does not match`));
    });

    test('an unknown format version', async () => {
      const copy = await damaged('version', async (c) => {
        const json = JSON.parse(await readFile(c.manifest, 'utf8')) as { formatVersion: number };
        json.formatVersion = 9;
        await writeFile(c.manifest, JSON.stringify(json));
      });
      await assertRejected(copy, /format version 9; this cmstate reads version 1/);
    });
  });

  describe('crash safety', () => {
    test('an aborted writer leaves nothing; a writer in progress leaves nothing that lists or verifies', async () => {
      const dir = path.join(work, 'aborted');
      const writer = await SnapshotWriter.create(dir, { namespaces: ['x'], selector: SELECTOR, reason: 'repair', now: DateTime.fromISO(NOW) });
      for (let i = 0; i < 50; i++) await writer.add(stateConfigMap({ id: `a-${i}`, namespace: 'x', lastUpdate: NOW }));
      assert.deepEqual(await listSnapshots(dir), [], 'a snapshot being written is not listed');
      await writer.abort();
      assert.deepEqual(await readdir(dir), []);
      await assert.rejects(writer.add(stateConfigMap({ id: 'late', namespace: 'x', lastUpdate: NOW })), /already aborted/);
    });

    test(...embeddedOnly('fault injection', 'a snapshot process killed mid-write leaves no file pair that verifies'), async () => {
      const ns = await cluster.extraNamespace();
      await seedStates(ns, 60, 'k');
      const dir = path.join(work, 'killed');
      // The second page is held back, so the process is killed with the first page written.
      const hold = cluster.local!.faults.add({ match: { method: 'GET', path: /configmaps\?.*continue=/ }, fault: { kind: 'latency', ms: 30_000 } });
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(root, 'cli/main.ts'), 'snapshot', '--dir', dir, '-n', ns, '--kubeconfig', cluster.kubeconfig, '--page-size', '10', '--log-level', 'error'],
        { cwd: root, stdio: 'ignore' },
      );
      try {
        const deadline = Date.now() + 20_000;
        while (hold.matched === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
        assert.equal(hold.matched, 1, 'the snapshot reached its second page');
        assert.ok(
          (await readdir(dir)).some((f) => f.endsWith('.partial')),
          'a snapshot was being written',
        );
      } finally {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
        hold.remove();
      }
      assert.deepEqual(await listSnapshots(dir), []);
      for (const name of await readdir(dir)) assert.equal((await verifySnapshot(path.join(dir, name))).ok, false, name);
      const verify = await cli(['verify', '--dir', dir]);
      assert.equal(verify.code, 1);
      assert.match(verify.stderr, /no snapshots in/);
    });
  });

  describe('subsets, other namespaces, dry run, overwrite', () => {
    let ns: string;
    let file: string;
    before(async () => {
      ns = await cluster.extraNamespace();
      await seedStates(ns, 30, 'p');
      file = await takeSnapshot(ns, path.join(work, 'subset'));
    });

    test('--task restores those tasks with their archives into --namespace, archives owned by the new parents', async () => {
      const target = await cluster.extraNamespace();
      const result = await run(['restore', '--from', file, '-n', target, '--task', 'p-0007', '--task', 'p-0001']);
      assert.equal(result.code, 0, result.stderr);
      const restored = await listAll(target);
      const names = restored.map((cm) => cm.metadata.name);
      assert.ok(names.includes('task-p-0001-state') && names.includes('task-p-0007-state'));
      const archives = restored.filter((cm) => cm.metadata.name.startsWith('task-p-0007-state-archive-'));
      assert.ok(archives.length >= 1);
      assert.equal(names.length, 2 + archives.length);
      const parent = restored.find((cm) => cm.metadata.name === 'task-p-0007-state')!;
      for (const archive of archives) assert.equal(archive.metadata.ownerReferences?.[0]?.uid, parent.metadata.uid);
      assert.ok(restored.every((cm) => cm.metadata.namespace === target));
      assert.equal(result.json<Summary>().applied.create, names.length);

      // Again: create-missing leaves what exists alone.
      const again = await run(['restore', '--from', file, '-n', target, '--task', 'p-0007', '--task', 'p-0001']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.json<Summary>().skipped.exists, names.length);
      assert.ok(reportOf(again).every((e) => e.outcome === 'skipped' && e.reason === 'exists'));
    });

    test('--selector restores the matching objects into --target-namespace', async () => {
      const target = await cluster.extraNamespace();
      const result = await run(['restore', '--from', file, '--target-namespace', target, '--selector', 'cmstate.io/status=succeeded']);
      assert.equal(result.code, 0, result.stderr);
      const restored = await listAll(target);
      const expected = (await listAll(ns)).filter((cm) => cm.metadata.labels?.['cmstate.io/status'] === 'succeeded').map((cm) => cm.metadata.name);
      assert.ok(expected.length > 5);
      assert.deepEqual(
        restored.map((cm) => cm.metadata.name),
        expected,
      );
    });

    test('--dry-run prints what it would create and changes nothing', async () => {
      const target = await cluster.extraNamespace();
      const result = await run(['restore', '--from', file, '-n', target, '--task', 'p-0007', '--dry-run']);
      assert.equal(result.code, 0, result.stderr);
      const report = reportOf(result);
      assert.ok(report.length >= 2);
      assert.ok(
        report.every((e) => e.outcome === 'would-create'),
        JSON.stringify(report),
      );
      assert.equal((await listAll(target)).length, 0);
      const text = await cli(['restore', '--from', file, '-n', target, '--task', 'p-0001', '--dry-run', '--kubeconfig', cluster.kubeconfig]);
      assert.match(text.stdout.join('\n'), new RegExp(`would create ${target}/task-p-0001-state`));
    });

    test(...embeddedOnly('fault injection', 'overwrite saves what it replaces first, and skips and counts an object changed meanwhile'), async () => {
      const target = await cluster.extraNamespace();
      const tasks = ['p-0001', 'p-0002', 'p-0004'];
      const taskArgs = tasks.flatMap((t) => ['--task', t]);
      assert.equal((await run(['restore', '--from', file, '-n', target, ...taskArgs])).code, 0);
      // Change all three; the restore must bring back p-0001 and p-0002.
      for (const t of tasks) await client.mergePatchConfigMap({ namespace: target, name: `task-${t}-state` }, { data: { iteration: '9' } });
      const dir = path.join(work, 'overwrite');
      // p-0004's replace is held back while a controller writes it again.
      cluster.local!.faults.add({ match: { method: 'PUT', path: 'task-p-0004-state' }, fault: { kind: 'latency', ms: 1500 } });
      const running = run(['restore', '--from', file, '-n', target, '--mode', 'overwrite', '--snapshot-dir', dir, ...taskArgs]);
      while (!existsSync(dir) || !(await readdir(dir)).some((f) => /restore-overwrite-\w{4}\.manifest\.json$/.test(f))) await new Promise((r) => setTimeout(r, 10));
      await client.mergePatchConfigMap({ namespace: target, name: 'task-p-0004-state' }, { data: { iteration: '8' } });
      const result = await running;
      cluster.local!.faults.clear();
      assert.equal(result.code, 0, result.stderr);
      const summary = result.json<Summary>();
      assert.equal(summary.applied.overwrite, 2);
      assert.equal(summary.skipped.conflict, 1);
      const report = reportOf(result);
      assert.deepEqual(
        report.find((e) => e.name === 'task-p-0004-state'),
        { namespace: target, name: 'task-p-0004-state', outcome: 'skipped', reason: 'conflict: changed since it was saved' },
      );

      const original = new Map((await listAll(ns)).map((cm) => [cm.metadata.name, cm]));
      const now = new Map((await listAll(target)).map((cm) => [cm.metadata.name, cm]));
      assert.deepEqual(now.get('task-p-0001-state')?.data, original.get('task-p-0001-state')?.data);
      assert.equal(now.get('task-p-0004-state')?.data?.iteration, '8', 'the concurrent write is kept');

      const [saved] = await listSnapshots(dir);
      assert.ok(saved?.manifest);
      assert.equal(saved.reason, 'restore-overwrite');
      assert.equal(saved.manifest.objects, 3);
      assert.equal((await verifySnapshot(saved.file)).ok, true);
    });
  });

  test('retention: a damaged snapshot does not count towards --keep-min-good, so an older good one is kept', async () => {
    const ns = await cluster.extraNamespace();
    await seedStates(ns, 5, 'g');
    const dir = path.join(work, 'retention-damaged');
    const at = (hours: number) => DateTime.fromISO(NOW).plus({ hours }).toUTC().toISO()!;
    for (const h of [0, 1, 2]) assert.equal((await run(['snapshot', '--dir', dir, '-n', ns], at(h))).code, 0);
    await truncate((await listSnapshots(dir)).at(-1)!.file, 10);
    const result = await run(['snapshot', '--dir', dir, '-n', ns, '--keep-last', '1', '--keep-min-good', '2'], at(3));
    assert.equal(result.code, 0, result.stderr);
    const left = (await listSnapshots(dir)).map((s) => s.time.toISO());
    assert.deepEqual(
      left,
      [at(1), at(3)].map((t) => DateTime.fromISO(t).toUTC().toISO()),
    );
  });

  test('retention after a successful snapshot: --keep-last, never the newest good one', async () => {
    const ns = await cluster.extraNamespace();
    await seedStates(ns, 5, 'r');
    const dir = path.join(work, 'retention');
    const at = (hours: number) => DateTime.fromISO(NOW).plus({ hours }).toUTC().toISO()!;
    for (const h of [0, 1, 2]) assert.equal((await run(['snapshot', '--dir', dir, '-n', ns], at(h))).code, 0);
    // The newest of the old ones is damaged; the new one verifies, so --keep-last 1 keeps only it.
    const listed = await listSnapshots(dir);
    await truncate(listed.at(-1)!.file, 10);
    const result = await run(['snapshot', '--dir', dir, '-n', ns, '--keep-last', '1'], at(3));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.json<Summary>().applied.delete_snapshot, 3);
    const left = await listSnapshots(dir);
    assert.equal(left.length, 1);
    assert.equal(left[0]?.time.toISO(), DateTime.fromISO(at(3)).toUTC().toISO());

    const aged = await run(['snapshot', '--dir', dir, '-n', ns, '--max-age', '30m', '--keep-min-good', '1'], at(10));
    assert.equal(aged.code, 0, aged.stderr);
    assert.equal((await listSnapshots(dir)).length, 1, 'the new snapshot stays; the old one is past --max-age');
  });
});
