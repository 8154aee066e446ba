// `cmstate metrics` and the run metrics every job pushes, end to end: the CLI in-process against
// the API server (embedded, or a real cluster with CMSTATE_TEST_KUBECONFIG) and a real
// Prometheus Pushgateway, asserting what a scrape of the gateway shows.

import { freePort } from '../support/ports.js';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { DateTime } from 'luxon';
import type { KubeClient } from '../../src/kube/client.js';
import type { ConfigMap } from '../../src/kube/types.js';
import { cli } from '../support/cli.js';
import { embeddedOnly, startTestCluster, type TestCluster } from '../support/cluster.js';
import { findSamples, parseExposition, PUSHGATEWAY_MISSING, sampleValue, startPushgateway, type Sample } from '../support/pushgateway.js';
import { feedbackEntries, stateConfigMap } from '../support/states.js';

const T0 = DateTime.fromISO('2026-11-20T12:00:00Z', { zone: 'utc' });
const iso = (at: DateTime) => at.toISO({ suppressMilliseconds: true })!;
const ago = (duration: { hours?: number; days?: number }) => iso(T0.minus(duration));

let cluster: TestCluster;
let client: KubeClient;
let ns: string;

const gateway = await startPushgateway();
before(async () => {
  cluster = await startTestCluster();
  client = cluster.client();
});
after(async () => {
  await cluster.close();
  await gateway?.stop();
});
beforeEach(async () => {
  ns = await cluster.extraNamespace();
  cluster.local?.faults.clear();
  cluster.local?.clearDenyRules();
});

async function seed(objects: ConfigMap[]): Promise<void> {
  for (const cm of objects) await client.createConfigMap(cm);
}

/**
 * 8 task states and 1 archive: pending 2, in_progress 3, succeeded 2 (one of them with a broken
 * last-update annotation: invalid), failed 1; one marked, one quarantined, one near the size limit,
 * one with 5 feedback entries (info and high resolved). Oldest valid update: 10 days.
 */
function knownSet(): ConfigMap[] {
  const big = stateConfigMap({ id: 'big', namespace: ns, lastUpdate: ago({ hours: 2 }), status: 'in_progress', iteration: 2 });
  big.data = { ...big.data, metadata: JSON.stringify({ source: 'test', blob: 'x'.repeat(900_000) }) };
  const archive: ConfigMap = {
    metadata: { name: 'task-fb-state-archive-1', namespace: ns, labels: { 'cmstate.io/state': 'archive', 'cmstate.io/task-id': 'fb' } },
    data: { version: '1', task_id: 'fb', archive_index: '1', feedback_history: '[]' },
  };
  return [
    stateConfigMap({ id: 'p1', namespace: ns, lastUpdate: ago({ hours: 1 }), status: 'pending' }),
    stateConfigMap({ id: 'p2', namespace: ns, lastUpdate: ago({ hours: 1 }), status: 'pending' }),
    stateConfigMap({ id: 'r1', namespace: ns, lastUpdate: ago({ days: 2 }), status: 'in_progress', iteration: 1 }),
    stateConfigMap({ id: 'fb', namespace: ns, lastUpdate: ago({ hours: 3 }), status: 'in_progress', iteration: 1, feedback: feedbackEntries(5) }),
    big,
    stateConfigMap({
      id: 's1',
      namespace: ns,
      lastUpdate: ago({ days: 10 }),
      status: 'succeeded',
      labels: { 'cmstate.io/sweep': 'marked' },
      annotations: { 'cmstate.io/marked-at': ago({ hours: 5 }) },
    }),
    stateConfigMap({ id: 'f1', namespace: ns, lastUpdate: ago({ days: 1 }), status: 'failed', annotations: { 'cmstate.io/quarantined': 'iteration_history does not match iteration' } }),
    stateConfigMap({ id: 'bad', namespace: ns, lastUpdate: ago({ days: 30 }), status: 'succeeded', annotations: { 'cmstate.io/last-update': 'yesterday' } }),
    archive,
  ];
}

