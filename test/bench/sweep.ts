// Issue 4's figure: `cmstate sweep` as a separate process against 10k and 50k state ConfigMaps,
// and, on an identical reseeded server, the same deletion the way operators do it without
// cmstate: kubectl get -o json | jq | xargs kubectl delete. Both delete the same 20%.
//
// cmstate runs as the image runs it: compiled, inside a memory cgroup with the chart's limit for
// the sweep (see cmstate-process.ts), and once more without any limit, for comparison.
//
// What is measured: ONE sweep run that deletes. The expired 20% were already marked by an earlier
// run (label cmstate.io/sweep=marked, cmstate.io/marked-at two days ago, past the 24 h grace), so
// this run observes everything and deletes them; the pipeline deletes the same objects by their
// cmstate.io/last-update annotation. The 80% are fresh and untouched by both.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { ANNOTATION_LAST_UPDATE, ANNOTATION_MARKED_AT, LABEL_SWEEP, SWEEP_VALUE_MARKED, TASK_SELECTOR } from '../../src/state/labels.js';
import type { JobSummary } from '../../src/metrics/summary.js';
import { feedbackEntries, stateConfigMap } from '../support/states.js';
import { builtCli, chartMemoryLimit, MemoryCgroup, type MemoryLimit } from './cmstate-process.js';
import { measure, type Measured } from './measure.js';
import { startServerProcess, writeSeedFile, type RequestCounts, type ServerProcess } from './server-process.js';
import { mib, type BenchOptions, type BenchSection, type Cell } from './table.js';

const NAMESPACE = 'bench-sweep';
const DAY_MS = 24 * 3600 * 1000;
const TTL_MS = 7 * DAY_MS;
/** Every 5th state is expired (20%); every 100th is near the size limit (1%). */
const EXPIRED_EVERY = 5;
const BIG_EVERY = 100;
const SPEED_TARGET = 5;
const RSS_GROWTH_TARGET = 1.3;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * State `index` of the data set; the first N of a larger set are a set of N with the same mix.
 * Most carry 3-22 plain feedback entries (1-8 KiB); the big ones ~300 entries of random text,
 * which gzip barely shrinks, so their compressed feedback is ~870 KiB (binaryData, ~1.16 MB base64
 * on the wire), just under the 900 KiB budget and near the API's 1 MiB limit.
 */
export function sweepState(index: number, nowMs: number) {
  const id = `sweep-${String(index).padStart(6, '0')}`;
  const expired = index % EXPIRED_EVERY === 0;
  const big = index % BIG_EVERY === 37;
  const lastUpdate = expired ? nowMs - 10 * DAY_MS - (index % 48) * 3600_000 : nowMs - (index % 144) * 3600_000;
  const feedback = big
    ? feedbackEntries(290, { descriptionBytes: 0 }).map((e) => ({ ...e, description: randomBytes(3000).toString('base64') }))
    : feedbackEntries(3 + (index % 20), { descriptionBytes: 150 + (index % 7) * 20 });
  return stateConfigMap({
    id,
    namespace: NAMESPACE,
    lastUpdate: iso(lastUpdate),
    iteration: 1 + (index % 5),
    feedback,
    ...(expired ? { labels: { [LABEL_SWEEP]: SWEEP_VALUE_MARKED }, annotations: { [ANNOTATION_MARKED_AT]: iso(nowMs - 2 * DAY_MS) } } : {}),
  });
}

const TOOLS = {
  cmstate: 'cmstate sweep',
  unlimited: '  same, no memory limit',
  pipeline: 'kubectl | jq | xargs kubectl delete',
  parallel: '  same, xargs -n 50 -P 32',
} as const;
type Tool = keyof typeof TOOLS;

interface RunResult extends Measured {
  tool: Tool;
  objects: number;
  deleted: number;
  requests: RequestCounts;
  /** The sweep's own duration_ms (no process start-up). */
  jobSeconds?: number;
  /** The machine's 1-minute load average before and after the run. */
  load?: [number, number];
}

