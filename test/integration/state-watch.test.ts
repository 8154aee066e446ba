// StateManager.watch and `cmstate state watch` end to end: writes scripted in another process (a
// controller of its own, test/support/state-writer.ts) must each arrive exactly once and in order,
// also across a dropped connection and an expired resourceVersion (410), which only the embedded
// server can force. The rest runs against a real cluster too.

import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { KubeClient } from '../../src/kube/client.js';
import { StateManager } from '../../src/state/manager.js';
import type { StateChange } from '../../src/state/watch.js';
import { cli } from '../support/cli.js';
import { embeddedOnly, eventually, startTestCluster, type TestCluster } from '../support/cluster.js';
import type { Write } from '../support/state-writer.js';

let cluster: TestCluster;
let client: KubeClient;
let ns: string;
let writer: Writer;

before(async () => {
  cluster = await startTestCluster();
  client = cluster.client();
});
after(async () => {
  await cluster.close();
});
beforeEach(async () => {
  ns = await cluster.extraNamespace();
  writer?.stop();
  writer = new Writer(cluster.kubeconfig, ns);
});
after(() => writer?.stop());

/** The other process, one write at a time: each resolves once the write has landed. */
class Writer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers: AsyncIterator<string>;

  constructor(kubeconfig: string, namespace: string) {
    const script = path.resolve(import.meta.dirname, '../support/state-writer.ts');
    this.child = spawn(process.execPath, ['--import', 'tsx', script, kubeconfig, namespace], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.answers = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async write(...writes: Write[]): Promise<void> {
    for (const write of writes) {
      this.child.stdin.write(`${JSON.stringify(write)}\n`);
      const answer = await this.answers.next();
      assert.equal(answer.value, 'ok', `${JSON.stringify(write)}: ${String(answer.value)}`);
    }
  }

  stop(): void {
    this.child.kill();
  }
}

/** A change as a test reads it: one line per thing that happened (quiet fields left out). */
function describeChange(change: StateChange): string[] {
  if (change.type !== 'modified') return [`${change.type} ${change.taskId}`];
  return change.changes.flatMap((c) => {
    switch (c.field) {
      case 'iteration':
        return [`${change.taskId} iteration ${String(c.new)}`];
      case 'status':
        return [`${change.taskId} status ${String(c.new)}`];
      case 'feedback_history':
        return c.added.map((entry) => `${change.taskId} feedback ${entry.id}`);
      default:
        return [];
    }
  });
}

/**
 * Reads a watch into `log`. holdAt(n) holds it once it has n lines, before it asks for its next change: nothing more is
 * read from the connection then, as when a consumer is slow.
 */
class Consumer {
  readonly log: string[] = [];
  readonly recoveries: string[] = [];
  private readonly abort = new AbortController();
  private gate: Promise<void> = Promise.resolve();
  private openGate: () => void = () => undefined;
  /** The number of lines at which the consumer holds; Infinity: it never does. */
  private holdAtLines = Infinity;
  private readonly done: Promise<void>;
  /** Resolves once the watch has listed what exists: every later write arrives as a change. */
  readonly listed: Promise<void>;

  constructor(manager: StateManager) {
    let listed: () => void = () => undefined;
    this.listed = new Promise((resolve) => (listed = resolve));
    const changes = manager.watch({ signal: this.abort.signal, onRecover: (what) => this.recoveries.push(what), onListed: () => listed(), backoffMs: { initial: 50, max: 500 } });
    this.done = (async () => {
      for (;;) {
        if (this.log.length >= this.holdAtLines) await this.gate;
        const next = await changes.next();
        if (next.done) return;
        this.log.push(...describeChange(next.value));
      }
    })();
  }

  /** Holds once the log has `lines` lines (a count, not "after the next change": the watch and the writer's answers are not ordered). */
  holdAt(lines: number): void {
    this.holdAtLines = lines;
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }
  /** Lets the consumer go on. */
  open(): void {
    this.holdAtLines = Infinity;
    this.openGate();
  }
  async until(lines: number): Promise<void> {
    await eventually(`${lines} changes (have ${this.log.length}: ${this.log.join('; ')})`, async () => (this.log.length >= lines ? true : undefined), 15_000);
  }
  async stop(): Promise<void> {
    this.abort.abort();
    this.open();
    await this.done;
  }
}

describe('StateManager.watch', () => {
  test('writes from another process arrive exactly once and in order', async () => {
    const consumer = new Consumer(new StateManager({ client, namespace: ns }));
    // Once the watch has listed, every write below is a change after its snapshot.
    await consumer.listed;
    await writer.write(
      { op: 'init', id: 'a' },
      { op: 'incr', id: 'a' },
      { op: 'feedback', id: 'a', entry: 'f1' },
      { op: 'feedback', id: 'a', entry: 'f2' },
      { op: 'status', id: 'a', to: 'failed' },
      { op: 'incr', id: 'a' },
      { op: 'init', id: 'b' },
      { op: 'delete', id: 'b' },
    );
    const expected = ['added a', 'a iteration 1', 'a status in_progress', 'a feedback f1', 'a feedback f2', 'a status failed', 'a iteration 2', 'a status in_progress', 'added b', 'deleted b'];
    await consumer.until(expected.length);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await consumer.stop();
    assert.deepEqual(consumer.log, expected);
  });

  test('the states that exist come first as added (unless includeExisting is false); a selector and a task id narrow the watch', async () => {
    await writer.write({ op: 'init', id: 'old' }, { op: 'init', id: 'other' });
    const manager = new StateManager({ client, namespace: ns });
    const abort = new AbortController();
    const listed: Promise<void>[] = [];
    const onListed = () => {
      let done: () => void = () => undefined;
      listed.push(new Promise((resolve) => (done = resolve)));
      return () => done();
    };
    const seen: string[] = [];
    const all = (async () => {
      for await (const change of manager.watch({ signal: abort.signal, taskId: 'old', onListed: onListed() })) seen.push(...describeChange(change));
    })();
    const fresh: string[] = [];
    const onlyNew = (async () => {
      for await (const change of manager.watch({ signal: abort.signal, includeExisting: false, selector: 'cmstate.io/status=in_progress', onListed: onListed() }))
        fresh.push(...describeChange(change));
    })();
    await Promise.all(listed);
    await writer.write({ op: 'incr', id: 'other' }, { op: 'incr', id: 'old' });
    await eventually('both changes', async () => (seen.length >= 3 && fresh.length >= 2 ? true : undefined), 15_000);
    abort.abort();
    await Promise.all([all, onlyNew]);
    assert.deepEqual(seen, ['added old', 'old iteration 1', 'old status in_progress']);
    // Moving into the selection is an added (the watch had not seen it), as kubectl get -w shows it.
    assert.deepEqual(fresh, ['added other', 'added old']);
  });

  test('a malformed state comes through with findings, never a throw', async () => {
    const manager = new StateManager({ client, namespace: ns });
    const abort = new AbortController();
    const changes: StateChange[] = [];
    let listed: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (listed = resolve));
    const watching = (async () => {
      for await (const change of manager.watch({ signal: abort.signal, onListed: () => listed() })) changes.push(change);
    })();
    await ready;
    await writer.write({ op: 'init', id: 'broken' });
    const cm = await client.getConfigMap({ namespace: ns, name: 'task-broken-state' });
    await client.replaceConfigMap({ ...cm, data: { ...cm.data, iteration: 'three', status_history: '[{' } });
    await eventually('the broken write', async () => (changes.length >= 2 ? true : undefined), 15_000);
    abort.abort();
    await watching;
    const broken = changes[1]!;
    assert.equal(broken.type, 'modified');
    assert.equal(broken.state, undefined);
    assert.equal(broken.decoded?.task_id, 'broken');
    assert.ok(broken.findings.some((f) => f.key === 'data.iteration'));
    assert.deepEqual(
      broken.changes.map((c) => c.field),
      ['iteration', 'status_history'],
    );
  });

  test(...embeddedOnly('dropWatches, compactWatchHistory, request log', 'across a dropped connection and a 410 every write arrives exactly once, in order'), async () => {
    const local = cluster.local!;
    const consumer = new Consumer(new StateManager({ client, namespace: ns }));
    await consumer.listed;
    await writer.write({ op: 'init', id: 'a' }, { op: 'incr', id: 'a' });
    // Held at the 4th line (f1): the watch reads nothing while the connection drops and writes land.
    consumer.holdAt(4);
    await writer.write({ op: 'feedback', id: 'a', entry: 'f1' });
    await consumer.until(4);

    local.clearRequests();
    local.dropWatches();
    await writer.write({ op: 'feedback', id: 'a', entry: 'f2' }, { op: 'status', id: 'a', to: 'failed' }, { op: 'init', id: 'b' });
    consumer.open();
    await consumer.until(7);
    const resumed = local.requests.find((r) => r.query.get('watch') === 'true');
    assert.ok(resumed, 'watched again after the drop');
    assert.notEqual(resumed.query.get('resourceVersion'), '0', 'resumed from the last change, not from scratch');

    // Held again; this time the history is compacted before the watch resumes: 410, list again, diff.
    consumer.holdAt(9);
    await writer.write({ op: 'incr', id: 'a' });
    await consumer.until(9);
    local.dropWatches();
    await writer.write({ op: 'feedback', id: 'a', entry: 'f3' }, { op: 'feedback', id: 'a', entry: 'f4' }, { op: 'delete', id: 'b' }, { op: 'init', id: 'c' });
    local.compactWatchHistory();
    consumer.open();
    await consumer.until(13);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await consumer.stop();

    assert.deepEqual(consumer.log, [
      'added a',
      'a iteration 1',
      'a status in_progress',
      'a feedback f1',
      // after the dropped connection, watched again from the last change: each write on its own
      'a feedback f2',
      'a status failed',
      'added b',
      'a iteration 2',
      'a status in_progress',
      // after the 410, listed again: what changed since, once (a's writes together), then what is gone
      'a feedback f3',
      'a feedback f4',
      'added c',
      'deleted b',
    ]);
    assert.ok(consumer.recoveries.includes('relist'), consumer.recoveries.join(', '));
  });
});