function run(command: string[], ...extra: string[]) {
  return cli([...command, '--kubeconfig', cluster.kubeconfig, '-n', ns, '--now', iso(T0), '--qps', '500', ...extra]);
}

function assertKnownStateGauges(samples: readonly Sample[], labels: Record<string, string>): void {
  const states = (status: string) => sampleValue(samples, 'cmstate_task_states', { ...labels, status });
  assert.deepEqual(['pending', 'in_progress', 'succeeded', 'failed', 'max_iterations_reached', 'cancelled'].map(states), [2, 3, 2, 1, 0, 0]);
  assert.equal(sampleValue(samples, 'cmstate_task_states_marked_for_deletion', labels), 1);
  assert.equal(sampleValue(samples, 'cmstate_task_states_quarantined', labels), 1);
  assert.equal(sampleValue(samples, 'cmstate_task_states_invalid', labels), 1);
  assert.equal(sampleValue(samples, 'cmstate_task_state_oldest_update_age_seconds', labels), 10 * 86_400);
}

/**
 * Run metrics carry the wall clock, not --now (T0 here): Prometheus compares them with time(),
 * and a run previewing another instant must not move the last success.
 */
function assertWallClock(seconds: number, since: number): void {
  assert.ok(seconds >= Math.floor(since / 1000) && seconds <= Date.now() / 1000 + 1, `${seconds} is not a time of this run (T0 is ${T0.toSeconds()})`);
}