/** What is left must be exactly the fresh states: nothing expired survives, nothing fresh is gone. */
async function checkRemaining(server: ServerProcess, objects: number, cutoffMs: number, tool: string): Promise<void> {
  const client = new KubeClient(loadKubeConfig({ kubeconfig: server.kubeconfig }).kubeConfig, { qps: 1_000_000 });
  let remaining = 0;
  for await (const page of client.listConfigMapMetadataPages({ namespace: NAMESPACE, labelSelector: TASK_SELECTOR })) {
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
async function runSweep(server: ServerProcess, objects: number, now: string, dir: string, limit: MemoryLimit | undefined): Promise<RunResult> {
  const tool: Tool = limit ? 'cmstate' : 'unlimited';
  const args = [builtCli(), 'sweep', '--kubeconfig', server.kubeconfig, '-n', NAMESPACE, '--qps', '1000', '--concurrency', '32', '--output', 'json', '--now', now];
  const cgroup = limit && (await MemoryCgroup.create(`cmstate-bench-sweep-${objects}`, limit.bytes));
  if (typeof cgroup === 'string') throw new Error(`${cgroup} (run the sweep benchmark as root)`);
  await server.resetRequests();
  try {
    const run = await measure(process.execPath, args, process.env, dir, true, cgroup);
    const requests = await server.requests();
    if (run.code !== 0) {
      const memory = limit && run.cgroupPeakBytes !== undefined ? ` (memory: ${mib(run.cgroupPeakBytes).toFixed(0)} MiB of the ${limit.quantity} limit)` : '';
      throw new Error(`cmstate sweep exited ${run.code}${memory}: ${run.stderrTail.trim().split('\n').slice(-5).join('\n')}`);
    }
    const summary = JSON.parse(run.lastLine) as JobSummary;
    if (summary.failed !== 0 || summary.observed !== objects) throw new Error(`cmstate sweep observed ${summary.observed} of ${objects}, failed ${summary.failed}`);
    return { ...run, tool, objects, deleted: summary.applied['delete'] ?? 0, requests, jobSeconds: summary.duration_ms / 1000 };
  } finally {
    if (cgroup) await cgroup.remove();
  }
}

/**
 * The operator's way: the brief's pipeline, or (parallel) the same with xargs running 32 kubectl
 * deletes at once. kubectl throttles itself (client-go's default 5 requests/s after a burst of
 * 10, per process), so parallel processes are how an operator would go faster.
 */
async function runPipeline(server: ServerProcess, objects: number, cutoffMs: number, dir: string, parallel: boolean): Promise<RunResult> {
  const xargs = parallel ? 'xargs -r -n 50 -P 32' : 'xargs -r -n 200';
  const filter = `.items[] | select((.metadata.annotations["${ANNOTATION_LAST_UPDATE}"] | fromdateiso8601) < $cutoff) | .metadata.name`;
  const script = `set -o pipefail; kubectl get cm -n ${NAMESPACE} -l ${TASK_SELECTOR} -o json | jq -r --argjson cutoff ${Math.floor(cutoffMs / 1000)} '${filter}' | ${xargs} kubectl delete cm -n ${NAMESPACE}`;
  await server.resetRequests();
  const run = await measure('bash', ['-c', script], { ...process.env, KUBECONFIG: server.kubeconfig }, dir, false);
  const requests = await server.requests();
  if (run.code !== 0) throw new Error(`the kubectl pipeline exited ${run.code}: ${run.stderrTail.trim().split('\n').slice(-5).join('\n')}`);
  // kubectl delete prints one `configmap "name" deleted` line per object.
  return { ...run, tool: parallel ? 'parallel' : 'pipeline', objects, deleted: run.stdoutLines, requests };
}

function requestSummary(counts: RequestCounts): string {
  return Object.entries(counts.byKind)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
}

export async function benchSweep(options: BenchOptions): Promise<BenchSection> {
  const sizes = options.scale === 'full' ? [10_000, 50_000] : [500, 1_000];
  const largest = Math.max(...sizes);
  const nowMs = Math.floor(Date.now() / 1000) * 1000;
  const now = iso(nowMs);
  const cutoffMs = nowMs - TTL_MS;
  const dir = await mkdtemp(path.join(tmpdir(), 'cmstate-bench-sweep-'));
  try {
    const seedFile = path.join(dir, 'states.ndjson');
    options.progress(`sweep: generating ${largest} state ConfigMaps with the real codec`);
    const lineBytes = await writeSeedFile(seedFile, largest, (i) => sweepState(i, nowMs));
    options.progress('sweep: compiling the CLI');
    builtCli();
    const limit = await chartMemoryLimit('sweep');
    const results: RunResult[] = [];
    for (const objects of sizes) {
      for (const tool of Object.keys(TOOLS) as Tool[]) {
        options.progress(`sweep: seeding ${objects} states for ${tool}`);
        const kubeconfig = path.join(dir, `kubeconfig-${objects}-${tool}`);
        const server = await startServerProcess({ namespace: NAMESPACE, kubeconfig, seedFile, seedLimit: objects });
        try {
          if (server.seeded !== objects) throw new Error(`seeded ${server.seeded} states, expected ${objects}`);
          options.progress(`sweep: ${tool} over ${objects} states`);
          const load = os.loadavg()[0] as number;
          const result =
            tool === 'cmstate' || tool === 'unlimited'
              ? await runSweep(server, objects, now, dir, tool === 'cmstate' ? limit : undefined)
              : await runPipeline(server, objects, cutoffMs, dir, tool === 'parallel');
          result.load = [load, os.loadavg()[0] as number];
          await checkRemaining(server, objects, cutoffMs, TOOLS[tool]);
          results.push(result);
        } finally {
          await server.stop();
        }
      }
    }
    const seedBytes = Object.fromEntries(sizes.map((n) => [n, lineBytes.slice(0, n).reduce((a, b) => a + b, 0)]));
    return report(results, sizes, seedBytes, limit);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function report(results: RunResult[], sizes: number[], seedBytes: Record<number, number>, limit: MemoryLimit): BenchSection {
  const rows: Cell[][] = results.map((r) => [
    TOOLS[r.tool],
    r.objects,
    r.deleted,
    r.wallSeconds,
    r.jobSeconds ?? '-',
    r.objects / r.wallSeconds,
    r.maxRssKiB === undefined ? 'n/a' : r.maxRssKiB / 1024,
    r.cgroupPeakBytes === undefined ? '-' : mib(r.cgroupPeakBytes),
    r.requests.total,
    r.load ? `${r.load[0].toFixed(1)}-${r.load[1].toFixed(1)}` : '-',
  ]);
  const notes: string[] = [];
  const find = (tool: Tool, objects: number) => results.find((r) => r.tool === tool && r.objects === objects) as RunResult;
  for (const objects of sizes) {
    const sweep = find('cmstate', objects);
    const pipeline = find('pipeline', objects);
    const parallel = find('parallel', objects);
    const ratio = pipeline.wallSeconds / sweep.wallSeconds;
    notes.push(
      `${objects.toLocaleString('en-US')} states (${mib(seedBytes[objects] ?? 0).toFixed(0)} MiB as JSON): pipeline / cmstate wall time = ${ratio.toFixed(1)}x (target >= ${SPEED_TARGET}x: ${ratio >= SPEED_TARGET ? 'met' : 'NOT met'}); parallel pipeline / cmstate = ${(parallel.wallSeconds / sweep.wallSeconds).toFixed(1)}x.`,
      `requests at ${objects.toLocaleString('en-US')}: cmstate ${requestSummary(sweep.requests)}; pipeline ${requestSummary(pipeline.requests)}.`,
    );
  }
  const [small, large] = sizes as [number, number];
  const growth = (tool: Tool) => {
    const [a, b] = [find(tool, small).maxRssKiB, find(tool, large).maxRssKiB];
    return a === undefined || b === undefined ? undefined : b / a;
  };
  const limited = growth('cmstate');
  const unlimited = growth('unlimited');
  if (limited !== undefined) {
    notes.push(
      `cmstate peak RSS at ${large.toLocaleString('en-US')} / at ${small.toLocaleString('en-US')} = ${limited.toFixed(2)}x under the chart's ${limit.quantity} limit (target <= ${RSS_GROWTH_TARGET}x: ${limited <= RSS_GROWTH_TARGET ? 'met' : 'NOT met'})` +
        (unlimited === undefined ? '.' : `; ${unlimited.toFixed(2)}x without a limit.`),
    );
  }
  notes.push(
    'One sweep run that deletes: the expired 20% were marked by an earlier run (marked-at 2 days ago, grace 24 h); --now pins the clock, default --ttl 7d. The pipeline selects the same 20% by cmstate.io/last-update < now - 7d.',
    `cmstate runs compiled (tsconfig.build.json, as in the image), in a memory cgroup limited to jobs.sweep.resources.limits.memory of the chart (${limit.quantity}): Node sizes its heap from that limit, as in the pod. "cgroup MiB": the most memory the kernel charged to that cgroup, what it compares with the limit. The "no memory limit" row is the same run on the bare machine, where V8 sizes its heap from all of its memory and collects lazily: its peak RSS is mostly garbage not yet collected.`,
    'Wall time: spawn to exit, process start-up included; "job s" is the summary\'s duration_ms. Peak RSS: GNU time %M (for the pipeline, its largest process). Requests: the server\'s request log, reset before each run.',
    'cmstate lists the metadata twice (pass 1 plans and counts for the circuit breaker, pass 2 acts page by page, so no plan is held in memory), sends an Event per deletion and takes/releases its Lease; the pipeline sends neither, but kubectl delete GETs each object afterwards (--wait, its default). Every run is checked afterwards: exactly the expired states are gone.',
    'kubectl throttles itself to 5 requests/s after a burst of 10 (client-go defaults, per process): most of the pipeline\'s time. "load": the machine\'s 1-minute load average before-after the run (other work on the machine slows every figure).',
    '1% of the states carry ~870 KiB of gzip feedback (random text), the rest 1-8 KiB plain; server in its own process, 2-core machine shared by server and client.',
  );
  return {
    title: 'TTL sweep vs. kubectl pipeline (issue 4)',
    columns: ['tool', 'states', 'deleted', 'wall s', 'job s', 'states/s', 'peak RSS MiB', 'cgroup MiB', 'API requests', 'load'],
    rows,
    notes,
  };
}