describe('a slow consumer', () => {
  test(...embeddedOnly('request log', 'holds the stream instead of buffering: the server closes it, the watch resumes, every change arrives once'), async () => {
    const local = cluster.local!;
    const consumer = new Consumer(new StateManager({ client, namespace: ns }));
    await consumer.listed;
    await writer.write({ op: 'init', id: 'slow' });
    consumer.holdAt(2);
    await writer.write({ op: 'feedback', id: 'slow', entry: 'big', bytes: 150_000 });
    await consumer.until(2);
    local.clearRequests();
    // 200 changes of a 150 KB state while nobody reads: 30 MB, more than the socket buffers hold,
    // and more events than the server queues for one watcher (100).
    const entries = Array.from({ length: 200 }, (_, i) => `f${String(i).padStart(3, '0')}`);
    await writer.write(...entries.map((entry): Write => ({ op: 'feedback', id: 'slow', entry })));
    consumer.open();
    await consumer.until(2 + entries.length);
    await consumer.stop();
    assert.deepEqual(
      consumer.log.slice(2),
      entries.map((entry) => `slow feedback ${entry}`),
    );
    // The first watch lasts 300 s: a second one means the server closed the watcher that was held,
    // which it does only when the client stops reading (a client that buffered would have read on).
    const watches = local.requests.filter((r) => r.query.get('watch') === 'true');
    assert.ok(watches.length >= 1, 'watched again after the server closed the held stream');
  });
});

