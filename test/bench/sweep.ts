// Issue 4's figure: `cmstate sweep` as a separate process against 10k and 50k state ConfigMaps,
// and, on an identical reseeded server, the same deletion the way operators do it without
// cmstate: kubectl get -o json | jq | xargs kubectl delete. Both delete the same 20%.
//
// Issue 14's figures ("at the pace you ask for"), each on an identical reseeded server too: a raw
// baseline (raw-sweep.ts: @kubernetes/client-node listing metadata and deleting 32 at a time, no
// limit), `cmstate sweep --qps 0` against it (target: >= 70% of its rate), `--qps 200` against
// what it asked for (>= 90% after the burst), and requests per deleted object from the server's
// request log (target <= 1.05). With --kubeconfig these run on that cluster, in namespaces of the
// bench's own; the kubectl and memory rows need the embedded server and are skipped there.
//
// cmstate runs as the image runs it: compiled, inside a memory cgroup with the chart's limit for
// the sweep (see cmstate-process.ts), and once more without any limit, for comparison.
//
// What is measured: ONE sweep run that deletes. The expired 20% were already marked by an earlier
// run (label cmstate.io/sweep=marked, cmstate.io/marked-at two days ago, past the 24 h grace), so
// this run observes everything and deletes them; the pipeline and the raw client delete the same
// objects by their cmstate.io/last-update annotation. The 80% are fresh and untouched by all.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { runBounded } from '../../src/job/executor.js';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { ANNOTATION_LAST_UPDATE, ANNOTATION_MARKED_AT, LABEL_SWEEP, SWEEP_VALUE_MARKED, TASK_SELECTOR } from '../../src/state/labels.js';
import type { JobSummary } from '../../src/metrics/summary.js';
import { feedbackEntries, stateConfigMap } from '../support/states.js';
import { builtCli, chartMemoryLimit, MemoryCgroup, type MemoryLimit } from './cmstate-process.js';
import { openBenchCluster } from './cluster.js';
import { measure } from './measure.js';
import { rawSweepCommand, type RawSweepResult } from './raw-sweep.js';
import { startServerProcess, writeSeedFile, type RequestCounts } from './server-process.js';
import { mib, type BenchOptions, type BenchSection, type Cell } from './table.js';

const NAMESPACE = 'bench-sweep';
const DAY_MS = 24 * 3600 * 1000;
const TTL_MS = 7 * DAY_MS;
/** Every 5th state is expired (20%); every 100th is near the size limit (1%). */
const EXPIRED_EVERY = 5;
const BIG_EVERY = 100;
const SPEED_TARGET = 5;
const RSS_GROWTH_TARGET = 1.3;
/** Deletes in flight, for cmstate (--concurrency) and the raw client alike. */
const CONCURRENCY = 32;
/**
 * The rate the paced row asks for, and what it must deliver of it. Small enough at each scale
 * that the run outlasts its burst (ceil(Q) requests pass at once) several times over.
 */
const PACED_QPS = { small: 50, full: 200 } as const;
const PACE_TARGET = 0.9;
/** cmstate --qps 0 against the raw client, in deleted objects per second. */
const RAW_RATIO_TARGET = 0.7;
const REQUESTS_PER_DELETE_TARGET = 1.05;
/** Creates in flight when seeding a cluster. */
const SEED_CONCURRENCY = 16;
/** Set to run the kubectl rows at full scale too (the serial pipeline takes over an hour there). */
const KUBECTL_ENV = 'CMSTATE_BENCH_KUBECTL';

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * State `index` of the data set; the first N of a larger set are a set of N with the same mix.
 * Most carry 3-22 plain feedback entries (1-8 KiB); the big ones ~300 entries of random text,
 * which gzip barely shrinks, so their compressed feedback is ~870 KiB (binaryData, ~1.16 MB base64
 * on the wire), just under the 900 KiB budget and near the API's 1 MiB limit.
 */
