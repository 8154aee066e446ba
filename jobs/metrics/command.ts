// `cmstate metrics`: state gauges pushed to a Pushgateway (or printed as exposition text), and
// `--delete-group` to remove this release's groups from the gateway when it is uninstalled.

import type { Argv } from 'yargs';
import { z } from 'zod';
import { defineCommand, type CommandContext } from '../../src/command.js';
import { JOBS } from '../../src/job/descriptors.js';
import { durationOption, jobConfigSchema, jobOptions, validate, type JobConfig } from '../../src/config.js';
import { UsageError } from '../../src/exit.js';

const metricsConfigSchema = z.object({
  withFeedback: z.boolean(),
  stuckAfter: durationOption({ positive: true }),
  flappingAfter: z.number().int().min(0),
  deleteGroup: z.boolean(),
});

function metricsOptions(yargs: Argv) {
  return jobOptions(yargs)
    .option('with-feedback', { type: 'boolean', default: false, describe: 'Also read every state in full: iteration, size, feedback and outcome metrics (needs get on ConfigMaps)' })
    .option('stuck-after', { type: 'string', default: '6h', describe: 'A pending or in_progress state not updated for this long counts as stuck' })
    .option('flapping-after', { type: 'number', default: 3, describe: 'A state with more failed -> in_progress changes than this counts as flapping (--with-feedback)' })
    .option('delete-group', {
      type: 'boolean',
      default: false,
      describe: "Delete this release's groups from --pushgateway instead (every job's, for -n or --all-namespaces; shards 0..--shard-count-1); needs no API server",
    });
}

export const metricsCommand = defineCommand({
  command: 'metrics',
  describe: 'State gauges for Prometheus: pushed to --pushgateway, or printed as exposition text',
  builder: (yargs) => metricsOptions(yargs),
  handler: async (args, ctx) => {
    const [config, options] = validate([jobConfigSchema, metricsConfigSchema], args);
    if (options.deleteGroup) return deleteGroups(ctx, config);
    if (config.shardCount > 1) {
      throw new UsageError("--shard-count: metrics runs unsharded (one metadata list); with --delete-group it names the sweep's shard count");
    }
    const collect = { withFeedback: options.withFeedback, stuckAfterSeconds: options.stuckAfter.as('seconds'), flappingAfter: options.flappingAfter };
    const settings = { withFeedback: collect.withFeedback, stuckAfter: options.stuckAfter.toISO(), flappingAfter: collect.flappingAfter };
    const [{ runJob }, { collectStateMetrics }] = await Promise.all([import('../../src/job/runner.js'), import('./run.js')]);
    return runJob(ctx, config, { job: JOBS.metrics, settings, printMetrics: true }, (run) => collectStateMetrics(run, collect));
  },
});

// The chart's post-delete hook runs this without a service account token: it must never
// connect to the API server, so the namespace comes from --namespace, not from a context.
async function deleteGroups(ctx: CommandContext, config: JobConfig): Promise<number> {
  const url = config.pushgateway;
  const namespace = config.allNamespaces ? undefined : ctx.config.namespace;
  const problems = [
    ...(url ? [] : ['--pushgateway (or CMSTATE_PUSHGATEWAY) is required']),
    ...(config.allNamespaces || namespace ? [] : ["name the release's namespace with --namespace (or CMSTATE_NAMESPACE), or pass --all-namespaces"]),
  ];
  if (!url || problems.length) throw new UsageError(`--delete-group: ${problems.join('; ')}`);

  const dryRun = ctx.config.dryRun !== 'none';
  const startedAt = performance.now();
  const [{ deleteReleaseGroups }, { Tally }, { concludeRun, printSummary }] = await Promise.all([import('./groups.js'), import('../../src/job/tally.js'), import('../../src/job/conclusion.js')]);
  const tally = new Tally(['delete_group']);
  const deleted = await deleteReleaseGroups({ url }, { namespace, shardCount: config.shardCount, dryRun }, tally);
  const failed = tally.failures.length;
  const scope = namespace ?? 'all namespaces';
  if (ctx.config.output === 'json') {
    ctx.print(JSON.stringify({ job: 'metrics', delete_group: true, dry_run: dryRun, pushgateway: url, deleted, failed }));
  } else if (dryRun) {
    for (const path of deleted) ctx.print(`would delete ${url.replace(/\/+$/, '')}${path}`);
  } else {
    ctx.print(`deleted ${deleted.length} Pushgateway groups of this release (${scope}) from ${url}${failed ? `; ${failed} failed` : ''}`);
  }
  // Ends like every job: failures listed, the same exit codes, the summary last.
  const { summary, exitCode } = concludeRun(ctx.log, ctx.signal, tally, { name: 'metrics', dryRun, startedAt });
  printSummary(ctx.print, ctx.config.output, summary);
  return exitCode;
}
