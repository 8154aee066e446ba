import { freePort } from '../support/ports.js';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import { Counter, Registry } from 'prom-client';
import { ALL_NAMESPACES, deleteGroup, groupPath, pushMetrics, PushError, type Grouping } from '../../src/metrics/pushgateway.js';
import { createRunMetrics, type RunMetrics } from '../../src/metrics/run-metrics.js';
import { computeStateGauges, stateGaugesRegistry } from '../../src/metrics/state-gauges.js';
import type { JobSummary } from '../../src/metrics/summary.js';
import type { ObjectMetadata } from '../../src/kube/types.js';
import { findSamples, parseExposition, PUSHGATEWAY_MISSING, sampleValue, startPushgateway, type Sample } from '../support/pushgateway.js';

const T1 = DateTime.fromISO('2025-06-01T12:00:00Z', { zone: 'utc' });
const T2 = T1.plus({ hours: 6 });
const FAST = { retries: 2, timeoutMs: 2000, backoffMs: 1 };

function summary(overrides: Partial<JobSummary> = {}): JobSummary {
  return {
    job: 'sweep',
    dry_run: false,
    observed: 1200,
    planned: { mark: 40, delete: 12 },
    applied: { mark: 40, delete: 11 },
    skipped: { conflict: 1 },
    failed: 0,
    duration_ms: 850,
    ...overrides,
  };
}

function sweepMetrics(): RunMetrics {
  return createRunMetrics('sweep', { actions: ['mark', 'unmark', 'delete'] });
}

const gateway = await startPushgateway();
after(() => gateway?.stop());

