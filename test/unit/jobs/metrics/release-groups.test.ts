import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { groupPath } from '../../../../src/metrics/pushgateway.js';
import { releaseGroups } from '../../../../jobs/metrics/groups.js';
import { ALL_JOBS } from '../../../../src/job/descriptors.js';

// Every job pushes its run metrics: each has groups to delete.
const PUSHING_JOBS = ALL_JOBS.map((job) => job.name);

describe('releaseGroups (what --delete-group deletes)', () => {
  test("one namespace, unsharded: every job's group for the namespace and for _all", () => {
    const paths = releaseGroups({ namespace: 'team-a', shardCount: 1 }).map(groupPath);
    assert.equal(paths.length, PUSHING_JOBS.length * 2);
    assert.ok(paths.includes('/metrics/job/cmstate-sweep/namespace/team-a'));
    assert.ok(paths.includes('/metrics/job/cmstate-metrics/namespace/_all'));
    assert.ok(paths.includes('/metrics/job/cmstate-sweep-unmark/namespace/team-a'));
    assert.ok(paths.every((p) => !p.includes('/shard/')));
  });

  test('--shard-count 3: the unsharded groups, and shards 0, 1, 2 of the jobs that shard', () => {
    const paths = releaseGroups({ namespace: 'team-a', shardCount: 3 }).map(groupPath);
    const shardable = ALL_JOBS.filter((job) => job.shardable).length;
    assert.equal(paths.length, PUSHING_JOBS.length * 2 + shardable * 2 * 3);
    assert.ok(paths.includes('/metrics/job/cmstate-repair/namespace/_all/shard/2'));
    assert.ok(!paths.some((p) => p.startsWith('/metrics/job/cmstate-snapshot/') && p.includes('/shard/')), 'a snapshot never runs sharded');
    const sweep = paths.filter((p) => p.startsWith('/metrics/job/cmstate-sweep/namespace/team-a'));
    assert.deepEqual(sweep, [
      '/metrics/job/cmstate-sweep/namespace/team-a',
      '/metrics/job/cmstate-sweep/namespace/team-a/shard/0',
      '/metrics/job/cmstate-sweep/namespace/team-a/shard/1',
      '/metrics/job/cmstate-sweep/namespace/team-a/shard/2',
    ]);
  });

  test("--all-namespaces: only the _all groups (the per-namespace ones come from the gateway's list)", () => {
    const paths = releaseGroups({ namespace: undefined, shardCount: 1 }).map(groupPath);
    assert.deepEqual(
      paths,
      PUSHING_JOBS.map((job) => `/metrics/job/cmstate-${job}/namespace/_all`),
    );
  });
});
