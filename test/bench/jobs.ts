// Issue "memory bounded by bytes": every job as the image runs it (the compiled CLI, the chart's
// args, in a memory cgroup of the chart's limit for that job, see cmstate-process.ts) at two
// shapes: many small task states, and fewer at the API's 1 MiB object limit. Per run: wall time,
// peak RSS, the cgroup's peak charge, the exit code, and the headroom left below the limit.
//
// The jobs run one after another on the same namespace, in an order that gives each its input:
// snapshot first (its file is restore's input), the read-only metrics runs, repair (a known
// number of states need it), restore into a second, empty namespace, and the sweep last (it
// deletes the expired states). Every run is checked against its JSON summary, so a job that
// "passes" by doing nothing fails; a run that fails or is OOM-killed is a row, not a crash.

import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { runBounded } from '../../src/job/executor.js';
import type { ConfigMap } from '../../src/kube/types.js';
import type { JobSummary } from '../../src/metrics/summary.js';
import { listSnapshots } from '../../src/snapshot/reader.js';
import { encodeState } from '../../src/state/encode.js';
import { ANNOTATION_MARKED_AT, API_SIZE_LIMIT, DEFAULT_BUDGET_BYTES, LABEL_STATUS, LABEL_SWEEP, SWEEP_VALUE_MARKED } from '../../src/state/labels.js';
import { configMapSize } from '../../src/state/size.js';
import { feedbackEntries, taskState, type StateSpec } from '../support/states.js';
import { builtCli, chartArgs, chartMemoryLimit, MemoryCgroup, type MemoryLimit } from './cmstate-process.js';
import { openBenchCluster, type BenchCluster } from './cluster.js';
import { measure, RSS_SOURCE, WORKING_SET_SAMPLE_MS, type Measured } from './measure.js';
import { mib, type BenchOptions, type BenchSection, type Cell } from './table.js';

const DAY_MS = 24 * 3600 * 1000;
/** Every 5th state is expired and was marked two days ago: the sweep deletes it. */
const EXPIRED_EVERY = 5;
/** Every 10th (offset 3, never an expired one) has a stale status label: repair rewrites it. */
const DAMAGED_EVERY = 10;
const DAMAGED_AT = 3;
/** Random-text feedback entries of a large state: ~977 KiB gzipped, 48 KB below the API limit. */
const LARGE_ENTRIES = 330;
const SEED_CONCURRENCY = 16;
/** Above the default of 20, so the figures are the jobs' own and not the rate limiter's. */
const QPS = '1000';
const ROOT_ONLY = 'n/a (needs root)';

interface Shape {
  name: string;
  states: number;
  large: boolean;
}

function shapes(options: BenchOptions): Shape[] {
  const full = options.scale === 'full';
  return [
    { name: 'small', states: full ? 10_000 : 1_000, large: false },
    { name: '~1 MiB', states: full ? 1_000 : 100, large: true },
  ];
}

const isExpired = (index: number) => index % EXPIRED_EVERY === 0;
const isDamaged = (index: number) => index % DAMAGED_EVERY === DAMAGED_AT;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * State `index` of a shape. Small: 3-22 plain feedback entries (1-8 KiB). Large: random text,
 * which the codec's gzip barely shrinks, written with the API's limit as the budget (under the
 * default 900 KiB budget the codec would move feedback to archives): ~977 KiB of binaryData each.
 */
