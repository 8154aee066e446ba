// Options shared by every command: one yargs group per concern (every builder reuses them),
// every option also read from CMSTATE_<NAME>, and the parsed values validated once by zod with
// every problem reported in one message.

import { DateTime } from 'luxon';
import type { Argv } from 'yargs';
import { z } from 'zod';
import { parseDuration } from './durations.js';
import { UsageError } from './exit.js';
import { DEFAULT_PAGE_BYTES_QUANTITY, DEFAULT_PAGE_SIZE } from './kube/list-stream.js';
import { DNS1123_LABEL } from './kube/names.js';
import { parseByteQuantity } from './util/quantity.js';

/** pino's levels; here and not in ./log.ts, so that parsing options does not load pino. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const DRY_RUN_MODES = ['none', 'client', 'server'] as const;
export type DryRunMode = (typeof DRY_RUN_MODES)[number];

export function globalOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('kubeconfig', { type: 'string', describe: 'Path to a kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)', global: true })
    .option('context', { type: 'string', describe: 'kubeconfig context to use', global: true })
    .option('namespace', { alias: 'n', type: 'string', describe: "Namespace to work in (default: the context's, in a pod the service account's)", global: true })
    .option('output', {
      alias: 'o',
      choices: ['text', 'json'] as const,
      default: 'text' as const,
      describe: 'text for people, json for machines (one summary object as the last stdout line)',
      global: true,
    })
    .option('log-level', { choices: LOG_LEVELS, default: 'info' as const, describe: 'Log level (logs go to stderr)', global: true })
    .option('dry-run', {
      type: 'string',
      describe: 'Plan only: --dry-run (or =client) prints the plan and changes nothing; --dry-run=server also sends every write with dryRun=All',
      global: true,
      coerce: (value: unknown): DryRunMode => {
        if (value === undefined || value === false || value === 'false' || value === 'none') return 'none';
        if (value === '' || value === true || value === 'true' || value === 'client') return 'client';
        if (value === 'server') return 'server';
        throw new UsageError(`--dry-run: "${String(value)}" is not one of client, server`);
      },
    })
    .option('now', { type: 'string', describe: 'Decide as of this RFC 3339 instant instead of the clock (previews, tests)', global: true })
    .option('debug', { type: 'boolean', default: false, describe: 'Print stack traces of errors', global: true });
}

const rfc3339 = z.string().transform((text, ctx) => {
  const parsed = DateTime.fromISO(text, { setZone: true });
  if (!parsed.isValid || !/T/.test(text)) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not an RFC 3339 timestamp like 2026-11-22T10:00:00Z` });
    return z.NEVER;
  }
  return parsed.toUTC();
});

export const namespaceName = z.string().regex(DNS1123_LABEL, 'must be a DNS-1123 label (lower case letters, digits, -)').max(63);

export const globalConfigSchema = z.object({
  kubeconfig: z.string().min(1).optional(),
  context: z.string().min(1).optional(),
  namespace: namespaceName.optional(),
  output: z.enum(['text', 'json']),
  logLevel: z.enum(LOG_LEVELS),
  dryRun: z.enum(DRY_RUN_MODES).default('none'),
  now: rfc3339.optional(),
  debug: z.boolean().default(false),
});
export type GlobalConfig = z.output<typeof globalConfigSchema>;

/** Options of every job: scale, rate, concurrency, sharding, metrics. */
export function jobOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('all-namespaces', { alias: 'A', type: 'boolean', default: false, describe: 'Work on every namespace' })
    .option('concurrency', { type: 'number', default: 8, describe: 'Actions in flight at once' })
    .option('qps', { type: 'number', default: 20, describe: "Client-side limit on API requests per second (a burst of as many); 0: no client-side limit, only the server's 429s slow the run" })
    .option('page-size', { type: 'number', default: DEFAULT_PAGE_SIZE, describe: 'Objects per list request at most' })
    .option('page-bytes', { type: 'string', default: DEFAULT_PAGE_BYTES_QUANTITY, describe: 'Objects (as JSON) held from a list at a time, like 32Mi: what bounds memory when objects are large' })
    .option('shard-index', { type: 'number', describe: "This pod's shard (default: $JOB_COMPLETION_INDEX)" })
    .option('shard-count', { type: 'number', default: 1, describe: 'Number of shards (pods of an Indexed Job)' })
    .option('pushgateway', { type: 'string', describe: 'Prometheus Pushgateway URL for the run metrics' })
    .option('require-push', { type: 'boolean', default: false, describe: 'Fail the run when the metrics push fails' })
    .option('lease-duration', { type: 'number', default: 60, describe: 'Seconds the run lock lasts without renewal' });
}

