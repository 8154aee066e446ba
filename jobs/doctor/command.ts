// `cmstate doctor`: can cmstate do its jobs from here? Config, API server, the RBAC verbs of the
// enabled jobs, Pushgateway, snapshot directory; each ok or a problem with its fix, exit 1 on any
// problem. What `helm test` runs. It answers in seconds: few retries, a short request deadline.

import { z } from 'zod';
import { defineCommand } from '../../src/command.js';
import type { Connection } from '../../src/connect.js';
import { validate } from '../../src/config.js';
import { ExitCode, oneLine } from '../../src/exit.js';
import type { RetryPolicy } from '../../src/kube/retry.js';
import { DEFAULT_DOCTOR_JOBS, DOCTOR_JOBS, checkAccess, checkApi, checkPushgateway, checkSnapshotDir, formatCheck, requiredAccess, type CheckResult, type DoctorJob } from './checks.js';

/** One quick retry: a diagnosis must not hang for a minute on an unreachable server. */
export const DOCTOR_RETRY: RetryPolicy = { maxAttempts: 2, initialDelayMs: 250, maxDelayMs: 1000, maxElapsedMs: 5000, factor: 2, jitter: 0.5 };
const REQUEST_TIMEOUT_MS = 5000;

const jobList = z.string().transform((text, ctx) => {
  const jobs = text
    .split(',')
    .map((j) => j.trim())
    .filter(Boolean);
  const unknown = jobs.filter((j) => !(DOCTOR_JOBS as readonly string[]).includes(j));
  if (unknown.length > 0 || jobs.length === 0) {
    ctx.addIssue({ code: 'custom', message: `${unknown.length ? `unknown job ${unknown.join(', ')}` : 'name at least one job'}; choose from ${DOCTOR_JOBS.join(', ')}` });
    return z.NEVER;
  }
  return [...new Set(jobs)] as DoctorJob[];
});

const doctorConfigSchema = z.object({
  jobs: jobList,
  allNamespaces: z.boolean(),
  pushgateway: z.string().min(1).optional(),
  snapshotDir: z.string().min(1).optional(),
});

export const doctorCommand = defineCommand({
  command: 'doctor',
  describe: 'Check that cmstate can do its jobs here: config, API server, RBAC verbs, Pushgateway, snapshot directory',
  builder: (yargs) =>
    yargs
      .option('jobs', { type: 'string', default: DEFAULT_DOCTOR_JOBS.join(','), describe: `Comma-separated jobs whose RBAC verbs to check (${DOCTOR_JOBS.join(', ')})` })
      .option('all-namespaces', { alias: 'A', type: 'boolean', default: false, describe: 'Check ConfigMap and Event verbs in every namespace (the jobs run with --all-namespaces)' })
      .option('pushgateway', { type: 'string', describe: 'Check that this Pushgateway URL is reachable (GET /-/ready)' })
      .option('snapshot-dir', { type: 'string', describe: 'Check that this snapshot directory is writable (creates and removes a file)' }),
  handler: async (args, ctx) => {
    const options = validate(doctorConfigSchema, args);
    const checks: CheckResult[] = [];

    let connection: Connection | undefined;
    try {
      connection = ctx.connect({ retry: DOCTOR_RETRY, requestTimeoutMs: REQUEST_TIMEOUT_MS });
      checks.push({ name: 'config', ok: true, detail: `loaded ${configSource(ctx.config.kubeconfig)}: server ${connection.server}, namespace ${connection.namespace}`, fix: null });
    } catch (err) {
      checks.push({
        name: 'config',
        ok: false,
        detail: `${oneLine(err)} (API and RBAC not checked)`,
        fix: 'pass --kubeconfig (or set KUBECONFIG) to a valid kubeconfig, or run in a pod with a service account token mounted',
      });
    }
    if (connection) {
      const api = await checkApi(connection.client);
      checks.push(api);
      if (api.ok) {
        const scope = options.allNamespaces ? undefined : connection.namespace;
        checks.push(...(await checkAccess(connection.client, requiredAccess(options.jobs), scope, connection.namespace)));
      }
    }
    if (options.pushgateway !== undefined) checks.push(await checkPushgateway(options.pushgateway));
    if (options.snapshotDir !== undefined) checks.push(await checkSnapshotDir(options.snapshotDir));

    const ok = checks.every((c) => c.ok);
    if (ctx.config.output === 'json') {
      ctx.print(JSON.stringify({ checks, ok }));
    } else {
      for (const check of checks) ctx.print(formatCheck(check));
      const failed = checks.filter((c) => !c.ok).length;
      ctx.print(ok ? `doctor: all ${checks.length} checks passed (jobs: ${options.jobs.join(', ')})` : `doctor: ${failed} of ${checks.length} checks failed`);
    }
    return ok ? ExitCode.ok : ExitCode.failed;
  },
});

function configSource(kubeconfig: string | undefined): string {
  if (kubeconfig) return `kubeconfig ${kubeconfig}`;
  if (process.env.KUBECONFIG) return `kubeconfig $KUBECONFIG (${process.env.KUBECONFIG})`;
  return process.env.KUBERNETES_SERVICE_HOST ? 'in-cluster service account' : 'kubeconfig ~/.kube/config';
}
