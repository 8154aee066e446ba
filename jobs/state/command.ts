// `cmstate state ...`: the StateManager's operations on one task, for people and scripts.

import type { Argv } from 'yargs';
import { z } from 'zod';
import { defineCommand, type CommandContext } from '../../src/command.js';
import { validate } from '../../src/config.js';
import { formatTimestamp } from '../../src/durations.js';
import type { StateManager } from '../../src/state/manager.js';
import { stateConfigMapName } from '../../src/state/labels.js';
import { FEEDBACK_SEVERITIES, ISSUE_TYPES, TASK_STATUSES, type TaskState } from '../../src/state/schema.js';
import { formatChange, formatEntry, formatState } from './format.js';

function taskIdArg(yargs: Argv) {
  return yargs.positional('id', { type: 'string', demandOption: true, describe: 'Task id (the ConfigMap is task-{id}-state)' });
}

async function manager(ctx: CommandContext): Promise<StateManager> {
  const { StateManager } = await import('../../src/state/manager.js');
  const { client, namespace } = ctx.connect();
  return new StateManager({ client, namespace, log: ctx.log, clock: ctx.now });
}

function printState(ctx: CommandContext, mgr: StateManager, state: TaskState): void {
  if (ctx.config.output === 'json') ctx.print(JSON.stringify(state));
  else ctx.print(formatState(state, `${mgr.namespace}/${stateConfigMapName(state.task_id)}`));
}