function benchState(index: number, shape: Shape, namespace: string, nowMs: number): ConfigMap {
  const expired = isExpired(index);
  const lastUpdate = expired ? nowMs - 10 * DAY_MS - (index % 48) * 3600_000 : nowMs - (index % 144) * 3600_000;
  const start = iso(lastUpdate - DAY_MS);
  const feedback = shape.large
    ? feedbackEntries(LARGE_ENTRIES, { start, descriptionBytes: 0 }).map((e) => ({ ...e, description: randomBytes(3000).toString('base64') }))
    : feedbackEntries(3 + (index % 20), { start, descriptionBytes: 150 + (index % 7) * 20 });
  const spec: StateSpec = { id: `bench-${String(index).padStart(6, '0')}`, namespace, lastUpdate: iso(lastUpdate), iteration: 1 + (index % 5), feedback };
  const { configMap } = encodeState(taskState(spec), { namespace, budgetBytes: API_SIZE_LIMIT });
  if (expired) {
    configMap.metadata.labels = { ...configMap.metadata.labels, [LABEL_SWEEP]: SWEEP_VALUE_MARKED };
    configMap.metadata.annotations = { ...configMap.metadata.annotations, [ANNOTATION_MARKED_AT]: iso(nowMs - 2 * DAY_MS) };
  }
  if (isDamaged(index)) configMap.metadata.labels = { ...configMap.metadata.labels, [LABEL_STATUS]: 'failed' };
  return configMap;
}

/** A seeded shape: its size, and what the jobs must find in it. */
interface Seeded {
  shape: Shape;
  /** data+binaryData, what the API's limit counts. */
  bytes: number;
  expect: Expected;
}

interface Expected {
  states: number;
  /** Feedback archives in the namespace: none seeded, those repair creates (observed by the sweep, which reads them too). */
  archives: number;
  expired: number;
  /** Damaged, or above repair's default budget (every large state). */
  repairs: number;
}

/** One shape's seeded namespace, and what its runs hand on to later ones. */
interface ShapeRun {
  namespace: string;
  restoreNamespace: string;
  snapshotDir: string;
  /** The snapshot job's file, restore's input. */
  snapshotFile?: string;
}

interface JobSpec {
  /** As the table shows it. */
  label: string;
  /** The CLI command and its entry in the chart's values. */
  job: 'snapshot' | 'metrics' | 'repair' | 'restore' | 'sweep';
  /** Flags besides the chart's; undefined when an earlier run did not leave the input. */
  extraArgs?: (run: ShapeRun) => string[] | undefined;
  /** Restore writes into the second namespace. */
  intoRestoreNamespace?: boolean;
  /** Summary figures to compare: [what, actual, expected]. */
  checks: (summary: JobSummary, expect: Expected) => [string, number, number][];
  /** Runs after the checks passed, reading what the job left (its snapshot file, the archives it made). */
  after?: (run: ShapeRun, summary: JobSummary, expect: Expected) => Promise<void> | void;
}

const applied = (summary: JobSummary, action: string) => summary.applied[action] ?? 0;

const JOBS: JobSpec[] = [
  {
    label: 'snapshot',
    job: 'snapshot',
    checks: (s, e) => [
      ['observed', s.observed, e.states],
      ['snapshot', applied(s, 'snapshot'), 1],
    ],
    after: async (run) => {
      run.snapshotFile = (await listSnapshots(run.snapshotDir)).find((s) => s.reason === 'snapshot')?.file;
    },
  },
  { label: 'metrics', job: 'metrics', checks: (s, e) => [['observed', s.observed, e.states]] },
  { label: 'metrics --with-feedback', job: 'metrics', extraArgs: () => ['--with-feedback'], checks: (s, e) => [['observed', s.observed, e.states]] },
  {
    label: 'repair',
    job: 'repair',
    checks: (s, e) => [
      ['observed', s.observed, e.states],
      ['repair', applied(s, 'repair'), e.repairs],
    ],
    after: (_run, s, e) => {
      e.archives += applied(s, 'create_archive');
    },
  },
  {
    label: 'restore',
    job: 'restore',
    extraArgs: (run) => (run.snapshotFile ? ['--from', run.snapshotFile] : undefined),
    intoRestoreNamespace: true,
    checks: (s, e) => [['create', applied(s, 'create'), e.states]],
  },
  {
    label: 'sweep',
    job: 'sweep',
    checks: (s, e) => [
      ['observed', s.observed, e.states + e.archives],
      ['delete', applied(s, 'delete'), e.expired],
    ],
  },
];

interface Row {
  spec: JobSpec;
  shape: Shape;
  limit: MemoryLimit;
  run?: Measured;
  verdict: string;
  applied: string;
}

