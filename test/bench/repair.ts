// Issue 5's figure: `cmstate repair` as a separate process over 10k task states of which 5% are
// corrupted (one kind of damage each, in turn), against the embedded API server in its own
// process; then the same run again, which must find nothing (the cost of a daily check).

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ConfigMap } from '../../src/kube/types.js';
import type { JobSummary } from '../../src/metrics/summary.js';
import { LABEL_STATE, LABEL_STATUS, LABEL_TASK_ID, STATE_VALUE_ARCHIVE } from '../../src/state/labels.js';
import { feedbackEntries, stateConfigMap } from '../support/states.js';
import { startServerProcess, writeSeedFile, type ServerProcess } from './server-process.js';
import { mib, type BenchOptions, type BenchSection, type Cell } from './table.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NAMESPACE = 'bench-repair';
/** Every 20th object is corrupted (5%). */
const CORRUPT_EVERY = 20;

type Damage = (cm: ConfigMap & { data: Record<string, string> }) => ConfigMap;

/** One kind of damage per corrupted object, in turn; the last two are quarantined and deleted (orphan). */
const DAMAGE: [string, Damage][] = [
  ['stale status label', (cm) => ({ ...cm, metadata: { ...cm.metadata, labels: { ...cm.metadata.labels, [LABEL_STATUS]: 'failed' } } })],
  ['counter behind history', (cm) => ({ ...cm, data: { ...cm.data, iteration: String(Number(cm.data.iteration) - 1) } })],
  ['iteration history shortened', (cm) => ({ ...cm, data: { ...cm.data, iteration_history: '[]' } })],
  ['legacy version 0', (cm) => ({ ...cm, data: Object.fromEntries(Object.entries(cm.data).filter(([key]) => key !== 'version')) })],
  ['error_messages not JSON', (cm) => ({ ...cm, data: { ...cm.data, error_messages: 'exit status 1' } })],
  ['feedback not JSON (quarantined)', (cm) => ({ ...cm, data: { ...cm.data, feedback_history: cm.data.feedback_history!.slice(0, 50) } })],
  [
    'orphan archive (deleted)',
    (cm) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `${cm.metadata.name}-archive-1`.replace('-state-', '-gone-state-'),
        namespace: NAMESPACE,
        labels: { [LABEL_STATE]: STATE_VALUE_ARCHIVE, [LABEL_TASK_ID]: `${cm.data.task_id}-gone` },
      },
      data: { version: '1', task_id: `${cm.data.task_id}-gone`, archive_index: '1', feedback_history: cm.data.feedback_history! },
    }),
  ],
];

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Object `index` of the data set: a realistic state (3-22 feedback entries, 1-8 KiB), every 20th damaged. */
function repairObject(index: number, nowMs: number): ConfigMap {
  const cm = stateConfigMap({
    id: `repair-${String(index).padStart(6, '0')}`,
    namespace: NAMESPACE,
    lastUpdate: iso(nowMs - (index % 144) * 3600_000),
    iteration: 1 + (index % 5),
    feedback: feedbackEntries(3 + (index % 20), { descriptionBytes: 150 + (index % 7) * 20, iteration: 1 }),
  }) as ConfigMap & { data: Record<string, string> };
  if (index % CORRUPT_EVERY !== CORRUPT_EVERY - 1) return cm;
  const [, damage] = DAMAGE[Math.floor(index / CORRUPT_EVERY) % DAMAGE.length]!;
  return damage(cm);
}

interface Measured {
  wallSeconds: number;
  maxRssMiB: number;
  summary: JobSummary;
}