/** `cmstate state watch` in-process: `listed` once it has listed (its log says so), `lines` its output so far. */
function watchCommand(args: string[], signal: AbortSignal) {
  const lines: string[] = [];
  let listed: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (listed = resolve));
  const run = cli(['state', 'watch', '--kubeconfig', cluster.kubeconfig, ...args], {
    signal,
    onStdout: (line) => lines.push(line),
    onStderr: (text) => (text.includes('watching for changes') ? listed() : undefined),
  });
  const printed = (count: number) => eventually(`${count} lines from state watch ${args.join(' ')} (have ${lines.length})`, async () => (lines.length >= count ? true : undefined), 15_000);
  return { run, listed: ready, printed };
}

describe('cmstate state watch', () => {
  test('one line per change, or one JSON object per line with --output json, until interrupted', async () => {
    await writer.write({ op: 'init', id: 'seen' });
    const stop = new AbortController();
    const text = watchCommand(['-n', ns], stop.signal);
    const json = watchCommand(['seen', '-n', ns, '--output', 'json', '--no-existing'], stop.signal);
    await Promise.all([text.listed, json.listed]);
    await writer.write({ op: 'incr', id: 'seen' }, { op: 'feedback', id: 'seen', entry: 'f1' });
    await Promise.all([text.printed(3), json.printed(2)]);
    // A moment for anything told twice to show up.
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop.abort();
    const [textRun, jsonRun] = await Promise.all([text.run, json.run]);
    assert.equal(textRun.code, 0, textRun.stderr);
    assert.deepEqual(
      textRun.stdout.filter((l) => l.trim()),
      [
        `added    ${ns}/seen  pending, iteration 0/10, 0 feedback`,
        `modified ${ns}/seen  iteration 0→1, status pending→in_progress (iteration 1: next iteration)`,
        `modified ${ns}/seen  feedback +1 (f1 low)`,
      ],
    );
    assert.equal(jsonRun.code, 0, jsonRun.stderr);
    const changes = jsonRun.stdout.filter((l) => l.trim()).map((l) => JSON.parse(l) as StateChange);
    assert.deepEqual(
      changes.map((c) => [c.type, c.taskId, c.state?.iteration]),
      [
        ['modified', 'seen', 1],
        ['modified', 'seen', 1],
      ],
    );
    assert.deepEqual(
      changes[1]!.changes.find((c) => c.field === 'feedback_history'),
      { field: 'feedback_history', added: [changes[1]!.state!.feedback_history[0]] },
    );
  });

  test('-A watches every namespace; a bad task id is a usage error', async () => {
    const stop = new AbortController();
    // A task id of this run only: across the namespaces of a real cluster (earlier runs' included,
    // still being deleted), nothing else carries it.
    const id = `everywhere-${ns.slice(-8)}`;
    const all = watchCommand(['-A', '--no-existing', '-l', `cmstate.io/task-id=${id}`], stop.signal);
    await all.listed;
    await writer.write({ op: 'init', id });
    await all.printed(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop.abort();
    const run = await all.run;
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      run.stdout.filter((l) => l.trim()),
      [`added    ${ns}/${id}  pending, iteration 0/10, 0 feedback`],
    );

    const bad = await cli(['state', 'watch', 'Not_An_Id', '--kubeconfig', cluster.kubeconfig, '-n', ns]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /not a task id/);
  });
});