/** The first summary figure that is not what the seeded data calls for, or the missing summary. */
function checkSummary(spec: JobSpec, lastLine: string, expect: Expected): { problem?: string; applied: string; summary?: JobSummary } {
  let summary: JobSummary;
  try {
    summary = JSON.parse(lastLine) as JobSummary;
  } catch {
    return { problem: 'no JSON summary', applied: '-' };
  }
  const done = Object.entries(summary.applied)
    .filter(([, n]) => n > 0)
    .map(([action, n]) => `${action} ${n.toLocaleString('en-US')}`);
  const wrong = [...spec.checks(summary, expect), ['failed', summary.failed, 0] as [string, number, number]].find(([, actual, want]) => actual !== want);
  return { problem: wrong && `${wrong[0]} ${wrong[1]}, expected ${wrong[2]}`, applied: done.join(', ') || '-', summary };
}

function verdictOf(run: Measured, problem: string | undefined, limit: MemoryLimit): string {
  if (run.code === 137) return 'OOM-killed';
  if (/heap out of memory|Reached heap limit/.test(run.stderrTail)) return 'V8 heap exhausted';
  if (run.code !== 0) return `failed (exit ${run.code})`;
  if (problem) return `wrong result: ${problem}`;
  if (run.cgroupPeakBytes === undefined && (run.maxRssKiB ?? 0) * 1024 > limit.bytes) return 'over limit (RSS)';
  return 'ok';
}

/** Why a run failed, for the progress log: V8's fatal error line when it aborted, else the last lines of stderr. */
function lastWords(stderr: string): string {
  const lines = stderr.split('\n').filter((line) => line.trim());
  return (lines.find((line) => line.includes('FATAL ERROR')) ?? lines.slice(-3).join(' | ')).slice(0, 600);
}

/** What every run of one bench shares. */
interface Bench {
  options: BenchOptions;
  cluster: BenchCluster;
  cli: string;
  nowMs: number;
  /** Why runs go without a memory cgroup (set by the first that cannot create one), else which cgroup. */
  cgroup: { problem?: string; description?: string };
  /** Each job's command and flags as run, for the notes. */
  commands: Map<string, string>;
}

export async function benchJobs(options: BenchOptions): Promise<BenchSection> {
  options.progress('jobs: compiling the CLI');
  const cli = builtCli();
  const cluster = await openBenchCluster(options.kubeconfig);
  const bench: Bench = { options, cluster, cli, nowMs: Math.floor(Date.now() / 1000) * 1000, cgroup: {}, commands: new Map() };
  const rows: Row[] = [];
  const seeded: Seeded[] = [];
  try {
    for (const shape of shapes(options)) {
      const suffix = randomBytes(4).toString('hex');
      const run: ShapeRun = { namespace: `cmstate-bench-${suffix}`, restoreNamespace: `cmstate-bench-${suffix}-restore`, snapshotDir: path.join(cluster.dir, `snapshots-${suffix}`) };
      await cluster.createNamespace(run.namespace);
      await cluster.createNamespace(run.restoreNamespace);
      options.progress(`jobs: seeding ${shape.states} ${shape.name} states into ${run.namespace}`);
      const data = await seed(cluster, run.namespace, shape, bench.nowMs);
      seeded.push(data);
      for (const spec of JOBS) rows.push(await runJob(bench, spec, data, run));
      await cluster.deleteNamespaces();
    }
  } finally {
    await cluster.close();
  }
  return report(bench, rows, seeded);
}

