// `cmstate snapshot --dir D [--keep-last N] [--max-age 30d] [--keep-min-good 1]`

import { z } from 'zod';
import { defineCommand } from '../../src/command.js';
import { JOBS } from '../../src/job/descriptors.js';
import { jobConfigSchema, jobOptions, validate } from '../../src/config.js';
import { parseDuration } from '../../src/durations.js';

const maxAge = z.string().transform((text, ctx) => {
  try {
    const parsed = parseDuration(text);
    if (parsed.toMillis() <= 0) throw new Error('--max-age must be longer than 0');
    return parsed;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const snapshotConfigSchema = z.object({
  dir: z.string().min(1, 'name the snapshot directory'),
  keepLast: z.number().int().min(1).optional(),
  maxAge: maxAge.optional(),
  keepMinGood: z.number().int().min(1),
  shardCount: z.literal(1, 'a snapshot covers the whole namespace; it cannot be sharded'),
});

export const snapshotCommand = defineCommand({
  command: 'snapshot',
  describe: 'Back up every task state and archive ConfigMap to a snapshot file in --dir, then apply retention',
  builder: (yargs) =>
    jobOptions(yargs)
      .option('dir', { type: 'string', demandOption: true, describe: 'Snapshot directory (a mounted volume in the cluster); created on first use' })
      .option('keep-last', { type: 'number', describe: 'Retention: keep at most the newest N snapshots' })
      .option('max-age', { type: 'string', describe: 'Retention: delete snapshots older than this (30d, 12h, P30D)' })
      .option('keep-min-good', { type: 'number', default: 1, describe: 'Retention never deletes the newest N snapshots that verify' }),
  handler: async (args, ctx) => {
    const [config, options] = validate([jobConfigSchema, snapshotConfigSchema], args);
    const retention = options.keepLast !== undefined || options.maxAge !== undefined ? { keepLast: options.keepLast, maxAge: options.maxAge, keepMinGood: options.keepMinGood } : undefined;
    const settings = { dir: options.dir, keepLast: options.keepLast, maxAge: options.maxAge?.toISO(), keepMinGood: options.keepMinGood };
    const [{ runJob }, { snapshot }] = await Promise.all([import('../../src/job/runner.js'), import('./run.js')]);
    return runJob(ctx, config, { job: JOBS.snapshot, settings }, (run) => snapshot(run, { dir: options.dir, retention }));
  },
});