/** Runs the CLI as users do (a Node process) and takes its peak RSS as the process reports it at exit. */
async function runRepair(server: ServerProcess, now: string, snapshotDir: string): Promise<Measured> {
  const preload = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\ncmstate-bench-maxrss-kib="+process.resourceUsage().maxRSS+"\\n"))';
  const args = [
    '--import',
    preload,
    '--import',
    'tsx',
    path.join(root, 'cli/main.ts'),
    'repair',
    '--kubeconfig',
    server.kubeconfig,
    '-n',
    NAMESPACE,
    '--qps',
    '1000',
    '--concurrency',
    '32',
    '--output',
    'json',
    '--now',
    now,
    '--snapshot-dir',
    snapshotDir,
  ];
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  let last = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.trim()) last = line;
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const wallSeconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`cmstate repair exited ${code}: ${stderr.trim().split('\n').slice(-5).join('\n')}`);
  const maxRssKiB = Number(/cmstate-bench-maxrss-kib=(\d+)/.exec(stderr)?.[1] ?? NaN);
  return { wallSeconds, maxRssMiB: maxRssKiB / 1024, summary: JSON.parse(last) as JobSummary };
}

async function snapshotBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) bytes += (await stat(path.join(dir, name))).size;
  return bytes;
}

export async function benchRepair(options: BenchOptions): Promise<BenchSection> {
  const objects = options.scale === 'full' ? 10_000 : 1_000;
  const corrupted = Math.floor(objects / CORRUPT_EVERY);
  const nowMs = Math.floor(Date.now() / 1000) * 1000;
  const now = iso(nowMs);
  const dir = await mkdtemp(path.join(tmpdir(), 'cmstate-bench-repair-'));
  try {
    const seedFile = path.join(dir, 'states.ndjson');
    options.progress(`repair: generating ${objects} ConfigMaps, ${corrupted} corrupted`);
    const lineBytes = await writeSeedFile(seedFile, objects, (i) => repairObject(i, nowMs));
    const server = await startServerProcess({ namespace: NAMESPACE, kubeconfig: path.join(dir, 'kubeconfig'), seedFile });
    const snapshots = path.join(dir, 'snapshots');
    const rows: Cell[][] = [];
    let present = objects;
    try {
      if (server.seeded !== objects) throw new Error(`seeded ${server.seeded} objects, expected ${objects}`);
      for (const label of ['repair', 'second run (finds nothing)']) {
        options.progress(`repair: ${label} over ${objects} objects`);
        await server.resetRequests();
        const run = await runRepair(server, now, snapshots);
        const requests = (await server.requests()).total;
        const { planned, applied, failed, observed } = run.summary;
        const changes = (planned.repair ?? 0) + (planned.quarantine ?? 0) + (planned.delete_orphan ?? 0);
        if (failed !== 0 || observed !== present) throw new Error(`${label}: observed ${observed} of ${present}, failed ${failed}`);
        present -= applied.delete_orphan ?? 0;
        if (label === 'repair' && changes !== corrupted) throw new Error(`repair planned ${changes} changes for ${corrupted} corrupted objects`);
        if (label !== 'repair' && changes !== 0) throw new Error(`the second run planned ${changes} changes`);
        rows.push([label, observed, applied.repair ?? 0, applied.quarantine ?? 0, applied.delete_orphan ?? 0, run.wallSeconds, run.summary.duration_ms / 1000, run.maxRssMiB, requests]);
      }
    } finally {
      await server.stop();
    }
    const seedMiB = mib(lineBytes.reduce((a, b) => a + b, 0));
    return {
      title: 'Consistency repair (issue 5)',
      columns: ['run', 'objects', 'repaired', 'quarantined', 'orphans deleted', 'wall s', 'job s', 'peak RSS MiB', 'API requests'],
      rows,
      notes: [
        `${objects.toLocaleString('en-US')} objects (${seedMiB.toFixed(0)} MiB as JSON), every 20th damaged, in turn: ${DAMAGE.map(([name]) => name).join(', ')}.`,
        `The originals of the ${corrupted} changed objects went to one snapshot of ${(await snapshotBytes(snapshots)).toLocaleString('en-US')} bytes before any write.`,
        "Wall time: spawn to exit, process start-up (node + tsx) included; \"job s\" is the summary's duration_ms. Peak RSS: the repair process's maxRSS at exit. Requests: the server's request log (two lists, the writes, one Event per change, the Lease).",
        'Server in its own process, --concurrency 32 --qps 1000; the second run is what a daily check of healthy states costs.',
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
