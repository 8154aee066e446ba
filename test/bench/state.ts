// Issues 3 and 14: incrementIteration throughput and latency with 1, 5 and 20 concurrent
// writers, all on one task (every writer contends for one ConfigMap) or each on its own task.
// Each writer has its own KubeClient and StateManager, as separate controllers would. Runs on the
// embedded API server (a process of its own) or, with `--kubeconfig`, on an existing cluster, in
// a namespace of its own that it deletes at the end (cluster.ts).

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import type { ConfigMap } from '../../src/kube/types.js';
import { createLogger } from '../../src/log.js';
import { StateManager } from '../../src/state/manager.js';
import { openBenchCluster } from './cluster.js';
import { percentile, type BenchOptions, type BenchSection, type Cell } from './table.js';

const WRITER_COUNTS = [1, 5, 20] as const;
/**
 * The embedded server applies a write at once; kube-apiserver waits for etcd's commit, most of
 * the ~11 ms one increment takes on a v1.32 cluster. Without it the window in which a racing
 * writer conflicts would be a few times narrower than on a cluster, and so would the contention.
 * On the embedded server each replace waits this long before it is sent (on a cluster: never).
 */
const EMBEDDED_COMMIT_LATENCY_MS = 8;

interface Target {
  p99Ms: number;
  maxMs?: number;
}

/** Issue 14's targets on one task; elsewhere the seeds' "every state operation under one second". */
function targetOf(writers: number, sharedTask: boolean): Target {
  if (sharedTask && writers === 20) return { p99Ms: 1000, maxMs: 2000 };
  if (sharedTask && writers === 5) return { p99Ms: 300 };
  return { p99Ms: 1000 };
}

const describeTarget = (t: Target) => `p99 < ${t.p99Ms} ms${t.maxMs === undefined ? '' : `, max < ${t.maxMs} ms`}`;

interface ScenarioResult {
  seconds: number;
  latenciesMs: number[];
  /** Read-modify-write rounds per increment (1: no conflict). */
  attempts: number[];
}

/** A KubeClient whose replaces reach the server `commitLatencyMs` late, as if waiting for etcd. */
class CommitLatencyClient extends KubeClient {
  constructor(
    kubeConfig: KubeConfig,
    private readonly commitLatencyMs: number,
  ) {
    super(kubeConfig, { qps: 1_000_000 });
  }

  override async replaceConfigMap(cm: ConfigMap, signal?: AbortSignal): Promise<ConfigMap> {
    if (this.commitLatencyMs > 0) await sleep(this.commitLatencyMs);
    return super.replaceConfigMap(cm, signal);
  }
}

/** A logger that keeps the `attempts` of each StateManager log line. */
function attemptsRecorder(into: number[]) {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        const entry = JSON.parse(line) as { op?: string; attempts?: number };
        if (entry.op === 'incrementIteration' && typeof entry.attempts === 'number') into.push(entry.attempts);
      }
      done();
    },
  });
  return createLogger('info', { destination: sink, pretty: false });
}

interface Where {
  kubeConfig: KubeConfig;
  namespace: string;
  commitLatencyMs: number;
}

