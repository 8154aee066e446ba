// `cmstate demo` (what `npm start` runs): the embedded API server with sample data, and the
// jobs run against it exactly as a user would run them, each command shown before its output.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineCommand, type CommandContext } from '../../src/command.js';
import { formatTimestamp } from '../../src/durations.js';
import { LocalApiServer } from '../../src/local-apiserver/index.js';
import { LABEL_STATUS, LABEL_SWEEP, TASK_SELECTOR } from '../../src/state/labels.js';
import { sampleStates } from './samples.js';
import { runCli } from '../../src/cli.js';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';

const NAMESPACE = 'demo';
const SAMPLE_COUNT = 300;

export const demoCommand = defineCommand({
  command: 'demo',
  describe: 'Run the jobs against the embedded API server with sample data',
  handler: async (_args, ctx) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cmstate-demo-'));
    const server = await LocalApiServer.start({ port: 0 });
    try {
      const kubeconfig = path.join(dir, 'kubeconfig');
      await server.writeKubeconfig(kubeconfig, NAMESPACE);
      server.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }]);
      const now = ctx.now().startOf('second');
      server.seed(sampleStates(SAMPLE_COUNT, NAMESPACE, now));
      ctx.print(`Embedded API server on ${server.url}, kubeconfig ${kubeconfig}`);
      ctx.print(`Seeded ${SAMPLE_COUNT} task states in namespace "${NAMESPACE}" (last updates from 1 hour to 20 days ago).\n`);
      await describeStates(ctx, kubeconfig);

      const later = formatTimestamp(now.plus({ hours: 25 }));
      const steps: [string, string[]][] = [
        ['What would a sweep do now? (dry run: nothing changes)', ['sweep', '--dry-run']],
        ['Sweep: soft-delete (mark) the expired states', ['sweep']],
        ['A second run 25 hours later (--now previews it): the grace period is over, marked states go', ['sweep', '--now', later]],
      ];
      for (const [title, args] of steps) {
        ctx.print(`\n== ${title}\n$ cmstate ${args.join(' ')}`);
        const code = await run(ctx, [...args, '--kubeconfig', kubeconfig, '--qps', '500', '--log-level', 'error'], args.includes('--dry-run') ? 8 : 0);
        if (code !== 0) return code;
      }
      ctx.print('');
      await describeStates(ctx, kubeconfig);
      ctx.print(`\nTry it yourself: npx cmstate local-apiserver --seed 300 --write-kubeconfig /tmp/cmstate.kubeconfig, then npx cmstate sweep --kubeconfig /tmp/cmstate.kubeconfig --dry-run`);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
});

/** Runs a CLI command in-process, showing at most `maxLines` plan lines before its summary. */
async function run(ctx: CommandContext, args: string[], maxLines = 0): Promise<number> {
  const lines: string[] = [];
  const code = await runCli(args, { stdout: (line) => lines.push(line), signal: ctx.signal });
  const summary = lines.pop();
  if (maxLines > 0) {
    for (const line of lines.slice(0, maxLines)) ctx.print(`  ${line}`);
    if (lines.length > maxLines) ctx.print(`  ... and ${lines.length - maxLines} more`);
  }
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
