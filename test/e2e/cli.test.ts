// The CLI as users and scripts run it: separate processes against the API server, exit codes,
// one-line errors, env var fallbacks, and the state operations racing across processes.

import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, cliProcess } from '../support/cli.js';
import { freePort, writeClosedKubeconfig } from '../support/ports.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { stateConfigMap } from '../support/states.js';

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster();
});
after(async () => cluster.close());

const base = () => ['--kubeconfig', cluster.kubeconfig, '-n', cluster.namespace];

describe('cmstate state (separate processes)', () => {
  test('concurrent `state incr` processes never lose an increment and stop at the maximum', async () => {
    assert.equal((await cliProcess(['state', 'init', 'proc-race', '--max-iterations', '100', ...base()])).code, 0);
    const runs = await Promise.all(Array.from({ length: 8 }, () => cliProcess(['state', 'incr', 'proc-race', ...base(), '--log-level', 'warn'])));
    assert.ok(
      runs.every((r) => r.code === 0),
      runs.map((r) => r.stderr).join('\n'),
    );
    const printed = runs.map((r) => Number(r.stdout.at(-1))).sort((a, b) => a - b);
    assert.deepEqual(
      printed,
      Array.from({ length: 8 }, (_, i) => i + 1),
      'each process printed a distinct new iteration',
    );

    assert.equal((await cliProcess(['state', 'init', 'proc-cap', '--max-iterations', '4', ...base()])).code, 0);
    const capped = await Promise.all(Array.from({ length: 7 }, () => cliProcess(['state', 'incr', 'proc-cap', ...base(), '--log-level', 'error'])));
    assert.equal(capped.filter((r) => r.code === 0).length, 4);
    const refused = capped.filter((r) => r.code === 3);
    assert.equal(refused.length, 3);
    assert.ok(refused.every((r) => /reached its maximum of 4 iterations/.test(r.stderr)));
    const got = await cliProcess(['state', 'get', 'proc-cap', ...base(), '--output', 'json']);
    assert.equal(got.code, 0);
    const state = got.json<{ task_id: string; iteration: number; status: string }>();
    assert.deepEqual([state.task_id, state.iteration, state.status], ['proc-cap', 4, 'max_iterations_reached']);
  });

  test('concurrent `feedback add` processes with retried ids keep exactly the distinct entries', async () => {
    assert.equal((await cliProcess(['state', 'init', 'proc-fb', ...base()])).code, 0);
    const ids = [...Array.from({ length: 7 }, (_, i) => `entry-${i}`), 'entry-1', 'entry-2'];
    const runs = await Promise.all(
      ids.map((id) =>
        cliProcess([
          'state',
          'feedback',
          'add',
          'proc-fb',
          '--entry-id',
          id,
          '--severity',
          'high',
          '--issue-type',
          'bug',
          '--author',
          'ci',
          '--description',
          `finding ${id}`,
          ...base(),
          '--log-level',
          'error',
        ]),
      ),
    );
    assert.ok(
      runs.every((r) => r.code === 0),
      runs.map((r) => r.stderr).join('\n'),
    );
    const list = await cliProcess(['state', 'feedback', 'list', 'proc-fb', '--limit', '4', ...base(), '--output', 'json']);
    const first = list.json<{ entries: { id: string }[]; next_cursor: string | null; total: number }>();
    assert.equal(first.total, 7);
    assert.equal(first.entries.length, 4);
    assert.ok(first.next_cursor);
    const rest = (await cliProcess(['state', 'feedback', 'list', 'proc-fb', '--limit', '4', '--cursor', first.next_cursor!, ...base(), '--output', 'json'])).json<{
      entries: { id: string }[];
      next_cursor: string | null;
    }>();
    assert.equal(rest.next_cursor, null);
    assert.deepEqual(new Set([...first.entries, ...rest.entries].map((e) => e.id)), new Set(ids));
  });

  test('status changes follow the machine: a forbidden one exits 3 and changes nothing', async () => {
    assert.equal((await cliProcess(['state', 'init', 'proc-status', ...base()])).code, 0);
    const forbidden = await cliProcess(['state', 'status', 'proc-status', 'succeeded', ...base()]);
    assert.equal(forbidden.code, 3);
    assert.match(forbidden.stderr, /cannot move task proc-status from pending to succeeded/);
    assert.equal((await cliProcess(['state', 'incr', 'proc-status', ...base()])).code, 0);
    const done = await cliProcess(['state', 'status', 'proc-status', 'succeeded', '--reason', 'green', ...base(), '--output', 'json']);
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.json<{ status: string }>().status, 'succeeded');
    const removed = await cliProcess(['state', 'delete', 'proc-status', ...base()]);
    assert.equal(removed.code, 0);
    const missing = await cliProcess(['state', 'get', 'proc-status', ...base()]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /task proc-status has no state in namespace/);
  });
});