describe('cmstate metrics without a Pushgateway', () => {
  test('prints the state gauges and run metrics as exposition text that parses', async () => {
    const startedAt = Date.now();
    await seed(knownSet());
    const result = await run(['metrics']);
    assert.equal(result.code, 0, result.stderr);
    const samples = parseExposition(result.stdout.join('\n'));
    assertKnownStateGauges(samples, { namespace: ns });
    assert.equal(sampleValue(samples, 'cmstate_job_objects_observed'), 8);
    assertWallClock(sampleValue(samples, 'cmstate_job_last_success_timestamp_seconds'), startedAt);
    assert.deepEqual(findSamples(samples, 'cmstate_task_states_near_size_limit'), [], 'size needs full reads (--with-feedback)');
    assert.match(result.stderr, /metrics: observed 8/, 'the text summary goes to the log');
  });

  test('--output json: the summary is the last line, after the exposition text', async () => {
    await seed(knownSet());
    const result = await run(['metrics'], '--output', 'json');
    assert.equal(result.code, 0, result.stderr);
    const summary = result.json<{ job: string; observed: number; failed: number }>();
    assert.deepEqual([summary.job, summary.observed, summary.failed], ['metrics', 8, 0]);
    const exposition = result.stdout
      .filter((l) => l.trim())
      .slice(0, -1)
      .join('\n');
    assertKnownStateGauges(parseExposition(exposition), { namespace: ns });
  });

  test(...embeddedOnly('request log', 'observes with a metadata-only list, and reads full objects only with --with-feedback'), async () => {
    await seed(knownSet());
    const local = cluster.local!;
    local.clearRequests();
    assert.equal((await run(['metrics'])).code, 0);
    const lists = local.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/configmaps'));
    assert.ok(lists.length >= 1 && lists.every((r) => /as=PartialObjectMetadataList/.test(r.accept ?? '')));
    assert.equal(local.requests.filter((r) => r.method === 'GET' && /\/configmaps\/[^/]+$/.test(r.path)).length, 0);
    assert.equal(local.requests.filter((r) => r.method !== 'GET').length, 0, 'no writes, no Lease');

    local.clearRequests();
    assert.equal((await run(['metrics', '--with-feedback'])).code, 0);
    assert.equal(local.requests.filter((r) => r.method === 'GET' && /\/configmaps\/[^/]+$/.test(r.path)).length, 8);
  });

  test('--with-feedback: outcome metrics from the histories; a malformed entry is counted and skipped; stuck from metadata alone', async () => {
    const at = (hours: number) => ago({ hours });
    const change = (from: string, to: string, hoursAgo: number) => ({ from, to, at: at(hoursAgo), reason: 'test' });
    const withHistory = (cm: ConfigMap, iterations: number[], changes: unknown[]): ConfigMap => {
      cm.data = { ...cm.data, iteration_history: JSON.stringify(iterations.map((hoursAgo, i) => ({ iteration: i + 1, started_at: at(hoursAgo) }))), status_history: JSON.stringify(changes) };
      return cm;
    };
    // Succeeded after 2 iterations, 3 hours from the first start; one failed stay of 1 hour.
    const done = withHistory(
      stateConfigMap({ id: 'done', namespace: ns, lastUpdate: at(1), status: 'succeeded', iteration: 2 }),
      [4, 2],
      [change('pending', 'in_progress', 4), change('in_progress', 'failed', 3), change('failed', 'in_progress', 2), change('in_progress', 'succeeded', 1)],
    );
    // Gave up at its maximum of 5 after 4 retries: flapping with --flapping-after 3.
    const retries = [8, 7, 6, 5].flatMap((h) => [change('in_progress', 'failed', h + 0.5), change('failed', 'in_progress', h)]);
    const gaveUp = withHistory(
      stateConfigMap({ id: 'gave-up', namespace: ns, lastUpdate: at(1), status: 'max_iterations_reached', iteration: 5, maxIterations: 5 }),
      [9, 8, 7, 6, 5],
      [change('pending', 'in_progress', 9), ...retries, change('in_progress', 'max_iterations_reached', 1)],
    );
    // In progress for 2 days (stuck), with one malformed status entry among valid ones.
    const stuck = withHistory(
      stateConfigMap({ id: 'stuck', namespace: ns, lastUpdate: ago({ days: 2 }), status: 'in_progress', iteration: 1 }),
      [49],
      [change('pending', 'in_progress', 49), { from: 'pending', to: 'nowhere' }],
    );
    await seed([done, gaveUp, stuck]);

    const result = await run(['metrics', '--with-feedback', '--flapping-after', '3', '--stuck-after', '1d']);
    assert.equal(result.code, 0, result.stderr);
    const samples = parseExposition(result.stdout.join('\n'));
    const g = { namespace: ns };
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_iterations_count', { ...g, status: 'succeeded' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_iterations_sum', { ...g, status: 'max_iterations_reached' }), 5);
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_duration_seconds_sum', { ...g, status: 'succeeded' }), 3 * 3600);
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_duration_seconds_sum', { ...g, status: 'max_iterations_reached' }), 8 * 3600);
    assert.equal(sampleValue(samples, 'cmstate_task_status_duration_seconds_sum', { ...g, status: 'failed' }), 3600 + 4 * 1800);
    assert.equal(sampleValue(samples, 'cmstate_task_outcome_gave_up_ratio', g), 0.5);
    assert.equal(sampleValue(samples, 'cmstate_task_states_flapping', g), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_history_entries_invalid', { ...g, history: 'status' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_history_entries_invalid', { ...g, history: 'iteration' }), 0);
    assert.equal(sampleValue(samples, 'cmstate_task_states_stuck', { ...g, status: 'in_progress' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_job_failures'), 0);

    // Without full reads: stuck still counts (metadata), the outcome metrics are left out, not zero.
    const metadataOnly = parseExposition((await run(['metrics'])).stdout.join('\n'));
    assert.equal(sampleValue(metadataOnly, 'cmstate_task_states_stuck', { ...g, status: 'in_progress' }), 1);
    assert.deepEqual(findSamples(metadataOnly, 'cmstate_task_outcome_iterations_count'), []);
  });

  test('bad --stuck-after and --flapping-after values are usage errors naming the option', async () => {
    const stuck = await run(['metrics'], '--stuck-after', 'soon');
    assert.equal(stuck.code, 2);
    assert.match(stuck.stderr, /--stuck-after: /);
    const flapping = await run(['metrics'], '--flapping-after', '-1');
    assert.equal(flapping.code, 2);
    assert.match(flapping.stderr, /--flapping-after: /);
  });

  test('--shard-count is refused for a metrics run', async () => {
    const result = await run(['metrics'], '--shard-count', '2', '--shard-index', '0');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--shard-count: metrics runs unsharded/);
  });
});