async function scenario(where: Where, writers: number, sharedTask: boolean, increments: number, label: string): Promise<ScenarioResult> {
  const perWriter = Math.ceil(increments / writers);
  const taskIds = Array.from({ length: writers }, (_, w) => (sharedTask ? `${label}-shared` : `${label}-w${w}`));
  const manager = (log?: ReturnType<typeof attemptsRecorder>) => new StateManager({ client: new CommitLatencyClient(where.kubeConfig, where.commitLatencyMs), namespace: where.namespace, log });
  const setup = manager();
  for (const id of new Set(taskIds)) await setup.getOrCreate(id, { maxIterations: perWriter * writers + 10 });

  const latenciesMs: number[] = [];
  const attempts: number[] = [];
  const started = performance.now();
  await Promise.all(
    taskIds.map(async (taskId) => {
      const writer = manager(attemptsRecorder(attempts));
      for (let i = 0; i < perWriter; i++) {
        const t0 = performance.now();
        await writer.incrementIteration(taskId);
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;

  // An increment lost to a race would show here: the counts must add up exactly.
  for (const id of new Set(taskIds)) {
    const expected = sharedTask ? perWriter * writers : perWriter;
    const { iteration } = await setup.get(id);
    if (iteration !== expected) throw new Error(`task ${id} ended at iteration ${iteration}, expected ${expected}: increments were lost`);
  }
  return { seconds, latenciesMs, attempts };
}

export async function benchState(options: BenchOptions): Promise<BenchSection> {
  const increments = options.scale === 'full' ? 1000 : 100;
  const cluster = await openBenchCluster(options.kubeconfig);
  try {
    const namespace = `cmstate-bench-state-${randomBytes(4).toString('hex')}`;
    await cluster.createNamespace(namespace);
    const where: Where = {
      kubeConfig: loadKubeConfig({ kubeconfig: cluster.kubeconfig }).kubeConfig,
      namespace,
      commitLatencyMs: options.kubeconfig === undefined ? EMBEDDED_COMMIT_LATENCY_MS : 0,
    };
    // Untimed: the first requests pay for JIT and connection set-up in both processes.
    await scenario(where, 5, false, 50, 'warmup');
    const rows: Cell[][] = [];
    const misses: string[] = [];
    for (const sharedTask of [true, false]) {
      for (const writers of WRITER_COUNTS) {
        const on = sharedTask ? 'one task' : 'different tasks';
        options.progress(`state: ${increments} increments, ${writers} writers on ${on}`);
        const r = await scenario(where, writers, sharedTask, increments, `${sharedTask ? 'one' : 'many'}-${writers}`);
        const p99 = percentile(r.latenciesMs, 99);
        const max = Math.max(...r.latenciesMs);
        const target = targetOf(writers, sharedTask);
        const met = p99 < target.p99Ms && (target.maxMs === undefined || max < target.maxMs);
        if (!met) misses.push(`${writers} writers on ${on}`);
        const meanAttempts = r.attempts.reduce((a, b) => a + b, 0) / Math.max(1, r.attempts.length);
        rows.push([on, writers, r.latenciesMs.length, r.latenciesMs.length / r.seconds, percentile(r.latenciesMs, 50), p99, max, meanAttempts, describeTarget(target), met ? 'pass' : 'FAIL']);
      }
    }
    return {
      title: `StateManager.incrementIteration (issues 3, 14): ${increments} increments per case`,
      columns: ['target', 'writers', 'increments', 'increments/s', 'p50 ms', 'p99 ms', 'max ms', 'rounds/op', 'goal', 'verdict'],
      rows,
      notes: [
        `Each writer: its own KubeClient (no rate limit) and StateManager, incrementing in a loop; API server: ${cluster.description}.`,
        options.kubeconfig === undefined
          ? `Each replace is sent ${EMBEDDED_COMMIT_LATENCY_MS} ms late, standing for etcd's commit, which the embedded server does not wait for (one increment takes ~11 ms on a v1.32 cluster).`
          : 'No latency added: the cluster has its own.',
        'Latency is per incrementIteration call, conflict retries included; rounds/op = read-modify-write rounds per increment (1 = no conflict).',
        'Every case checks the final iteration equals the increments made (none lost).',
        'Goals: issue 14 on one task (20 writers p99 < 1 s and max < 2 s; 5 writers p99 < 300 ms); otherwise the seeds\' "every state operation under one second" (p99).',
        misses.length === 0 ? 'Every goal met.' : `Goals NOT met: ${misses.join('; ')}.`,
      ],
      failed: misses.length > 0,
    };
  } finally {
    await cluster.close();
  }
}