describe('cmstate as a process: options, errors, output', () => {
  test('a sweep run prints the JSON summary as the last line and reads options from CMSTATE_* env vars', async () => {
    const client = cluster.client();
    await client.createConfigMap(stateConfigMap({ id: 'e2e-old', namespace: cluster.namespace, lastUpdate: '2026-11-01T00:00:00Z' }));
    const run = await cliProcess(['sweep', '--kubeconfig', cluster.kubeconfig, '--output', 'json'], {
      env: { CMSTATE_NAMESPACE: cluster.namespace, CMSTATE_NOW: '2026-11-20T00:00:00Z', CMSTATE_TTL: '7d', CMSTATE_TEST_UNRELATED: 'ignored' },
    });
    assert.equal(run.code, 0, run.stderr);
    const summary = run.json<Record<string, unknown>>();
    assert.deepEqual(Object.keys(summary), ['job', 'dry_run', 'observed', 'planned', 'applied', 'skipped', 'failed', 'duration_ms']);
    assert.equal((summary.applied as Record<string, number>).mark, 1);
    // Logs are JSON lines on stderr when it is not a terminal.
    assert.ok(
      run.stderr
        .split('\n')
        .filter(Boolean)
        .every((line) => JSON.parse(line).app === 'cmstate'),
    );
  });

  test('bad flags and values exit 2 with one line naming each option', async () => {
    const bad = await cliProcess(['sweep', '--ttl', 'soon', '--qps', '-1', '--status', 'done', ...base()]);
    assert.equal(bad.code, 2);
    const line = bad.stderr.trim().split('\n').at(-1)!;
    assert.match(line, /--qps/);
    assert.match(line, /--ttl: invalid duration \\"soon\\"/);
    assert.match(line, /--status/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');

    const unknown = await cliProcess(['sweep', '--tll', '7d', ...base()]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option: --tll/);

    const env = await cliProcess(['sweep', ...base()], { env: { CMSTATE_GRACE: 'a while' } });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /--grace: invalid duration \\"a while\\"/);

    const now = await cliProcess(['sweep', '--now', 'tomorrow', ...base()]);
    assert.equal(now.code, 2);
    assert.match(now.stderr, /--now: \\?"tomorrow\\?" is not an RFC 3339 timestamp/);

    // A page that could not hold one state at the object limit, from a flag or from the environment.
    const pageBytes = await cliProcess(['repair', '--dry-run', '--page-bytes', '64Ki', ...base()]);
    assert.equal(pageBytes.code, 2);
    assert.match(pageBytes.stderr, /--page-bytes: 64Ki is outside 1Mi to 1Gi/);
    const pageBytesEnv = await cliProcess(['snapshot', '--dir', '/tmp', ...base()], { env: { CMSTATE_PAGE_BYTES: '32 MB' } });
    assert.equal(pageBytesEnv.code, 2);
    assert.match(pageBytesEnv.stderr, /--page-bytes: \\"32 MB\\" is not a byte count: use a quantity like 32Mi, 1Gi or 33554432/);
  });

  test('a missing kubeconfig exits 2; an unreachable API server exits 1, each with one line', async () => {
    const missing = await cliProcess(['state', 'get', 'x', '--kubeconfig', '/nonexistent/kubeconfig']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot load kubeconfig \/nonexistent\/kubeconfig/);

    const dead = path.join(tmpdir(), `cmstate-dead-${process.pid}.kubeconfig`);
    const port = await freePort();
    await writeClosedKubeconfig(dead, port);
    const unreachable = await cliProcess(['state', 'get', 'x', '--kubeconfig', dead, '-n', 'default']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, new RegExp(`cannot reach the API server at http://127.0.0.1:${port} \\(ECONNREFUSED\\)`));
  });

  test('`cmstate demo` (npm start) runs every job against the embedded server and shows what it did', async () => {
    const run = await cli(['demo']);
    assert.equal(run.code, 0, run.stderr);
    const out = run.stdout.join('\n');
    // 305 task states and the archive of a corrupted one.
    assert.match(out, /sweep: observed 306 · planned mark 169.* applied mark 169/);
    assert.match(out, /applied mark 19, unmark 0, delete 169/);
    assert.match(out, /repair: observed \d+ · planned repair 6, quarantine 1, delete_orphan 1 · applied repair 6, quarantine 1, delete_orphan 1/);
    assert.match(out, /no findings/);
    assert.match(out, /created demo\/task-demo-0001-state/);
    assert.match(out, /cmstate_task_states_quarantined\{namespace="demo"\} 1/);
    assert.match(out, /cmstate_task_states_flapping\{namespace="demo"\} [1-9]/);
    assert.match(out, /cmstate_task_outcome_gave_up_ratio\{namespace="demo"\} 0\.\d+/);
  });

  test('`cmstate demo --pushgateway` with a bad URL is a usage error, before anything runs', async () => {
    const run = await cli(['demo', '--pushgateway', 'not a url']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--pushgateway: /);
    assert.deepEqual(run.stdout, []);
  });

  test('`cmstate schema` prints the JSON Schema of the wire format', async () => {
    const run = await cliProcess(['schema']);
    assert.equal(run.code, 0);
    const schema = JSON.parse(run.stdout.join('\n')) as { $defs: Record<string, { properties?: Record<string, unknown> }> };
    assert.ok(schema.$defs.TaskState?.properties?.max_iterations);
    assert.ok(schema.$defs.FeedbackEntry?.properties?.issue_type);
  });
});