export function sweepState(index: number, nowMs: number, namespace = NAMESPACE) {
  const id = `sweep-${String(index).padStart(6, '0')}`;
  const expired = index % EXPIRED_EVERY === 0;
  const big = index % BIG_EVERY === 37;
  const lastUpdate = expired ? nowMs - 10 * DAY_MS - (index % 48) * 3600_000 : nowMs - (index % 144) * 3600_000;
  const feedback = big
    ? feedbackEntries(290, { descriptionBytes: 0 }).map((e) => ({ ...e, description: randomBytes(3000).toString('base64') }))
    : feedbackEntries(3 + (index % 20), { descriptionBytes: 150 + (index % 7) * 20 });
  return stateConfigMap({
    id,
    namespace,
    lastUpdate: iso(lastUpdate),
    iteration: 1 + (index % 5),
    feedback,
    ...(expired ? { labels: { [LABEL_SWEEP]: SWEEP_VALUE_MARKED }, annotations: { [ANNOTATION_MARKED_AT]: iso(nowMs - 2 * DAY_MS) } } : {}),
  });
}

const TOOLS = {
  raw: 'raw client-node, 32 deletes in flight',
  fast: 'cmstate sweep --qps 0',
  paced: 'cmstate sweep --qps Q',
  cmstate: 'cmstate sweep --qps 1000',
  unlimited: '  same, no memory limit',
  pipeline: 'kubectl | jq | xargs kubectl delete',
  parallel: '  same, xargs -n 50 -P 32',
} as const;
type Tool = keyof typeof TOOLS;

interface RunResult {
  tool: Tool;
  /** cmstate's --qps. */
  qps?: number;
  objects: number;
  deleted: number;
  wallSeconds: number;
  /** The sweep's own duration_ms (no process start-up); the raw client's list-to-last-delete. */
  jobSeconds?: number;
  maxRssKiB?: number;
  cgroupPeakBytes?: number;
  /** The server's request log; undefined on a cluster (the raw client counts its own). */
  requests?: RequestCounts;
  /** The machine's 1-minute load average before and after the run. */
  load?: [number, number];
}

/** A freshly seeded namespace for one run: on the embedded server (its own process) or on a cluster. */
interface Arena {
  kubeconfig: string;
  namespace: string;
  /** Requests since the last reset, from the server's log; undefined on a cluster. */
  requests(): Promise<RequestCounts | undefined>;
  resetRequests(): Promise<void>;
  dispose(): Promise<void>;
}

/** What is left must be exactly the fresh states: nothing expired survives, nothing fresh is gone. */
async function checkRemaining(arena: Arena, objects: number, cutoffMs: number, tool: string): Promise<void> {
  const client = new KubeClient(loadKubeConfig({ kubeconfig: arena.kubeconfig }).kubeConfig, { qps: 0 });
  let remaining = 0;
  for await (const page of client.listConfigMapMetadataPages({ namespace: arena.namespace, labelSelector: TASK_SELECTOR })) {
    for (const item of page) {
      remaining++;
      const lastUpdate = Date.parse(item.metadata.annotations?.[ANNOTATION_LAST_UPDATE] ?? '');
      if (!(lastUpdate >= cutoffMs)) throw new Error(`${tool} left the expired state ${item.metadata.name}`);
    }
  }
  const expected = objects - Math.ceil(objects / EXPIRED_EVERY);
  if (remaining !== expected) throw new Error(`${tool} left ${remaining} states, expected ${expected}`);
}

/** `cmstate sweep`, compiled; in a memory cgroup with the chart's limit when `limit` is given. */
async function runSweep(arena: Arena, tool: Tool, qps: number, objects: number, now: string, dir: string, limit: MemoryLimit | undefined): Promise<RunResult> {
  const args = [builtCli(), 'sweep', '--kubeconfig', arena.kubeconfig, '-n', arena.namespace, '--qps', String(qps), '--concurrency', String(CONCURRENCY), '--output', 'json', '--now', now];
  const cgroup = limit && (await MemoryCgroup.create(`cmstate-bench-sweep-${objects}`, limit.bytes));
  if (typeof cgroup === 'string') throw new Error(`${cgroup} (run the sweep benchmark as root)`);
  await arena.resetRequests();
  try {
    const run = await measure(process.execPath, args, process.env, dir, true, cgroup);
    const requests = await arena.requests();
    if (run.code !== 0) {
      const memory = limit && run.cgroupPeakBytes !== undefined ? ` (memory: ${mib(run.cgroupPeakBytes).toFixed(0)} MiB of the ${limit.quantity} limit)` : '';
      throw new Error(`cmstate sweep exited ${run.code}${memory}: ${run.stderrTail.trim().split('\n').slice(-5).join('\n')}`);
    }
    const summary = JSON.parse(run.lastLine) as JobSummary;
    if (summary.failed !== 0 || summary.observed !== objects) throw new Error(`cmstate sweep observed ${summary.observed} of ${objects}, failed ${summary.failed}`);
    const { wallSeconds, maxRssKiB, cgroupPeakBytes } = run;
    return { tool, qps, objects, deleted: summary.applied['delete'] ?? 0, wallSeconds, maxRssKiB, cgroupPeakBytes, requests, jobSeconds: summary.duration_ms / 1000 };
  } finally {
    if (cgroup) await cgroup.remove();
  }
}

