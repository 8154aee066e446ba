// What `cmstate demo` does, loaded when it runs: the embedded API server with sample data, and
// the jobs run against it exactly as a user would run them, each command shown before its output.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CommandContext } from '../../src/command.js';
import { DEPLOYED_JOBS } from '../../src/job/descriptors.js';
import { formatTimestamp } from '../../src/durations.js';
import { LocalApiServer } from '../../src/local-apiserver/index.js';
import { LABEL_STATUS, LABEL_SWEEP, TASK_SELECTOR } from '../../src/state/labels.js';
import { sampleStates } from '../../src/state/samples.js';
import { listSnapshots } from '../../src/snapshot/reader.js';
import { seedCorruptedStates } from './corrupted-states.js';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';

const NAMESPACE = 'demo';
const SAMPLE_COUNT = 300;

export interface DemoOptions {
  /** Every job also pushes its metrics here. */
  pushgateway?: string;
}

export async function demo(ctx: CommandContext, options: DemoOptions = {}): Promise<number | void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cmstate-demo-'));
  const server = await LocalApiServer.start({ port: 0 });
  try {
    const kubeconfig = path.join(dir, 'kubeconfig');
    await server.writeKubeconfig(kubeconfig, NAMESPACE);
    server.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }]);
    const now = ctx.now().startOf('second');
    server.seed(sampleStates(SAMPLE_COUNT, NAMESPACE, now));
    const corrupted = await seedCorruptedStates(server, NAMESPACE, now);
    ctx.print(`Embedded API server on ${server.url}, kubeconfig ${kubeconfig}`);
    ctx.print(`Seeded ${SAMPLE_COUNT} task states in namespace "${NAMESPACE}" (last updates from 1 hour to 20 days ago),`);
    ctx.print(`and ${corrupted.length} corrupted ones for the repair job.\n`);
    await describeStates(ctx, kubeconfig);

    const snapshots = path.join(dir, 'snapshots');
    const later = formatTimestamp(now.plus({ hours: 25 }));
    const restored = ['demo-0000', 'demo-0001', 'demo-0002'];
    const steps: Step[] = [
      ['The TTL sweeper: what would it do now? (a dry run changes nothing)', ['sweep', '--dry-run'], 8],
      ['Sweep: soft-delete (mark) the expired states', ['sweep']],
      ['A run 25 hours later (--now previews it): the grace period is over, marked states go', ['sweep', '--now', later]],
      ['Consistency repair: what is broken, and what would change? (corrupted states were seeded)', ['repair', '--dry-run'], 12],
      ['Repair: originals saved to the snapshot store first, then repaired or quarantined', ['repair', '--snapshot-dir', snapshots]],
      ['Repair again: nothing left to do', ['repair', '--snapshot-dir', snapshots]],
      ['Snapshot every state ConfigMap', ['snapshot', '--dir', snapshots, '--keep-last', '5']],
      ...restored.map((id): Step => [`Delete task ${id} by hand`, ['state', 'delete', id]]),
      ['Restore what is missing from the snapshot (the report lists every object; the skipped ones are left out here)', ['restore', '--from', LATEST_SNAPSHOT], /^(created|overwritten)/],
      ['They are back', ['state', 'get', restored[1]!]],
      [
        'State and outcome metrics (--with-feedback reads each state whole; without --pushgateway the exposition text is printed, some series shown)',
        ['metrics', '--with-feedback'],
        /^cmstate_task_(states(_quarantined|_stuck|_flapping)?\{|outcome_gave_up_ratio)/,
      ],
    ];
    for (const [title, args, show] of steps) {
      const resolved = await Promise.all(args.map((arg) => (arg === LATEST_SNAPSHOT ? latestSnapshot(snapshots) : arg)));
      ctx.print(`\n== ${title}\n$ cmstate ${resolved.join(' ')}`);
      // The jobs' default --qps protects a shared API server; this one is ours alone.
      const job = JOB_COMMANDS.has(resolved[0]!);
      const fast = job ? ['--qps', '500'] : [];
      const push = job && options.pushgateway ? ['--pushgateway', options.pushgateway] : [];
      const code = await run(ctx, [...resolved, '--kubeconfig', kubeconfig, '--log-level', 'error', ...fast, ...push], show);
      if (code !== 0) return code;
    }
    ctx.print('');
    await describeStates(ctx, kubeconfig);
    ctx.print(`\nTry it yourself: npx cmstate local-apiserver --seed 300 --write-kubeconfig /tmp/cmstate.kubeconfig, then npx cmstate sweep --kubeconfig /tmp/cmstate.kubeconfig --dry-run`);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A demo step: its title, the CLI arguments, and which output lines to show (a count, or a filter). */
type Step = [title: string, args: string[], show?: number | RegExp];

/** Commands that run a job (and so take --qps). */
const JOB_COMMANDS = new Set(DEPLOYED_JOBS.map((job) => job.name));

/** Stands for the newest snapshot file, known only once the snapshot step has run. */
const LATEST_SNAPSHOT = '<latest snapshot>';

async function latestSnapshot(dir: string): Promise<string> {
  const newest = (await listSnapshots(dir)).filter((s) => s.reason === 'snapshot').at(-1);
  if (!newest) throw new Error(`no snapshot in ${dir}`);
  return newest.file;
}

const SUMMARY_LINE = /^[a-z-]+( \(dry run\))?: observed /;

/** Runs a CLI command in-process and shows its output (cut or filtered by `show`), summary last. */
async function run(ctx: CommandContext, args: string[], show: number | RegExp = Infinity): Promise<number> {
  const lines: string[] = [];
  const code = await ctx.runCommand(args, { stdout: (line) => lines.push(...line.split('\n')), signal: ctx.signal });
  const summary = lines.length && SUMMARY_LINE.test(lines.at(-1)!) ? lines.pop() : undefined;
  const shown = show instanceof RegExp ? lines.filter((line) => show.test(line)) : lines.slice(0, show);
  for (const line of shown) ctx.print(`  ${line}`);
  if (typeof show === 'number' && lines.length > show) ctx.print(`  ... and ${lines.length - show} more lines`);
  if (summary !== undefined) ctx.print(summary);
  return code;
}

async function describeStates(ctx: CommandContext, kubeconfig: string): Promise<void> {
  const client = new KubeClient(loadKubeConfig({ kubeconfig }).kubeConfig);
  const byStatus = new Map<string, number>();
  let total = 0;
  let marked = 0;
  for await (const page of client.listConfigMapMetadataPages({ namespace: NAMESPACE, labelSelector: TASK_SELECTOR })) {
    for (const item of page) {
      total++;
      const status = item.metadata.labels?.[LABEL_STATUS] ?? '(legacy, no status label)';
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      if (item.metadata.labels?.[LABEL_SWEEP] === 'marked') marked++;
    }
  }
  ctx.print(`${total} task states in "${NAMESPACE}", ${marked} marked for deletion:`);
  for (const [status, count] of [...byStatus].sort((a, b) => b[1] - a[1])) ctx.print(`  ${status.padEnd(28)} ${count}`);
}