describe('Pushgateway (real prometheus-pushgateway)', { skip: gateway ? false : PUSHGATEWAY_MISSING }, () => {
  const url = gateway?.url ?? '';
  const scrape = async (): Promise<Sample[]> => parseExposition(await (gateway?.scrape() ?? ''));

  /** Records a run and pushes it with the method the run metrics ask for. */
  async function run(grouping: Grouping, s: JobSummary, success: boolean, finishedAt: DateTime): Promise<void> {
    const metrics = sweepMetrics();
    const method = metrics.record(s, { success, finishedAt });
    await pushMetrics({ url, registry: metrics.registry, grouping, method, ...FAST });
  }

  test('a successful run: every run metric, labelled with the grouping key', async () => {
    await run({ job: 'sweep', namespace: 'team-a' }, summary(), true, T1);
    const samples = await scrape();
    const group = { job: 'cmstate-sweep', namespace: 'team-a' };
    assert.equal(sampleValue(samples, 'cmstate_job_last_run_timestamp_seconds', group), T1.toSeconds());
    assert.equal(sampleValue(samples, 'cmstate_job_last_success_timestamp_seconds', group), T1.toSeconds());
    assert.equal(sampleValue(samples, 'cmstate_job_duration_seconds', group), 0.85);
    assert.equal(sampleValue(samples, 'cmstate_job_objects_observed', group), 1200);
    assert.equal(sampleValue(samples, 'cmstate_job_failures', group), 0);
    const actions = (action: string, outcome: string) => sampleValue(samples, 'cmstate_job_actions', { ...group, action, outcome });
    assert.equal(actions('mark', 'planned'), 40);
    assert.equal(actions('delete', 'planned'), 12);
    assert.equal(actions('delete', 'applied'), 11);
    assert.equal(actions('unmark', 'applied'), 0);
    assert.equal(actions('all', 'skipped_conflict'), 1);
    const lastRun = findSamples(samples, 'cmstate_job_last_run_timestamp_seconds', group);
    assert.deepEqual(lastRun[0]?.labels, { instance: '', job: 'cmstate-sweep', namespace: 'team-a' });
  });

  test('a failed run after it keeps last success, updates last run, failures and actions', async () => {
    const grouping = { job: 'sweep', namespace: 'team-b' };
    await run(grouping, summary(), true, T1);
    await run(grouping, summary({ planned: { mark: 3 }, applied: { mark: 1 }, skipped: {}, failed: 2, duration_ms: 4000 }), false, T2);
    const samples = await scrape();
    const group = { job: 'cmstate-sweep', namespace: 'team-b' };
    assert.equal(sampleValue(samples, 'cmstate_job_last_success_timestamp_seconds', group), T1.toSeconds());
    assert.equal(sampleValue(samples, 'cmstate_job_last_run_timestamp_seconds', group), T2.toSeconds());
    assert.equal(sampleValue(samples, 'cmstate_job_failures', group), 2);
    assert.equal(sampleValue(samples, 'cmstate_job_duration_seconds', group), 4);
    assert.equal(sampleValue(samples, 'cmstate_job_actions', { ...group, action: 'delete', outcome: 'planned' }), 0);
    assert.deepEqual(findSamples(samples, 'cmstate_job_actions', { ...group, outcome: 'skipped_conflict' }), [], "the previous run's skips are replaced");

    await run(grouping, summary(), true, T2.plus({ hours: 6 }));
    const later = await scrape();
    assert.equal(sampleValue(later, 'cmstate_job_last_success_timestamp_seconds', group), T2.plus({ hours: 6 }).toSeconds());
    assert.equal(sampleValue(later, 'cmstate_job_failures', group), 0);
  });

  test('a dry run, like a failure, leaves the last success as it was', async () => {
    const grouping = { job: 'sweep', namespace: 'team-dry' };
    await run(grouping, summary(), true, T1);
    await run(grouping, summary({ dry_run: true, applied: {} }), true, T2);
    const samples = await scrape();
    const group = { job: 'cmstate-sweep', namespace: 'team-dry' };
    assert.equal(sampleValue(samples, 'cmstate_job_last_success_timestamp_seconds', group), T1.toSeconds());
    assert.equal(sampleValue(samples, 'cmstate_job_last_run_timestamp_seconds', group), T2.toSeconds());
  });

  test('a successful run (PUT) replaces the whole group: names from an older push do not linger', async () => {
    const grouping = { job: 'sweep', namespace: 'team-c' };
    const old = new Registry();
    new Counter({ name: 'cmstate_renamed_in_a_later_version', help: 'gone', registers: [old] }).inc();
    await pushMetrics({ url, registry: old, grouping, method: 'put', ...FAST });
    assert.equal(findSamples(await scrape(), 'cmstate_renamed_in_a_later_version', { namespace: 'team-c' }).length, 1);
    await run(grouping, summary(), true, T1);
    assert.deepEqual(findSamples(await scrape(), 'cmstate_renamed_in_a_later_version', { namespace: 'team-c' }), []);
  });

  test('two shards push two groups', async () => {
    await run({ job: 'sweep', namespace: 'team-d', shard: 0 }, summary({ observed: 600 }), true, T1);
    await run({ job: 'sweep', namespace: 'team-d', shard: 1 }, summary({ observed: 590 }), true, T1);
    const samples = await scrape();
    assert.equal(sampleValue(samples, 'cmstate_job_objects_observed', { job: 'cmstate-sweep', namespace: 'team-d', shard: '0' }), 600);
    assert.equal(sampleValue(samples, 'cmstate_job_objects_observed', { job: 'cmstate-sweep', namespace: 'team-d', shard: '1' }), 590);
    assert.equal(findSamples(samples, 'cmstate_job_objects_observed', { namespace: 'team-d' }).length, 2);
  });

  test('grouping values with "/" and empty values round-trip through @base64', async () => {
    await run({ job: 'sweep', namespace: 'a/b' }, summary({ observed: 7 }), true, T1);
    await run({ job: 'sweep', namespace: '' }, summary({ observed: 8 }), true, T1);
    await run({ job: 'sweep', namespace: ALL_NAMESPACES }, summary({ observed: 9 }), true, T1);
    const samples = await scrape();
    assert.equal(sampleValue(samples, 'cmstate_job_objects_observed', { job: 'cmstate-sweep', namespace: 'a/b' }), 7);
    assert.equal(sampleValue(samples, 'cmstate_job_objects_observed', { job: 'cmstate-sweep', namespace: '' }), 8);
    assert.equal(sampleValue(samples, 'cmstate_job_objects_observed', { job: 'cmstate-sweep', namespace: '_all' }), 9);

    await deleteGroup({ url, grouping: { job: 'sweep', namespace: 'a/b' }, ...FAST });
    await deleteGroup({ url, grouping: { job: 'sweep', namespace: '' }, ...FAST });
    const after = await scrape();
    assert.deepEqual(findSamples(after, 'cmstate_job_objects_observed', { namespace: 'a/b' }), []);
    assert.deepEqual(findSamples(after, 'cmstate_job_objects_observed', { namespace: '' }), []);
    assert.equal(findSamples(after, 'cmstate_job_objects_observed', { namespace: '_all' }).length, 1);
  });

  test('deleteGroup removes the group, and only it; deleting a missing group is no error', async () => {
    await run({ job: 'repair', namespace: 'team-e' }, summary({ job: 'repair' }), true, T1);
    await run({ job: 'repair', namespace: 'team-f' }, summary({ job: 'repair' }), true, T1);
    await deleteGroup({ url, grouping: { job: 'repair', namespace: 'team-e' }, ...FAST });
    const samples = await scrape();
    assert.deepEqual(findSamples(samples, 'cmstate_job_last_run_timestamp_seconds', { job: 'cmstate-repair', namespace: 'team-e' }), []);
    assert.equal(findSamples(samples, 'cmstate_job_last_run_timestamp_seconds', { job: 'cmstate-repair', namespace: 'team-f' }).length, 1);
    await deleteGroup({ url, grouping: { job: 'repair', namespace: 'never-pushed' }, ...FAST });
  });

  test('the metrics job pushes run metrics and state gauges as one group', async () => {
    const objects: ObjectMetadata[] = [
      {
        metadata: {
          name: 'task-a-state',
          namespace: 'team-g',
          labels: { 'cmstate.io/state': 'task', 'cmstate.io/status': 'failed' },
          annotations: { 'cmstate.io/last-update': '2025-06-01T11:00:00Z', 'cmstate.io/quarantined': 'bad history' },
        },
      },
    ];
    const runMetrics = createRunMetrics('metrics');
    const method = runMetrics.record(summary({ job: 'metrics', observed: 1, planned: {}, applied: {}, skipped: {} }), { success: true, finishedAt: T1 });
    const registry = Registry.merge([runMetrics.registry, stateGaugesRegistry(computeStateGauges(objects, T1, { namespaces: ['team-g'] }))]);
    await pushMetrics({ url, registry, grouping: { job: 'metrics', namespace: 'team-g' }, method, ...FAST });
    const samples = await scrape();
    const group = { job: 'cmstate-metrics', namespace: 'team-g' };
    assert.equal(sampleValue(samples, 'cmstate_task_states', { ...group, status: 'failed' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_states_quarantined', group), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_state_oldest_update_age_seconds', group), 3600);
    assert.equal(sampleValue(samples, 'cmstate_job_last_success_timestamp_seconds', group), T1.toSeconds());
  });

  test('state gauges of several namespaces cannot share the _all group: the gateway overrides their namespace label', async () => {
    const objects: ObjectMetadata[] = ['x', 'y'].map((namespace) => ({
      metadata: { name: 'task-a-state', namespace, labels: { 'cmstate.io/state': 'task', 'cmstate.io/status': 'pending' }, annotations: { 'cmstate.io/last-update': '2025-06-01T11:00:00Z' } },
    }));
    const values = computeStateGauges(objects, T1);
    await assert.rejects(
      pushMetrics({ url, registry: stateGaugesRegistry(values), grouping: { job: 'metrics', namespace: ALL_NAMESPACES }, method: 'put', ...FAST }),
      (err: unknown) => err instanceof PushError && err.status === 400,
    );
    for (const v of values) {
      await pushMetrics({ url, registry: stateGaugesRegistry([v]), grouping: { job: 'metrics', namespace: v.namespace }, method: 'put', ...FAST });
    }
    const samples = await scrape();
    assert.equal(sampleValue(samples, 'cmstate_task_states', { job: 'cmstate-metrics', namespace: 'x', status: 'pending' }), 1);
    assert.equal(sampleValue(samples, 'cmstate_task_states', { job: 'cmstate-metrics', namespace: 'y', status: 'pending' }), 1);
  });

  test('a 4xx is a PushError at once, not retried: metrics inconsistent with the group', async () => {
    const grouping = { job: 'sweep', namespace: 'team-h' };
    await run(grouping, summary(), true, T1);
    const clash = new Registry();
    new Counter({ name: 'cmstate_job_failures', help: 'a counter where the group has a gauge', registers: [clash] }).inc();
    const err = await pushMetrics({ url, registry: clash, grouping, method: 'post', ...FAST }).catch((e: unknown) => e);
    assert.ok(err instanceof PushError, String(err));
    assert.equal(err.status, 400);
    assert.equal(err.attempts, 1);
    assert.match(err.message, /^push to http:\/\/127\.0\.0\.1:\d+\/metrics\/job\/cmstate-sweep\/namespace\/team-h failed: HTTP 400 \(.+\) after 1 attempt$/);
  });

  test('a 4xx for a bad path is a PushError naming the URL and status', async () => {
    const err = await pushMetrics({ url: `${url}/not-a-gateway`, registry: new Registry(), grouping: { job: 'sweep', namespace: 'team-i' }, method: 'put', ...FAST }).catch((e: unknown) => e);
    assert.ok(err instanceof PushError, String(err));
    assert.equal(err.status, 404);
    assert.ok(err.message.includes(`${url}/not-a-gateway/metrics/job/cmstate-sweep/namespace/team-i`), err.message);
  });
});

describe('pushMetrics without a gateway', () => {
  test('an unreachable gateway is a PushError after the retries, quickly with a small backoff', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const err = await pushMetrics({ url, registry: createRunMetrics('sweep').registry, grouping: { job: 'sweep', namespace: 'team-a' }, method: 'put', ...FAST }).catch((e: unknown) => e);
    assert.ok(err instanceof PushError, String(err));
    assert.equal(err.status, undefined);
    assert.equal(err.attempts, 3);
    assert.match(err.message, /ECONNREFUSED/);
    assert.ok(err.message.startsWith(`push to ${url}/metrics/job/cmstate-sweep/namespace/team-a failed: `), err.message);
    assert.ok(!err.message.includes('\n'));
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  test('5xx and 429 are retried; the push succeeds when the gateway recovers', async () => {
    const statuses = [503, 429, 200];
    const calls: { url: string; method: string | undefined; contentType: string | null; body: string }[] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      calls.push({ url: String(input), method: init?.method, contentType: new Headers(init?.headers).get('content-type'), body: String(init?.body) });
      return new Response('', { status: statuses[calls.length - 1] ?? 500 });
    };
    const metrics = createRunMetrics('sweep');
    metrics.record(summary(), { success: true, finishedAt: T1 });
    await pushMetrics({ url: 'http://gw.example:9091/prefix/', registry: metrics.registry, grouping: { job: 'sweep', namespace: 'a/b', shard: 3 }, method: 'put', fetch: fakeFetch, ...FAST });
    assert.equal(calls.length, 3);
    assert.equal(calls[0]?.url, 'http://gw.example:9091/prefix/metrics/job/cmstate-sweep/namespace@base64/YS9i/shard/3');
    assert.equal(calls[0]?.method, 'PUT');
    assert.match(calls[0]?.contentType ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(calls[0]?.body ?? '', /^cmstate_job_objects_observed 1200$/m);
  });

  test('5xx until the retries run out: PushError with the last status', async () => {
    let calls = 0;
    const fakeFetch: typeof fetch = async () => {
      calls++;
      return new Response('gateway overloaded\nsecond line', { status: 502 });
    };
    const err = await pushMetrics({ url: 'http://gw.example:9091', registry: new Registry(), grouping: { job: 'sweep', namespace: 'x' }, method: 'post', fetch: fakeFetch, ...FAST }).catch(
      (e: unknown) => e,
    );
    assert.ok(err instanceof PushError, String(err));
    assert.equal(calls, 3);
    assert.equal(err.status, 502);
    assert.equal(err.message, 'push to http://gw.example:9091/metrics/job/cmstate-sweep/namespace/x failed: HTTP 502 (gateway overloaded) after 3 attempts');
  });

  test('a gateway that does not answer times out per attempt', async () => {
    const hang: typeof fetch = (_input, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    const err = await pushMetrics({
      url: 'http://gw.example:9091',
      registry: new Registry(),
      grouping: { job: 'sweep', namespace: 'x' },
      method: 'put',
      fetch: hang,
      retries: 1,
      timeoutMs: 20,
      backoffMs: 1,
    }).catch((e: unknown) => e);
    assert.ok(err instanceof PushError, String(err));
    assert.equal(err.attempts, 2);
    assert.match(err.message, /no answer within 20 ms after 2 attempts$/);
  });

  test('deleteGroup sends DELETE to the group path', async () => {
    const calls: { url: string; method: string | undefined }[] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      calls.push({ url: String(input), method: init?.method });
      return new Response('', { status: 202 });
    };
    await deleteGroup({ url: 'http://gw.example:9091', grouping: { job: 'metrics', namespace: '' }, fetch: fakeFetch });
    assert.deepEqual(calls, [{ url: 'http://gw.example:9091/metrics/job/cmstate-metrics/namespace@base64/=', method: 'DELETE' }]);
  });

  test('a URL that is not http(s) is a PushError before any request', async () => {
    for (const url of ['not a url', 'ftp://gw.example']) {
      await assert.rejects(pushMetrics({ url, registry: new Registry(), grouping: { job: 'sweep', namespace: 'x' }, method: 'put' }), (err: unknown) => err instanceof PushError && err.attempts === 0);
    }
  });

  const paths: { grouping: Grouping; want: string }[] = [
    { grouping: { job: 'sweep', namespace: 'team-a' }, want: '/metrics/job/cmstate-sweep/namespace/team-a' },
    { grouping: { job: 'sweep', namespace: ALL_NAMESPACES }, want: '/metrics/job/cmstate-sweep/namespace/_all' },
    { grouping: { job: 'sweep', namespace: 'team-a', shard: 0 }, want: '/metrics/job/cmstate-sweep/namespace/team-a/shard/0' },
    { grouping: { job: 'sweep', namespace: 'a/b' }, want: '/metrics/job/cmstate-sweep/namespace@base64/YS9i' },
    { grouping: { job: 'sweep', namespace: '' }, want: '/metrics/job/cmstate-sweep/namespace@base64/=' },
    { grouping: { job: 'sweep', namespace: '..' }, want: '/metrics/job/cmstate-sweep/namespace@base64/Li4' },
    { grouping: { job: 'sweep', namespace: 'a b?' }, want: '/metrics/job/cmstate-sweep/namespace@base64/YSBiPw' },
  ];
  for (const { grouping, want } of paths) {
    test(`groupPath ${JSON.stringify(grouping)}`, () => assert.equal(groupPath(grouping), want));
  }
});

describe('createRunMetrics', () => {
  const names = async (metrics: RunMetrics) => new Set(parseExposition(await metrics.registry.metrics()).map((s) => s.name));

  test('success: PUT, with the last success timestamp', async () => {
    const metrics = sweepMetrics();
    assert.equal(metrics.record(summary(), { success: true, finishedAt: T1 }), 'put');
    assert.ok((await names(metrics)).has('cmstate_job_last_success_timestamp_seconds'));
  });

  test('failure and dry run: POST, without the last success timestamp (not even a 0)', async () => {
    for (const [s, success] of [
      [summary(), false],
      [summary({ dry_run: true }), true],
    ] as const) {
      const metrics = sweepMetrics();
      metrics.record(summary(), { success: true, finishedAt: T1 });
      assert.equal(metrics.record(s, { success, finishedAt: T2 }), 'post');
      const got = await names(metrics);
      assert.ok(!got.has('cmstate_job_last_success_timestamp_seconds'));
      assert.ok(got.has('cmstate_job_last_run_timestamp_seconds'));
    }
  });

  test('no per-run labels; a second record replaces the first', async () => {
    const metrics = sweepMetrics();
    metrics.record(summary(), { success: true, finishedAt: T1 });
    metrics.record(summary({ planned: {}, applied: {}, skipped: { circuit_breaker: 5 } }), { success: true, finishedAt: T2 });
    const samples = parseExposition(await metrics.registry.metrics());
    assert.equal(sampleValue(samples, 'cmstate_job_actions', { action: 'delete', outcome: 'planned' }), 0);
    assert.equal(sampleValue(samples, 'cmstate_job_actions', { action: 'all', outcome: 'skipped_circuit_breaker' }), 5);
    assert.deepEqual(findSamples(samples, 'cmstate_job_actions', { outcome: 'skipped_conflict' }), []);
    const labelNames = new Set(samples.flatMap((s) => Object.keys(s.labels)));
    assert.deepEqual([...labelNames].sort(), ['action', 'outcome']);
  });
});
