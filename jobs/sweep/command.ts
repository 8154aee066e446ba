// `cmstate sweep`: the TTL sweeper, and `cmstate sweep unmark` to undo a soft delete by hand.

import type { Argv } from 'yargs';
import { z } from 'zod';
import { defineCommand } from '../../src/command.js';
import { JOBS } from '../../src/job/descriptors.js';
import { durationOption, jobConfigSchema, jobOptions, validate } from '../../src/config.js';
import { TASK_STATUSES } from '../../src/state/schema.js';

const sweepConfigSchema = z.object({
  ttl: durationOption({ positive: true }),
  grace: durationOption({ positive: false }),
  status: z.array(z.enum(TASK_STATUSES)).optional(),
  maxDelete: z.number().int().min(0).optional(),
  maxDeletePercent: z.number().min(0).max(100).optional(),
  force: z.boolean(),
});

function sweepOptions(yargs: Argv) {
  return jobOptions(yargs)
    .option('ttl', { type: 'string', default: '7d', describe: 'Expire states not updated for this long (7d, 12h, 90m, P7D); the cmstate.io/ttl annotation overrides it per object' })
    .option('grace', { type: 'string', default: '24h', describe: 'Delete a marked state only after this long, if it was not updated meanwhile' })
    .option('status', { type: 'array', string: true, describe: `Only sweep states with these statuses (${TASK_STATUSES.join(', ')})` })
    .option('max-delete', { type: 'number', describe: 'Circuit breaker: refuse (exit 3) when more than this many states would be deleted' })
    .option('max-delete-percent', { type: 'number', describe: 'Circuit breaker: refuse when more than this percentage of the observed states would be deleted' })
    .option('force', { type: 'boolean', default: false, describe: 'Delete even when the circuit breaker would refuse' });
}

const unmarkCommand = defineCommand({
  command: 'unmark [ids..]',
  describe: 'Remove the soft-delete mark from task states by id, or by --selector',
  builder: (yargs) =>
    jobOptions(yargs)
      .positional('ids', { type: 'string', array: true, describe: 'Task ids' })
      .option('selector', { alias: 'l', type: 'string', describe: 'Label selector of the states to unmark (added to cmstate.io/sweep=marked)' }),
  handler: async (args, ctx) => {
    const config = validate(jobConfigSchema, args);
    const ids = (args.ids ?? []).map(String);
    const selector = validate(z.object({ selector: z.string().min(1).optional() }), args).selector;
    if (ids.length === 0 && !selector) {
      validate(z.object({ ids: z.array(z.string()).min(1, 'name at least one task id, or pass --selector') }), { ids });
    }
    const [{ runJob }, { unmark }] = await Promise.all([import('../../src/job/runner.js'), import('./unmark.js')]);
    return runJob(ctx, config, { job: JOBS.sweepUnmark, settings: { ids, selector } }, (run) => unmark(run, { ids, selector }));
  },
});

export const sweepCommand = defineCommand({
  command: 'sweep',
  describe: 'TTL sweeper: soft-delete expired task states, delete them after a grace period',
  builder: (yargs, io) => sweepOptions(yargs).command(unmarkCommand(io)),
  handler: async (args, ctx) => {
    const [config, options] = validate([jobConfigSchema, sweepConfigSchema], args);
    const policy = { ttl: options.ttl, grace: options.grace, statuses: options.status };
    const settings = {
      ttl: options.ttl.toISO(),
      grace: options.grace.toISO(),
      status: options.status ?? 'all',
      maxDelete: options.maxDelete,
      maxDeletePercent: options.maxDeletePercent,
      force: options.force,
    };
    const [{ runJob }, { sweep }] = await Promise.all([import('../../src/job/runner.js'), import('./run.js')]);
    return runJob(ctx, config, { job: JOBS.sweep, settings }, (run) => sweep(run, { policy, maxDelete: options.maxDelete, maxDeletePercent: options.maxDeletePercent, force: options.force }));
  },
});