describe('metrics on a real Pushgateway', { skip: gateway ? false : PUSHGATEWAY_MISSING }, () => {
  const url = gateway?.url ?? '';
  const scrape = async (): Promise<Sample[]> => parseExposition(await (gateway?.scrape() ?? ''));

  test('cmstate metrics --with-feedback pushes state gauges and run metrics as one group', async () => {
    const startedAt = Date.now();
    await seed(knownSet());
    const result = await run(['metrics', '--with-feedback', '--pushgateway', url]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout.join('\n'), /^metrics: observed 8 /);
    const samples = await scrape();
    const group = { job: 'cmstate-metrics', namespace: ns };
    assertKnownStateGauges(samples, group);
    assert.equal(sampleValue(samples, 'cmstate_task_states_near_size_limit', group), 1);
    assert.ok(sampleValue(samples, 'cmstate_task_state_bytes', group) > 900_000);
    assert.equal(sampleValue(samples, 'cmstate_task_states_by_iteration', { ...group, iteration: '0' }), 2);
    assert.equal(sampleValue(samples, 'cmstate_task_states_by_iteration', { ...group, iteration: '1' }), 5);
    assert.equal(sampleValue(samples, 'cmstate_task_states_by_iteration', { ...group, iteration: '2' }), 1);
    const feedback = (severity: string, resolved: boolean) => sampleValue(samples, 'cmstate_feedback_entries', { ...group, severity, resolved: String(resolved) });
    assert.deepEqual([feedback('info', true), feedback('low', false), feedback('medium', false), feedback('high', true), feedback('critical', false), feedback('info', false)], [1, 1, 1, 1, 1, 0]);
    assert.equal(sampleValue(samples, 'cmstate_job_objects_observed', group), 8);
    assert.equal(sampleValue(samples, 'cmstate_job_failures', group), 0);
    assertWallClock(sampleValue(samples, 'cmstate_job_last_success_timestamp_seconds', group), startedAt);
  });

  test(...embeddedOnly('deny rules', 'a sweep pushes cmstate_job_* to job=cmstate-sweep; a failed sweep leaves last success as it was'), async () => {
    const startedAt = Date.now();
    await seed(Array.from({ length: 4 }, (_, i) => stateConfigMap({ id: `old-${i}`, namespace: ns, lastUpdate: ago({ days: 1 }) })));
    const first = await run(['sweep', '--pushgateway', url]);
    assert.equal(first.code, 0, first.stderr);
    const group = { job: 'cmstate-sweep', namespace: ns };
    const before = await scrape();
    const lastSuccess = sampleValue(before, 'cmstate_job_last_success_timestamp_seconds', group);
    assertWallClock(lastSuccess, startedAt);
    assert.equal(sampleValue(before, 'cmstate_job_objects_observed', group), 4);
    assert.equal(sampleValue(before, 'cmstate_job_actions', { ...group, action: 'mark', outcome: 'planned' }), 0);

    // Ten days later every state has expired, but the marks are refused.
    cluster.local!.deny({ verb: 'patch', resource: 'configmaps', namespace: ns });
    const later = T0.plus({ days: 10 });
    const failed = await cli(['sweep', '--kubeconfig', cluster.kubeconfig, '-n', ns, '--now', iso(later), '--pushgateway', url]);
    assert.equal(failed.code, 1, failed.stderr);
    const after = await scrape();
    assert.equal(sampleValue(after, 'cmstate_job_last_success_timestamp_seconds', group), lastSuccess);
    // Finished after the first run, by the wall clock (not ten days later).
    const lastRun = sampleValue(after, 'cmstate_job_last_run_timestamp_seconds', group);
    assertWallClock(lastRun, startedAt);
    assert.ok(lastRun >= lastSuccess, `${lastRun} < ${lastSuccess}`);
    assert.equal(sampleValue(after, 'cmstate_job_failures', group), 4);
    assert.equal(sampleValue(after, 'cmstate_job_actions', { ...group, action: 'mark', outcome: 'planned' }), 4);
    assert.equal(sampleValue(after, 'cmstate_job_actions', { ...group, action: 'mark', outcome: 'applied' }), 0);
  });

  test('a sharded sweep pushes one group per shard', async () => {
    await seed(Array.from({ length: 20 }, (_, i) => stateConfigMap({ id: `s-${i}`, namespace: ns, lastUpdate: ago({ days: 10 }) })));
    for (const index of ['0', '1']) {
      const result = await run(['sweep', '--pushgateway', url], '--shard-count', '2', '--shard-index', index);
      assert.equal(result.code, 0, result.stderr);
    }
    const samples = await scrape();
    const observed = (shard: string) => sampleValue(samples, 'cmstate_job_objects_observed', { job: 'cmstate-sweep', namespace: ns, shard });
    assert.ok(observed('0') > 0 && observed('1') > 0);
    assert.equal(observed('0') + observed('1'), 20);
    assert.equal(findSamples(samples, 'cmstate_job_objects_observed', { job: 'cmstate-sweep', namespace: ns }).length, 2, 'no unsharded group');
  });

  test('--all-namespaces: state gauges in one group per namespace, run metrics in _all', async () => {
    await seed(knownSet());
    const other = await cluster.extraNamespace();
    await client.createConfigMap(stateConfigMap({ id: 'x', namespace: other, lastUpdate: ago({ hours: 1 }), status: 'cancelled' }));
    // -n: where the run's Lease lives, so parallel runs on one cluster do not contend.
    const result = await cli(['metrics', '-A', '-n', ns, '--kubeconfig', cluster.kubeconfig, '--now', iso(T0), '--pushgateway', url]);
    assert.equal(result.code, 0, result.stderr);
    const samples = await scrape();
    assertKnownStateGauges(samples, { job: 'cmstate-metrics', namespace: ns });
    assert.equal(sampleValue(samples, 'cmstate_task_states', { job: 'cmstate-metrics', namespace: other, status: 'cancelled' }), 1);
    const all = { job: 'cmstate-metrics', namespace: '_all' };
    assert.ok(sampleValue(samples, 'cmstate_job_objects_observed', all) >= 9);
    assert.deepEqual(findSamples(samples, 'cmstate_task_states', all), []);

    // The other namespace's last state goes: its group goes with it at the next run, instead of
    // keeping figures (and alerts) about states that no longer exist.
    await client.deleteConfigMap({ namespace: other, name: 'task-x-state' });
    const again = await cli(['metrics', '-A', '-n', ns, '--kubeconfig', cluster.kubeconfig, '--now', iso(T0), '--pushgateway', url]);
    assert.equal(again.code, 0, again.stderr);
    const after = await scrape();
    assert.deepEqual(findSamples(after, 'cmstate_task_states', { job: 'cmstate-metrics', namespace: other }), []);
    assertKnownStateGauges(after, { job: 'cmstate-metrics', namespace: ns });
  });

  test('an unreachable Pushgateway: the job still succeeds with a warning; --require-push makes it exit 1', async () => {
    await seed(knownSet());
    const closed = `http://127.0.0.1:${await freePort()}`;
    const ok = await run(['sweep', '--pushgateway', closed]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /"level":"?(warn|40)"?.*metrics push failed: push to .*ECONNREFUSED/);
    const required = await run(['metrics', '--pushgateway', closed, '--require-push']);
    assert.equal(required.code, 1);
    assert.match(required.stderr, /metrics push failed/);
  });

  test('--delete-group removes every group of the release, without any API server', async () => {
    await seed(knownSet());
    assert.equal((await run(['metrics', '--pushgateway', url])).code, 0);
    assert.equal((await run(['sweep', '--pushgateway', url])).code, 0);
    for (const index of ['0', '1']) assert.equal((await run(['sweep', '--pushgateway', url], '--shard-count', '2', '--shard-index', index)).code, 0);
    const keep = await cluster.extraNamespace();
    assert.equal((await cli(['sweep', '--kubeconfig', cluster.kubeconfig, '-n', keep, '--pushgateway', url])).code, 0);
    assert.equal(findSamples(await scrape(), 'cmstate_job_last_run_timestamp_seconds', { namespace: ns }).length, 4);

    // A kubeconfig that does not exist: connecting would fail.
    const deleted = await cli(['metrics', '--delete-group', '--kubeconfig', '/nonexistent/kubeconfig', '-n', ns, '--shard-count', '2', '--pushgateway', url, '--output', 'json']);
    assert.equal(deleted.code, 0, deleted.stderr);
    // The groups, then the summary last, like every job.
    const report = JSON.parse(deleted.stdout.at(-2) ?? '') as { deleted: string[]; failed: number };
    assert.equal(report.failed, 0);
    const summary = deleted.json<{ job: string; planned: Record<string, number>; applied: Record<string, number>; failed: number }>();
    assert.deepEqual([summary.job, summary.applied.delete_group, summary.failed], ['metrics', report.deleted.length, 0]);
    assert.ok(report.deleted.includes(`/metrics/job/cmstate-sweep/namespace/${ns}/shard/1`));
    const samples = await scrape();
    assert.deepEqual(findSamples(samples, 'cmstate_job_last_run_timestamp_seconds', { namespace: ns }), []);
    assert.deepEqual(findSamples(samples, 'cmstate_task_states', { namespace: ns }), []);
    assert.equal(findSamples(samples, 'cmstate_job_last_run_timestamp_seconds', { namespace: keep }).length, 1, "another namespace's groups stay");
  });

  test('--delete-group --all-namespaces also removes the per-namespace state gauge groups', async () => {
    await seed(knownSet());
    assert.equal((await cli(['metrics', '-A', '-n', ns, '--kubeconfig', cluster.kubeconfig, '--pushgateway', url])).code, 0);
    assert.ok(findSamples(await scrape(), 'cmstate_task_states', { job: 'cmstate-metrics', namespace: ns }).length > 0);
    const deleted = await cli(['metrics', '--delete-group', '-A', '--kubeconfig', '/nonexistent/kubeconfig', '--pushgateway', url]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout.join('\n'), /^deleted \d+ Pushgateway groups of this release \(all namespaces\)/);
    const samples = await scrape();
    assert.deepEqual(findSamples(samples, 'cmstate_task_states', { job: 'cmstate-metrics' }), []);
    assert.deepEqual(findSamples(samples, 'cmstate_job_last_run_timestamp_seconds', { namespace: '_all' }), []);
  });
});

describe('cmstate metrics --delete-group usage', () => {
  test('needs a Pushgateway and a namespace; a dry run deletes nothing', async () => {
    const missing = await cli(['metrics', '--delete-group', '--kubeconfig', '/nonexistent/kubeconfig']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--delete-group: --pushgateway .* is required; name the release's namespace with --namespace/);
    const dry = await cli(['metrics', '--delete-group', '--dry-run', '-n', 'team-a', '--pushgateway', 'http://gw.invalid:9091']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(dry.stdout.includes('would delete http://gw.invalid:9091/metrics/job/cmstate-repair/namespace/team-a'));
    // 12 groups (6 jobs, the namespace's and _all), then the summary line.
    assert.equal(dry.stdout.length, 13, dry.stdout.join('\n'));
    assert.match(dry.stdout.at(-1) ?? '', /^metrics \(dry run\): observed 12 · planned delete_group 12 · applied delete_group 0/);
  });
});