/** The raw client as a fresh process; its time is list to last delete, like the sweep's duration_ms. */
async function runRaw(arena: Arena, objects: number, cutoffMs: number, dir: string): Promise<RunResult> {
  await arena.resetRequests();
  const run = await measure(process.execPath, rawSweepCommand(arena.kubeconfig, arena.namespace, cutoffMs, CONCURRENCY), process.env, dir, true);
  if (run.code !== 0) throw new Error(`the raw client exited ${run.code}: ${run.stderrTail.trim().split('\n').slice(-5).join('\n')}`);
  const raw = JSON.parse(run.lastLine) as RawSweepResult;
  const requests = (await arena.requests()) ?? { total: raw.requests.lists + raw.requests.deletes, byKind: { 'list configmaps': raw.requests.lists, 'delete configmaps': raw.requests.deletes } };
  return { tool: 'raw', objects, deleted: raw.deleted, wallSeconds: run.wallSeconds, jobSeconds: raw.seconds, maxRssKiB: run.maxRssKiB, requests };
}

/**
 * The operator's way: the brief's pipeline, or (parallel) the same with xargs running 32 kubectl
 * deletes at once. kubectl throttles itself (client-go's default 5 requests/s after a burst of
 * 10, per process), so parallel processes are how an operator would go faster.
 */
async function runPipeline(arena: Arena, objects: number, cutoffMs: number, dir: string, parallel: boolean): Promise<RunResult> {
  const xargs = parallel ? 'xargs -r -n 50 -P 32' : 'xargs -r -n 200';
  const filter = `.items[] | select((.metadata.annotations["${ANNOTATION_LAST_UPDATE}"] | fromdateiso8601) < $cutoff) | .metadata.name`;
  const script = `set -o pipefail; kubectl get cm -n ${arena.namespace} -l ${TASK_SELECTOR} -o json | jq -r --argjson cutoff ${Math.floor(cutoffMs / 1000)} '${filter}' | ${xargs} kubectl delete cm -n ${arena.namespace}`;
  await arena.resetRequests();
  const run = await measure('bash', ['-c', script], { ...process.env, KUBECONFIG: arena.kubeconfig }, dir, false);
  const requests = await arena.requests();
  if (run.code !== 0) throw new Error(`the kubectl pipeline exited ${run.code}: ${run.stderrTail.trim().split('\n').slice(-5).join('\n')}`);
  // kubectl delete prints one `configmap "name" deleted` line per object.
  return { tool: parallel ? 'parallel' : 'pipeline', objects, deleted: run.stdoutLines, wallSeconds: run.wallSeconds, maxRssKiB: run.maxRssKiB, requests };
}

function requestSummary(counts: RequestCounts | undefined): string {
  if (!counts) return 'n/a (no server request log on a cluster)';
  return Object.entries(counts.byKind)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
}

/** Arenas on the embedded server: a server process of its own per run, seeded from one NDJSON file. */
function embeddedArenas(seedFile: string, dir: string) {
  return async (objects: number, tool: Tool): Promise<Arena> => {
    const kubeconfig = path.join(dir, `kubeconfig-${objects}-${tool}`);
    const server = await startServerProcess({ namespace: NAMESPACE, kubeconfig, seedFile, seedLimit: objects });
    if (server.seeded !== objects) {
      await server.stop();
      throw new Error(`seeded ${server.seeded} states, expected ${objects}`);
    }
    return { kubeconfig, namespace: NAMESPACE, requests: () => server.requests(), resetRequests: () => server.resetRequests(), dispose: () => server.stop() };
  };
}

