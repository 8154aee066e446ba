// `cmstate repair`: checks every task state and archive against the invariants of the wire
// format, saves the originals, repairs what can be repaired and quarantines the rest.

import type { Argv } from 'yargs';
import { z } from 'zod';
import { defineCommand } from '../../src/command.js';
import { JOBS } from '../../src/job/descriptors.js';
import { jobConfigSchema, jobOptions, validate } from '../../src/config.js';
import { API_SIZE_LIMIT, DEFAULT_BUDGET_BYTES, DEFAULT_COMPRESSION_THRESHOLD } from '../../src/state/labels.js';

const repairConfigSchema = z.object({
  snapshotDir: z.string().min(1).optional(),
  budgetBytes: z.number().int().min(1024).max(API_SIZE_LIMIT),
  compressionThreshold: z.number().int().min(0),
});

function repairOptions(yargs: Argv) {
  return jobOptions(yargs)
    .option('snapshot-dir', { type: 'string', describe: 'Directory of the snapshot store: the original of every object is saved there before it is changed (required unless --dry-run)' })
    .option('budget-bytes', { type: 'number', default: DEFAULT_BUDGET_BYTES, describe: "The writers' size budget per ConfigMap: a larger state has its feedback compressed or archived" })
    .option('compression-threshold', { type: 'number', default: DEFAULT_COMPRESSION_THRESHOLD, describe: 'Feedback larger than this many bytes is written gzipped in binaryData' });
}

export const repairCommand = defineCommand({
  command: 'repair',
  describe: 'Check task states against the format invariants; save the originals, then repair or quarantine',
  builder: (yargs) => repairOptions(yargs),
  handler: async (args, ctx) => {
    const [config, options] = validate([jobConfigSchema, repairConfigSchema], args);
    if (ctx.config.dryRun === 'none') {
      validate(z.object({ snapshotDir: z.string({ error: 'required unless --dry-run: the originals are saved there before anything changes' }) }), { snapshotDir: options.snapshotDir });
    }
    const settings = { snapshotDir: options.snapshotDir, budgetBytes: options.budgetBytes, compressionThreshold: options.compressionThreshold };
    const [{ runJob }, { repair }] = await Promise.all([import('../../src/job/runner.js'), import('./run.js')]);
    return runJob(ctx, config, { job: JOBS.repair, settings }, async (run) => {
      await repair(run, { snapshotDir: options.snapshotDir, plan: { budgetBytes: options.budgetBytes, compressionThreshold: options.compressionThreshold } });
    });
  },
});