/** One job over one shape: the compiled CLI with the chart's args, in a cgroup of the chart's limit. */
async function runJob(bench: Bench, spec: JobSpec, { shape, expect }: Seeded, run: ShapeRun): Promise<Row> {
  const limit = await chartMemoryLimit(spec.job);
  const extra = spec.extraArgs ? spec.extraArgs(run) : [];
  if (extra === undefined) return { spec, shape, limit, verdict: 'not run: no input from an earlier run', applied: '-' };
  const args = [...(await chartArgs(spec.job, run.snapshotDir)), ...extra];
  bench.commands.set(spec.label, [spec.job, ...args.map((arg) => (arg === run.snapshotFile ? '<its file>' : arg.replace(run.snapshotDir, '<tmp>/snapshots')))].join(' '));
  const namespace = spec.intoRestoreNamespace ? run.restoreNamespace : run.namespace;
  const argv = [bench.cli, spec.job, ...args, '--kubeconfig', bench.cluster.kubeconfig, '-n', namespace, '--output', 'json', '--qps', QPS, '--now', iso(bench.nowMs)];
  bench.options.progress(`jobs: ${spec.label} over ${shape.states} ${shape.name} states (limit ${limit.quantity})`);
  const cgroup = await limitedCgroup(bench, `cmstate-bench-jobs-${spec.label.replace(/\W+/g, '-')}-${shape.states}`, limit);
  try {
    const measured = await measure(process.execPath, argv, process.env, bench.cluster.dir, true, cgroup);
    const { problem, applied: done, summary } = checkSummary(spec, measured.lastLine, expect);
    const verdict = verdictOf(measured, problem, limit);
    if (verdict === 'ok' && summary) await spec.after?.(run, summary, expect);
    else bench.options.progress(`jobs: ${spec.label} (${shape.name}): ${verdict}: ${lastWords(measured.stderrTail)}`);
    return { spec, shape, limit, run: measured, verdict, applied: done };
  } finally {
    await cgroup?.remove();
  }
}

/** A memory cgroup with the limit; none once one could not be created (not root), said once. */
async function limitedCgroup(bench: Bench, name: string, limit: MemoryLimit): Promise<MemoryCgroup | undefined> {
  if (bench.cgroup.problem !== undefined) return undefined;
  const cgroup = await MemoryCgroup.create(name, limit.bytes);
  if (typeof cgroup === 'string') {
    bench.cgroup.problem = cgroup;
    bench.options.progress(`jobs: ${cgroup}: the jobs run without a memory limit, peak RSS only (a cgroup needs root)`);
    return undefined;
  }
  bench.cgroup.description ??= cgroup.description;
  return cgroup;
}

/** Creates the shape's states through the API, a bounded number at a time. */
async function seed(cluster: BenchCluster, namespace: string, shape: Shape, nowMs: number): Promise<Seeded> {
  const seeded: Seeded = { shape, bytes: 0, expect: { states: shape.states, archives: 0, expired: 0, repairs: 0 } };
  await runBounded(
    Array.from({ length: shape.states }, (_, i) => i),
    SEED_CONCURRENCY,
    async (index) => {
      const cm = benchState(index, shape, namespace, nowMs);
      const bytes = configMapSize(cm);
      seeded.bytes += bytes;
      if (isExpired(index)) seeded.expect.expired++;
      if (isDamaged(index) || bytes > DEFAULT_BUDGET_BYTES) seeded.expect.repairs++;
      await cluster.client.createConfigMap(cm);
    },
  );
  return seeded;
}

