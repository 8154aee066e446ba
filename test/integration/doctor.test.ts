// `cmstate doctor` through the CLI in-process, against the embedded API server (or a real cluster
// with CMSTATE_TEST_KUBECONFIG; deny rules need the embedded one), a real Pushgateway when
// installed, and broken setups: a denied verb, closed ports, an unwritable directory, a bad kubeconfig.

import { freePort, writeClosedKubeconfig } from '../support/ports.js';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, beforeEach, describe, test } from 'node:test';
import { cli } from '../support/cli.js';
import { embeddedOnly, startTestCluster, type TestCluster } from '../support/cluster.js';
import { PUSHGATEWAY_MISSING, startPushgateway, type PushgatewayProcess } from '../support/pushgateway.js';
import { requiredAccess, type CheckResult } from '../../jobs/doctor/checks.js';
import type { LocalApiServer } from '../../src/local-apiserver/index.js';

interface Report {
  checks: CheckResult[];
  ok: boolean;
}

let cluster: TestCluster;
let pushgateway: PushgatewayProcess | undefined;
let dir: string;

before(async () => {
  cluster = await startTestCluster();
  pushgateway = await startPushgateway();
  dir = await mkdtemp(path.join(tmpdir(), 'cmstate-doctor-'));
});
after(async () => {
  await pushgateway?.stop();
  await cluster.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => cluster.local?.clearDenyRules());

function local(): LocalApiServer {
  if (!cluster.local) throw new Error('this test needs the embedded API server');
  return cluster.local;
}

function doctor(...args: string[]) {
  return cli(['doctor', '--kubeconfig', cluster.kubeconfig, '-n', cluster.namespace, ...args]);
}

async function doctorJson(...args: string[]) {
  const run = await doctor('--output', 'json', ...args);
  const report = run.json<Report>();
  const byName = new Map(report.checks.map((c) => [c.name, c]));
  return { run, report, check: (name: string) => byName.get(name) ?? assert.fail(`no check "${name}" in ${[...byName.keys()].join(', ')}`) };
}

const RBAC_CHECKS = ['rbac configmaps', 'rbac leases.coordination.k8s.io', 'rbac events'];

describe('doctor', () => {
  test('everything in order: every check ok, exit 0', async (t) => {
    const snapshots = await mkdtemp(path.join(dir, 'snapshots-'));
    const extra = pushgateway ? ['--pushgateway', pushgateway.url] : [];
    if (!pushgateway) t.diagnostic(`Pushgateway check not exercised: ${PUSHGATEWAY_MISSING}`);
    cluster.local?.clearRequests();
    const { run, report, check } = await doctorJson('--snapshot-dir', snapshots, ...extra);
    assert.equal(run.code, 0, run.stdout.join('\n') + run.stderr);
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.map((c) => c.name),
      ['config', 'api', ...RBAC_CHECKS, ...(pushgateway ? ['pushgateway'] : []), 'snapshot-dir'],
    );
    for (const c of report.checks) {
      assert.equal(c.ok, true, `${c.name}: ${c.detail}`);
      assert.equal(c.fix, null);
    }
    assert.match(check('api').detail, /version v\d+\.\d+/);
    assert.match(check('config').detail, new RegExp(`namespace ${cluster.namespace}`));
    assert.equal(check('rbac configmaps').detail, `get, list, patch, delete, create, update allowed in namespace "${cluster.namespace}"`);
    assert.deepEqual(await readdir(snapshots), [], 'the probe file is removed');
    if (cluster.local) {
      // One SelfSubjectAccessReview per verb: 6 on configmaps, 4 on leases, 1 on events.
      const reviews = cluster.local.requests.filter((r) => r.path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
      assert.equal(reviews.length, 11);
    }

    const text = await doctor('--snapshot-dir', snapshots, ...extra);
    assert.equal(text.code, 0);
    const lines = text.stdout.filter((l) => l.trim());
    assert.equal(lines.length, report.checks.length + 1);
    assert.ok(
      lines.slice(0, -1).every((l) => l.startsWith('✔ ')),
      lines.join('\n'),
    );
    assert.match(lines.at(-1) ?? '', /^doctor: all \d+ checks passed \(jobs: sweep, repair, snapshot, metrics\)$/);
  });

  test(...embeddedOnly('deny rules', 'a denied verb: exit 1, naming the verb, the jobs that need it and the fix'), async () => {
    local().deny({ verb: 'delete', resource: 'configmaps', namespace: cluster.namespace });
    const { run, report, check } = await doctorJson();
    assert.equal(run.code, 1);
    assert.equal(report.ok, false);
    const cms = check('rbac configmaps');
    assert.equal(cms.ok, false);
    assert.equal(cms.detail, `denied in namespace "${cluster.namespace}": delete (sweep, repair)`);
    assert.match(cms.fix ?? '', /grant delete on configmaps in namespace/);
    assert.match(cms.fix ?? '', new RegExp(`kubectl -n ${cluster.namespace} create role cmstate-extra --verb=delete --resource=configmaps`));
    assert.equal(check('rbac events').ok, true);
    assert.equal(check('api').ok, true);

    const text = await doctor();
    assert.equal(text.code, 1);
    const line = text.stdout.find((l) => l.startsWith('✖ rbac configmaps'));
    assert.ok(line, text.stdout.join('\n'));
    assert.match(line, /delete \(sweep, repair\) — fix: grant delete/);
    assert.equal(text.stdout.at(-1), 'doctor: 1 of 5 checks failed');

    // A job that does not delete does not need the verb.
    assert.equal((await doctor('--jobs', 'snapshot,metrics')).code, 0);
  });

  test(...embeddedOnly('deny rules', '--jobs restore checks create on configmaps; leases are checked in the run namespace'), async () => {
    local().deny({ verb: 'create', resource: 'configmaps' });
    local().deny({ verb: 'update', resource: 'leases', namespace: cluster.namespace });
    const { run, check } = await doctorJson('--jobs', 'restore');
    assert.equal(run.code, 1);
    assert.equal(check('rbac configmaps').detail, `denied in namespace "${cluster.namespace}": create (restore)`);
    assert.equal(check('rbac leases.coordination.k8s.io').detail, `denied in namespace "${cluster.namespace}": update (every job)`);
    assert.match(check('rbac leases.coordination.k8s.io').fix ?? '', /--resource=leases\.coordination\.k8s\.io/);
  });

  test(...embeddedOnly('deny rules', '--all-namespaces checks ConfigMaps and Events cluster-wide'), async () => {
    local().deny({ verb: 'list', resource: 'configmaps' });
    const { run, check } = await doctorJson('--all-namespaces', '--jobs', 'snapshot');
    assert.equal(run.code, 1);
    assert.equal(check('rbac configmaps').detail, 'denied in every namespace: list (snapshot)');
    assert.match(check('rbac configmaps').fix ?? '', /cluster-wide.*create clusterrole/);
  });

  test('an unreachable Pushgateway: exit 1 with the fix, the rest still ok', async () => {
    const port = await freePort();
    const { run, report, check } = await doctorJson('--pushgateway', `http://127.0.0.1:${port}`);
    assert.equal(run.code, 1);
    const push = check('pushgateway');
    assert.equal(push.ok, false);
    assert.equal(push.detail, `cannot reach http://127.0.0.1:${port}/-/ready: ECONNREFUSED`);
    assert.match(push.fix ?? '', /reachable/);
    assert.deepEqual(
      report.checks.filter((c) => !c.ok).map((c) => c.name),
      ['pushgateway'],
    );
  });

  test('a Pushgateway URL that is not ready or not a URL', async () => {
    // The API server answers /-/ready with an error (403 to an anonymous request, as a real one
    // does): something listens, but it is no Pushgateway.
    const server = cluster.local?.url;
    if (server) {
      const { check } = await doctorJson('--pushgateway', server);
      assert.match(check('pushgateway').detail, /answered HTTP 4\d\d/);
    }
    const { run, check } = await doctorJson('--pushgateway', 'pushgateway:9091');
    assert.equal(run.code, 1);
    assert.equal(check('pushgateway').ok, false);
  });

  test('an unwritable or missing snapshot directory: exit 1', async () => {
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const cases: [string, RegExp][] = [
      [path.join(file, 'snapshots'), /ENOTDIR/],
      [path.join(dir, 'missing'), /ENOENT/],
      [file, /is not a directory/],
    ];
    for (const [target, expected] of cases) {
      const { run, check } = await doctorJson('--snapshot-dir', target);
      assert.equal(run.code, 1, target);
      const snap = check('snapshot-dir');
      assert.equal(snap.ok, false);
      assert.match(snap.detail, expected);
      assert.match(snap.fix ?? '', /mount a writable volume/);
    }
  });

  test('an unreachable API server: exit 1 within seconds, RBAC not checked', async () => {
    const port = await freePort();
    const kubeconfig = path.join(dir, 'closed-kubeconfig');
    await writeClosedKubeconfig(kubeconfig, port);
    const started = performance.now();
    const run = await cli(['doctor', '--kubeconfig', kubeconfig, '--output', 'json', '--log-level', 'silent']);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(run.code, 1);
    assert.ok(seconds < 5, `${seconds} s`);
    const report = run.json<Report>();
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.ok]),
      [
        ['config', true],
        ['api', false],
      ],
    );
    assert.match(report.checks[1]?.detail ?? '', /cannot reach the API server at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    assert.match(report.checks[1]?.fix ?? '', /reachable/);
  });

  test('a bad kubeconfig is a problem, not a crash', async () => {
    const broken = path.join(dir, 'broken-kubeconfig');
    await writeFile(broken, 'clusters: [this is: not: valid yaml');
    const cases = [
      [broken, /cannot load kubeconfig/],
      [path.join(dir, 'no-such-kubeconfig'), /cannot load kubeconfig/],
    ] as const;
    for (const [kubeconfig, expected] of cases) {
      const run = await cli(['doctor', '--kubeconfig', kubeconfig, '--output', 'json', '--pushgateway', `http://127.0.0.1:${await freePort()}`]);
      assert.equal(run.code, 1, run.stderr);
      const report = run.json<Report>();
      assert.deepEqual(
        report.checks.map((c) => [c.name, c.ok]),
        [
          ['config', false],
          ['pushgateway', false],
        ],
        'the other checks still run',
      );
      assert.match(report.checks[0]?.detail ?? '', expected);
      assert.match(report.checks[0]?.fix ?? '', /--kubeconfig/);
    }
    const context = await cli(['doctor', '--kubeconfig', cluster.kubeconfig, '--context', 'nope', '--output', 'json']);
    assert.equal(context.code, 1);
    assert.match(context.json<Report>().checks[0]?.detail ?? '', /context "nope" is not in the kubeconfig/);
  });

  test('an unknown job is a usage error', async () => {
    const run = await doctor('--jobs', 'sweep,cleanup');
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--jobs: unknown job cleanup/);
  });

  test('requiredAccess: the union over the jobs, with who needs each verb', () => {
    const needs = requiredAccess(['sweep', 'snapshot']);
    assert.deepEqual(
      needs.map((n) => [n.resource, n.group, Object.fromEntries(n.verbs)]),
      [
        ['configmaps', '', { get: ['sweep'], list: ['sweep', 'snapshot'], patch: ['sweep'], delete: ['sweep'] }],
        ['leases', 'coordination.k8s.io', { get: ['every job'], create: ['every job'], update: ['every job'], delete: ['every job'] }],
        ['events', '', { create: ['every job'] }],
      ],
    );
  });
});