export async function benchSweep(options: BenchOptions): Promise<BenchSection> {
  const sizes = options.scale === 'full' ? [10_000, 50_000] : [500, 1_000];
  const largest = Math.max(...sizes);
  const nowMs = Math.floor(Date.now() / 1000) * 1000;
  const now = iso(nowMs);
  const cutoffMs = nowMs - TTL_MS;
  const onCluster = options.kubeconfig !== undefined;
  const pacedQps = PACED_QPS[options.scale];
  const qpsOf: Partial<Record<Tool, number>> = { fast: 0, paced: pacedQps, cmstate: 1000, unlimited: 1000 };
  const withKubectl = !onCluster && (options.scale === 'small' || Boolean(process.env[KUBECTL_ENV]));
  const tools: Tool[] = ['raw', 'fast', 'paced', ...(onCluster ? [] : (['cmstate', 'unlimited'] as Tool[])), ...(withKubectl ? (['pipeline', 'parallel'] as Tool[]) : [])];
  const dir = await mkdtemp(path.join(tmpdir(), 'cmstate-bench-sweep-'));
  const cluster = onCluster ? await openBenchCluster(options.kubeconfig) : undefined;
  try {
    let seedBytes: Record<number, number> = {};
    let arenaFor: (objects: number, tool: Tool) => Promise<Arena>;
    if (cluster) {
      arenaFor = async (objects, tool) => {
        const namespace = `cmstate-bench-sweep-${randomBytes(4).toString('hex')}`;
        await cluster.createNamespace(namespace);
        options.progress(`sweep: seeding ${objects} states into ${namespace} for ${tool}`);
        await runBounded(
          Array.from({ length: objects }, (_, i) => i),
          SEED_CONCURRENCY,
          async (index) => {
            await cluster.client.createConfigMap(sweepState(index, nowMs, namespace));
          },
        );
        return { kubeconfig: cluster.kubeconfig, namespace, requests: async () => undefined, resetRequests: async () => undefined, dispose: () => cluster.deleteNamespaces() };
      };
    } else {
      const seedFile = path.join(dir, 'states.ndjson');
      options.progress(`sweep: generating ${largest} state ConfigMaps with the real codec`);
      const lineBytes = await writeSeedFile(seedFile, largest, (i) => sweepState(i, nowMs));
      seedBytes = Object.fromEntries(sizes.map((n) => [n, lineBytes.slice(0, n).reduce((a, b) => a + b, 0)]));
      arenaFor = embeddedArenas(seedFile, dir);
    }
    options.progress('sweep: compiling the CLI');
    builtCli();
    const limit = await chartMemoryLimit('sweep');
    const results: RunResult[] = [];
    for (const objects of sizes) {
      for (const tool of tools) {
        if (!cluster) options.progress(`sweep: seeding ${objects} states for ${tool}`);
        const arena = await arenaFor(objects, tool);
        try {
          options.progress(`sweep: ${tool} over ${objects} states`);
          const load = os.loadavg()[0] as number;
          let result: RunResult;
          if (tool === 'raw') result = await runRaw(arena, objects, cutoffMs, dir);
          else if (tool === 'pipeline' || tool === 'parallel') result = await runPipeline(arena, objects, cutoffMs, dir, tool === 'parallel');
          else result = await runSweep(arena, tool, qpsOf[tool] as number, objects, now, dir, tool === 'unlimited' ? undefined : limit);
          result.load = [load, os.loadavg()[0] as number];
          await checkRemaining(arena, objects, cutoffMs, TOOLS[tool]);
          results.push(result);
        } finally {
          await arena.dispose();
        }
      }
    }
    return report({ results, sizes, seedBytes, limit, where: cluster?.description, withKubectl, pacedQps });
  } finally {
    await cluster?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const perSecond = (count: number, r: RunResult) => count / (r.jobSeconds ?? r.wallSeconds);
const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
const pct = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;

interface Report {
  results: RunResult[];
  sizes: number[];
  seedBytes: Record<number, number>;
  limit: MemoryLimit;
  /** The cluster's description; undefined on the embedded server. */
  where: string | undefined;
  withKubectl: boolean;
  pacedQps: number;
}

function report({ results, sizes, seedBytes, limit, where, withKubectl, pacedQps: Q }: Report): BenchSection {
  const rows: Cell[][] = results.map((r) => [
    r.tool === 'paced' ? `cmstate sweep --qps ${r.qps}` : TOOLS[r.tool],
    r.objects,
    r.deleted,
    r.wallSeconds,
    r.jobSeconds ?? '-',
    perSecond(r.deleted, r),
    r.requests?.total ?? 'n/a',
    r.requests ? r.requests.total / r.deleted : 'n/a',
    r.requests ? perSecond(r.requests.total, r) : 'n/a',
    r.maxRssKiB === undefined ? 'n/a' : r.maxRssKiB / 1024,
    r.cgroupPeakBytes === undefined ? '-' : mib(r.cgroupPeakBytes),
    r.load ? `${r.load[0].toFixed(1)}-${r.load[1].toFixed(1)}` : '-',
  ]);
  const notes: string[] = [];
  const find = (tool: Tool, objects: number) => results.find((r) => r.tool === tool && r.objects === objects);
  for (const objects of sizes) {
    const at = objects.toLocaleString('en-US');
    const raw = find('raw', objects) as RunResult;
    const fast = find('fast', objects) as RunResult;
    const paced = find('paced', objects) as RunResult;
    const ratio = perSecond(fast.deleted, fast) / perSecond(raw.deleted, raw);
    notes.push(
      `${at} states: cmstate --qps 0 deletes ${perSecond(fast.deleted, fast).toFixed(0)}/s, the raw client ${perSecond(raw.deleted, raw).toFixed(0)}/s: ${pct(ratio)} of the raw rate (target >= ${pct(RAW_RATIO_TARGET)}: ${verdict(ratio >= RAW_RATIO_TARGET)}).`,
    );
    if (fast.requests) {
      const events = fast.requests.byKind['create events'] ?? 0;
      const perDelete = fast.requests.total / fast.deleted;
      const withoutEvents = (fast.requests.total - events) / fast.deleted;
      notes.push(
        `${at} states: cmstate sends ${perDelete.toFixed(3)} requests per deleted object (target <= ${REQUESTS_PER_DELETE_TARGET}: ${verdict(perDelete <= REQUESTS_PER_DELETE_TARGET)}); without its Events (${events}) ${withoutEvents.toFixed(3)} (${verdict(withoutEvents <= REQUESTS_PER_DELETE_TARGET)}); the raw client ${((raw.requests?.total ?? NaN) / raw.deleted).toFixed(3)}. cmstate: ${requestSummary(fast.requests)}; raw: ${requestSummary(raw.requests)}.`,
      );
      // The runner gives --qps Q a burst of ceil(Q): the first Q requests pass at once.
      const achieved = perSecond(paced.requests?.total ?? NaN, paced) / Q;
      const afterBurst = ((paced.requests?.total ?? NaN) - Q) / (paced.jobSeconds ?? NaN) / Q;
      notes.push(
        `${at} states: --qps ${Q} achieved ${(achieved * Q).toFixed(0)} requests/s over the run (${pct(achieved)} of ${Q}, its burst of ${Q} included), ${(afterBurst * Q).toFixed(0)}/s after the burst (${pct(afterBurst)}; target >= ${pct(PACE_TARGET)}: ${verdict(afterBurst >= PACE_TARGET)}).`,
      );
    } else {
      notes.push(
        `${at} states: requests per deleted object and the --qps ${Q} request rate need the embedded server's request log: n/a on a cluster; --qps ${Q} deleted ${perSecond(paced.deleted, paced).toFixed(0)} objects/s.`,
      );
    }
    const sweep = find('cmstate', objects);
    const pipeline = find('pipeline', objects);
    const parallel = find('parallel', objects);
    if (sweep && pipeline && parallel) {
      const speed = pipeline.wallSeconds / sweep.wallSeconds;
      notes.push(
        `${at} states (${mib(seedBytes[objects] ?? 0).toFixed(0)} MiB as JSON): pipeline / cmstate wall time = ${speed.toFixed(1)}x (target >= ${SPEED_TARGET}x: ${verdict(speed >= SPEED_TARGET)}); parallel pipeline / cmstate = ${(parallel.wallSeconds / sweep.wallSeconds).toFixed(1)}x.`,
        `requests at ${at}: cmstate --qps 1000 ${requestSummary(sweep.requests)}; pipeline ${requestSummary(pipeline.requests)}.`,
      );
    }
  }
  const [small, large] = sizes as [number, number];
  const growth = (tool: Tool) => {
    const [a, b] = [find(tool, small)?.maxRssKiB, find(tool, large)?.maxRssKiB];
    return a === undefined || b === undefined ? undefined : b / a;
  };
  const limited = growth('cmstate');
  const unlimited = growth('unlimited');
  if (limited !== undefined) {
    notes.push(
      `cmstate peak RSS at ${large.toLocaleString('en-US')} / at ${small.toLocaleString('en-US')} = ${limited.toFixed(2)}x under the chart's ${limit.quantity} limit (target <= ${RSS_GROWTH_TARGET}x: ${verdict(limited <= RSS_GROWTH_TARGET)})` +
        (unlimited === undefined ? '.' : `; ${unlimited.toFixed(2)}x without a limit.`),
    );
  }
  notes.push(
    `Every row on a freshly seeded ${where ? `namespace of ${where}` : 'embedded API server (a process of its own)'}. One sweep run that deletes: the expired 20% were marked by an earlier run (marked-at 2 days ago, grace 24 h); --now pins the clock, default --ttl 7d. The raw client and the pipeline select the same 20% by cmstate.io/last-update < now - 7d.`,
    `The raw client (test/bench/raw-sweep.ts): @kubernetes/client-node in a process of its own (run by tsx, which compiles only that file; the client is plain JS), metadata-only list pages of 500, then ${CONCURRENCY} plain DELETEs in flight, one shared connection pool, no rate limit, preconditions, retries, Events or lock; it sends through client-node's own fetch(), cmstate through undici's request() (src/kube/transport.ts) with the same client-node building each request and parsing each answer. Its "job s" is list to last delete (its wall time adds tsx's start-up); cmstate's is its summary's duration_ms (lease, both passes, Events; not process start-up). "deleted/s" and "req/s" divide by "job s".`,
    `cmstate rows: --concurrency ${CONCURRENCY}, compiled (tsconfig.build.json, as in the image), in a memory cgroup limited to jobs.sweep.resources.limits.memory of the chart (${limit.quantity}) but for "no memory limit": Node sizes its heap from that limit, as in the pod. "cgroup MiB": the most memory the kernel charged to that cgroup. The "no memory limit" row is the same run on the bare machine, where V8 sizes its heap from all of its memory and collects lazily: its peak RSS is mostly garbage not yet collected.`,
    `The paced row asks for --qps ${Q} (${Object.entries(PACED_QPS)
      .map(([scale, q]) => `${q} at --scale ${scale}`)
      .join(', ')}: runs several times longer than the burst). --qps Q gives a burst of ceil(Q) (src/job/runner.ts): "after the burst" is (requests - Q) / job s.`,
    "Wall time: spawn to exit, process start-up included. Peak RSS: GNU time %M (for the pipeline, its largest process). Requests: the server's request log, reset before each run.",
    'cmstate lists the metadata once here: pass 1 plans and counts for the circuit breaker and keeps the plan (it fits in half of --page-bytes), pass 2 acts on it; a larger plan would be listed again and acted on page by page. It sends its Events and takes/releases its Lease; the pipeline sends neither, but kubectl delete GETs each object afterwards (--wait, its default). Every run is checked afterwards: exactly the expired states are gone.',
  );
  if (withKubectl) {
    notes.push(
      'kubectl throttles itself to 5 requests/s after a burst of 10 (client-go defaults, per process): most of the pipeline\'s time. "load": the machine\'s 1-minute load average before-after the run (other work on the machine slows every figure).',
    );
  } else {
    notes.push(
      where
        ? 'The kubectl pipeline and the memory rows run on the embedded server only: skipped on a cluster.'
        : `The kubectl pipeline rows were skipped: at full scale the serial pipeline takes over an hour; set ${KUBECTL_ENV}=1 to run them.`,
    );
  }
  notes.push('1% of the states carry ~870 KiB of gzip feedback (random text), the rest 1-8 KiB plain; 2-core machine shared by server and client.');
  return {
    title: 'TTL sweep: raw client, --qps, kubectl pipeline (issues 4 and 14)',
    columns: ['tool', 'states', 'deleted', 'wall s', 'job s', 'deleted/s', 'API requests', 'req/deleted', 'req/s', 'peak RSS MiB', 'cgroup MiB', 'load'],
    rows,
    notes,
  };
}
