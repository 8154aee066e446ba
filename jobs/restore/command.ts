// `cmstate restore --from FILE [--mode create-missing|overwrite] [--selector L] [--task ID…] [--target-namespace NS]`

import path from 'node:path';
import { z } from 'zod';
import { defineCommand } from '../../src/command.js';
import { JOBS } from '../../src/job/descriptors.js';
import { jobConfigSchema, jobOptions, namespaceName, validate } from '../../src/config.js';
import { parseLabelSelector } from '../../src/kube/selectors.js';
import { taskIdSchema } from '../../src/state/schema.js';
import { RESTORE_MODES } from './plan.js';

const selector = z.string().transform((text, ctx) => {
  try {
    return parseLabelSelector(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const restoreConfigSchema = z.object({
  from: z.string().min(1, 'name the snapshot file to restore'),
  mode: z.enum(RESTORE_MODES),
  selector: selector.optional(),
  task: z.array(taskIdSchema).optional(),
  targetNamespace: namespaceName.optional(),
  snapshotDir: z.string().min(1).optional(),
  shardCount: z.literal(1, 'a restore cannot be sharded'),
});

export const restoreCommand = defineCommand({
  command: 'restore',
  describe: 'Restore task states and archives from a snapshot file (verified first)',
  builder: (yargs) =>
    jobOptions(yargs)
      .option('from', { type: 'string', demandOption: true, describe: 'The snapshot to restore: its .ndjson.gz or .manifest.json file' })
      .option('mode', {
        choices: RESTORE_MODES,
        default: 'create-missing' as const,
        describe: 'create-missing: only what does not exist now; overwrite: also replace what exists (saved to a snapshot first)',
      })
      .option('selector', { alias: 'l', type: 'string', describe: 'Restore only the objects whose labels match this selector' })
      .option('task', { type: 'array', string: true, describe: 'Restore only these tasks (their states and archives)' })
      .option('target-namespace', { type: 'string', describe: 'Restore every object into this namespace (default: --namespace when given, else the namespace each was taken from)' })
      .option('snapshot-dir', { type: 'string', describe: 'Where --mode overwrite saves what it replaces (default: the directory of --from)' }),
  handler: async (args, ctx) => {
    const [config, options] = validate([jobConfigSchema, restoreConfigSchema], args);
    const namespace = options.targetNamespace ?? ctx.config.namespace;
    const snapshotDir = options.snapshotDir ?? path.dirname(options.from);
    const filter = { taskIds: options.task ? new Set(options.task) : undefined, selector: options.selector };
    const settings = { from: options.from, mode: options.mode, selector: args.selector, task: options.task, targetNamespace: namespace ?? '(as in the snapshot)', snapshotDir };
    const [{ runJob }, { restore }] = await Promise.all([import('../../src/job/runner.js'), import('./run.js')]);
    return runJob(ctx, config, { job: JOBS.restore, settings }, (run) => restore(run, { from: options.from, mode: options.mode, filter, namespace, snapshotDir }));
  },
});