function report(bench: Bench, rows: Row[], seeded: Seeded[]): BenchSection {
  const { cgroup } = bench;
  const table: Cell[][] = rows.map(({ spec, shape, limit, run, verdict, applied: done }) => {
    // What the kernel could not reclaim: the working set; without a cgroup, the process's RSS.
    const used = run?.workingSetPeakBytes ?? (run?.maxRssKiB === undefined ? undefined : run.maxRssKiB * 1024);
    const inCgroup = (bytes: number | undefined) => (run === undefined ? '-' : bytes === undefined ? ROOT_ONLY : mib(bytes));
    return [
      spec.label,
      shape.name,
      shape.states,
      run?.code ?? '-',
      verdict,
      run?.wallSeconds ?? '-',
      run?.maxRssKiB === undefined ? 'n/a' : run.maxRssKiB / 1024,
      inCgroup(run?.cgroupPeakBytes),
      inCgroup(run?.workingSetPeakBytes),
      limit.quantity,
      used === undefined ? '-' : mib(limit.bytes - used),
      used === undefined ? '-' : `${((100 * used) / limit.bytes).toFixed(0)}%`,
      done,
    ];
  });
  const sizes = seeded.map(
    ({ shape, bytes }) => `${shape.name}: ${shape.states.toLocaleString('en-US')} states, ${mib(bytes).toFixed(0)} MiB of data+binaryData (${(bytes / shape.states / 1024).toFixed(1)} KiB each)`,
  );
  const limitSource =
    cgroup.problem === undefined
      ? `in a memory ${cgroup.description ?? 'cgroup'} of its own whose limit is the chart's for that job (values.yaml jobs.<job>.resources.limits.memory; restore.resources.limits.memory for the one-shot restore Job): Node sizes its heap from it, as in the pod`
      : `WITHOUT a memory limit (${cgroup.problem}; a cgroup needs root): Node sizes its heap from the machine's memory, so peak RSS overstates what the job needs, and "over limit (RSS)" is what exceeding the chart's limit looks like`;
  const commands = [...bench.commands].map(([label, command]) => `${label}: \`${command}\``).join('; ');
  return {
    title: 'Jobs within their chart memory limits ("memory bounded by bytes")',
    columns: ['job', 'shape', 'states', 'exit', 'verdict', 'wall s', 'peak RSS MiB', 'cgroup peak MiB', 'working set MiB', 'limit', 'headroom MiB', '% of limit', 'applied'],
    rows: table,
    failed: rows.some((row) => row.verdict !== 'ok'),
    notes: [
      `Each job runs as the compiled CLI (tsconfig.build.json, as in the image), one process per run, against ${bench.cluster.description}, ${limitSource}.`,
      `Peak RSS: ${RSS_SOURCE}. cgroup peak: the most memory the kernel ever charged to the run's cgroup (memory.peak in v2, memory.max_usage_in_bytes in v1), the page cache of the snapshot files the job writes or reads included (with enough data, snapshot, repair and restore fill the cgroup with it up to the limit), which the kernel reclaims before it OOM-kills. Working set: the charge less the inactive file pages (what kubelet and kubectl top report), sampled every ${WORKING_SET_SAMPLE_MS} ms, its largest sample. Headroom and % of limit: from the working set, or from peak RSS where there is no cgroup. OOM-killed: exit 137, SIGKILL from the cgroup's OOM killer. Wall s: spawn to exit, Node's start-up included.`,
      `Shapes: ${sizes.join('; ')}. Small states carry 3-22 plain feedback entries; large ones ${LARGE_ENTRIES} entries of random base64 text, which the codec gzips into binaryData (incompressible), written with the API's ${API_SIZE_LIMIT.toLocaleString('en-US')}-byte limit as the budget. Seeded through the API (KubeClient, ${SEED_CONCURRENCY} creates at a time) into a namespace of the bench's own, deleted afterwards.`,
      `Every ${EXPIRED_EVERY}th state is expired (last update 10+ days ago) and was marked 2 days ago: the sweep deletes it. Every ${DAMAGED_EVERY}th (offset ${DAMAGED_AT}) has a stale cmstate.io/status label: repair rewrites it, and every state above its default budget (--budget-bytes ${DEFAULT_BUDGET_BYTES.toLocaleString('en-US')}, the chart's), moving feedback to archives: ${seeded.map(({ shape, expect }) => `${expect.repairs.toLocaleString('en-US')} of the ${shape.states.toLocaleString('en-US')} ${shape.name} states`).join(', ')}.`,
      `Per shape, in this order on the same namespace: snapshot, metrics, metrics --with-feedback, repair, restore (of the snapshot job's file, into a second, empty namespace), sweep. Args as the chart passes them, then \`--kubeconfig K -n NS --output json --qps ${QPS} --now T\`: ${commands}. --qps ${QPS} instead of the default 20 so the figures are not the rate limiter's; --now pins the clock the data was made for. The chart's metrics job pushes to pushgateway.url; without --pushgateway it prints the same gauges to stdout. --with-feedback is what the chart adds with jobs.metrics.readFeedback: true.`,
      'Each run is checked against its JSON summary (the last stdout line): observed objects (states, and for the sweep the archives repair made too), the applied actions (snapshot 1, repair, create, delete as seeded) and failed = 0; a wrong figure is a "wrong result". Any verdict other than ok makes the bench exit non-zero.',
    ],
  };
}