const MIB = 1024 * 1024;

// Below a MiB a page could not hold one state at the object limit, so every page would be a cut.
const byteQuantity = z.string().transform((text, ctx) => {
  const bytes = parseByteQuantity(text);
  if (bytes === undefined) ctx.addIssue({ code: 'custom', message: `"${text}" is not a byte count: use a quantity like 32Mi, 1Gi or 33554432` });
  else if (bytes < MIB || bytes > 1024 * MIB) ctx.addIssue({ code: 'custom', message: `${text} is outside 1Mi to 1Gi` });
  return bytes ?? z.NEVER;
});

/** A duration option (7d, 12h, 90m, P7D) as a luxon Duration; `positive` refuses zero. */
export function durationOption({ positive }: { positive: boolean }) {
  return z.string().transform((text, ctx) => {
    try {
      const parsed = parseDuration(text);
      if (positive && parsed.toMillis() <= 0) throw new Error('must be longer than 0');
      return parsed;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
}

export const jobConfigSchema = z
  .object({
    allNamespaces: z.boolean(),
    concurrency: z.number().int().min(1).max(256),
    qps: z.number().min(0).max(10_000),
    pageSize: z.number().int().min(1).max(10_000),
    pageBytes: byteQuantity,
    shardIndex: z.number().int().min(0).optional(),
    shardCount: z.number().int().min(1).max(1000),
    pushgateway: z.url().optional(),
    requirePush: z.boolean(),
    leaseDuration: z.number().int().min(5).max(3600),
  })
  .transform((c, ctx) => {
    const fromEnv = process.env.JOB_COMPLETION_INDEX;
    const shardIndex = c.shardIndex ?? (fromEnv !== undefined && c.shardCount > 1 ? Number(fromEnv) : 0);
    if (!Number.isInteger(shardIndex) || shardIndex >= c.shardCount) {
      ctx.addIssue({ code: 'custom', path: ['shardIndex'], message: `must be an integer below --shard-count ${c.shardCount}, got ${shardIndex}` });
      return z.NEVER;
    }
    return { ...c, shardIndex };
  });
export type JobConfig = z.output<typeof jobConfigSchema>;

/** Validates parsed options against one or more schemas; every problem in one message naming each option. */
export function validate<S extends z.ZodType>(schema: S, input: unknown): z.output<S>;
export function validate<S extends z.ZodType, T extends z.ZodType>(schemas: [S, T], input: unknown): [z.output<S>, z.output<T>];
export function validate(schemas: z.ZodType | z.ZodType[], input: unknown): unknown {
  const results = (Array.isArray(schemas) ? schemas : [schemas]).map((schema) => schema.safeParse(input));
  const problems = results.flatMap((result) =>
    result.success
      ? []
      : result.error.issues.map((issue) => {
          const option = issue.path.length ? `--${issue.path.map((p) => String(p).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join('.')}` : 'options';
          return `${option}: ${issue.message}`;
        }),
  );
  if (problems.length) throw new UsageError(`invalid options: ${problems.join('; ')}`);
  const values = results.map((result) => result.data);
  return Array.isArray(schemas) ? values : values[0];
}