const init = defineCommand({
  command: 'init <id>',
  describe: 'Create the state if it does not exist (pending, iteration 0); print it',
  builder: (yargs) =>
    taskIdArg(yargs)
      .option('max-iterations', { type: 'number', default: 10, describe: 'Maximum number of iterations' })
      .option('metadata', { type: 'array', string: true, describe: 'key=value pairs for the metadata map' }),
  handler: async (args, ctx) => {
    const opts = validate(
      z.object({
        maxIterations: z.number().int().min(1),
        metadata: z.array(z.string().regex(/^[^=]+=/, 'use key=value')).optional(),
      }),
      args,
    );
    const metadata = Object.fromEntries((opts.metadata ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
    const mgr = await manager(ctx);
    printState(ctx, mgr, await mgr.getOrCreate(args.id, { maxIterations: opts.maxIterations, metadata }));
  },
});

const get = defineCommand({
  command: 'get <id>',
  describe: 'Print the state',
  builder: taskIdArg,
  handler: async (args, ctx) => {
    const mgr = await manager(ctx);
    printState(ctx, mgr, await mgr.get(args.id));
  },
});

const incr = defineCommand({
  command: 'incr <id>',
  describe: 'Start the next iteration and print its number (exit 3 at the maximum)',
  builder: (yargs) => taskIdArg(yargs).option('reason', { type: 'string', default: 'next iteration', describe: 'Recorded in the status history' }),
  handler: async (args, ctx) => {
    const mgr = await manager(ctx);
    const state = await mgr.incrementIteration(args.id, args.reason);
    ctx.print(ctx.config.output === 'json' ? JSON.stringify(state) : String(state.iteration));
  },
});

const status = defineCommand({
  command: 'status <id> <status>',
  describe: 'Move the status (the status machine decides what is allowed; exit 3 when refused)',
  builder: (yargs) =>
    taskIdArg(yargs)
      .positional('status', { choices: TASK_STATUSES, demandOption: true, describe: 'The new status' })
      .option('reason', { type: 'string', default: 'set by hand', describe: 'Recorded in the status history' }),
  handler: async (args, ctx) => {
    const mgr = await manager(ctx);
    printState(ctx, mgr, await mgr.setStatus(args.id, args.status, args.reason));
  },
});

const remove = defineCommand({
  command: 'delete <id>',
  describe: 'Delete the state and its feedback archives',
  builder: taskIdArg,
  handler: async (args, ctx) => {
    const mgr = await manager(ctx);
    if (ctx.config.dryRun === 'client') {
      await mgr.get(args.id);
      ctx.print(`would delete ${mgr.namespace}/${stateConfigMapName(args.id)} and its archives`);
      return;
    }
    const { deleted } = await mgr.delete(args.id);
    ctx.print(ctx.config.output === 'json' ? JSON.stringify({ task_id: args.id, deleted }) : `deleted ${mgr.namespace}/${stateConfigMapName(args.id)} (${deleted} ConfigMaps with archives)`);
  },
});

const feedbackAdd = defineCommand({
  command: 'add <id>',
  describe: 'Append a feedback entry; an entry id that is already present is a no-op',
  builder: (yargs) =>
    taskIdArg(yargs)
      .option('entry-id', { type: 'string', demandOption: true, describe: 'Unique id of the entry (retries with the same id are no-ops)' })
      .option('severity', { choices: FEEDBACK_SEVERITIES, demandOption: true })
      .option('issue-type', { choices: ISSUE_TYPES, demandOption: true })
      .option('author', { type: 'string', demandOption: true })
      .option('description', { type: 'string', demandOption: true })
      .option('iteration', { type: 'number', describe: 'Iteration it belongs to (default: the current one)' })
      .option('resolved', { type: 'boolean', default: false })
      .option('timestamp', { type: 'string', describe: 'RFC 3339 (default: now)' }),
  handler: async (args, ctx) => {
    const mgr = await manager(ctx);
    const iteration = args.iteration ?? (await mgr.get(args.id)).iteration;
    const entry = {
      id: args.entryId,
      timestamp: args.timestamp ?? formatTimestamp(ctx.now()),
      iteration,
      author: args.author,
      severity: args.severity,
      issue_type: args.issueType,
      description: args.description,
      resolved: args.resolved,
    };
    const { state, appended } = await mgr.appendFeedback(args.id, entry);
    if (ctx.config.output === 'json') ctx.print(JSON.stringify({ appended, entry, state }));
    else ctx.print(appended ? `appended ${entry.id} to task ${args.id}` : `entry ${entry.id} already present in task ${args.id}: nothing appended`);
  },
});

const feedbackList = defineCommand({
  command: 'list <id>',
  describe: 'One page of the feedback history, archives included, oldest first',
  builder: (yargs) =>
    taskIdArg(yargs).option('limit', { type: 'number', default: 50, describe: 'Entries per page' }).option('cursor', { type: 'string', describe: 'The next_cursor of the previous page' }),
  handler: async (args, ctx) => {
    const { limit } = validate(z.object({ limit: z.number().int().min(1).max(10_000) }), args);
    const mgr = await manager(ctx);
    const page = await mgr.feedbackHistory(args.id, { limit, cursor: args.cursor });
    if (ctx.config.output === 'json') {
      ctx.print(JSON.stringify({ entries: page.entries, next_cursor: page.nextCursor ?? null, total: page.total }));
      return;
    }
    for (const entry of page.entries) ctx.print(formatEntry(entry));
    ctx.print(page.nextCursor ? `-- ${page.entries.length} of ${page.total}; next page: --cursor ${page.nextCursor}` : `-- ${page.entries.length} shown, ${page.total} in all; end of history`);
  },
});

const watch = defineCommand({
  command: 'watch [id]',
  describe: 'Print every change of the task states (or one task) as it happens, until interrupted',
  builder: (yargs) =>
    yargs
      .positional('id', { type: 'string', describe: 'Only this task' })
      .option('all-namespaces', { alias: 'A', type: 'boolean', default: false, describe: 'Watch every namespace' })
      .option('selector', { alias: 'l', type: 'string', describe: 'Label selector narrowing the task states' })
      .option('existing', { type: 'boolean', default: true, describe: 'Print the states that exist as "added" first (--no-existing: changes only)' }),
  handler: async (args, ctx) => {
    const opts = validate(z.object({ id: z.string().optional(), allNamespaces: z.boolean(), selector: z.string().min(1).optional(), existing: z.boolean() }), args);
    const mgr = await manager(ctx);
    const changes = mgr.watch({
      allNamespaces: opts.allNamespaces,
      taskId: opts.id,
      selector: opts.selector,
      includeExisting: opts.existing,
      signal: ctx.signal,
      onRecover: (what, cause) => ctx.log.warn({ cause: cause instanceof Error ? cause.message : String(cause) }, what === 'relist' ? 'watch expired: listing again' : 'watch dropped: resuming'),
      onListed: ({ resourceVersion, states }) => ctx.log.info({ resourceVersion, states }, `listed ${states} task states; watching for changes`),
    });
    for await (const change of changes) ctx.print(ctx.config.output === 'json' ? JSON.stringify(change) : formatChange(change));
  },
});

export const stateCommand = defineCommand({
  command: 'state <command>',
  describe: "One task's state: init, get, incr, status, delete, watch, feedback add|list",
  builder: (yargs, io) =>
    yargs
      .command(init(io))
      .command(get(io))
      .command(incr(io))
      .command(status(io))
      .command(remove(io))
      .command(watch(io))
      .command({
        command: 'feedback <command>',
        describe: 'Feedback history: add, list',
        builder: (y: Argv) => y.command(feedbackAdd(io)).command(feedbackList(io)).demandCommand(1),
        handler: () => undefined,
      })
      .demandCommand(1),
  handler: async () => undefined,
});
