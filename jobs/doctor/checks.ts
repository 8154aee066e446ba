// The checks of `cmstate doctor`: each answers ok or problem, with the fix a person can apply. The
// verbs are the job descriptors' (src/job/descriptors.ts), which the chart grants
// (cmstate.rbacVerbs); test/unit/chart.test.ts compares the two.

import { randomBytes } from 'node:crypto';
import { rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KubeClient } from '../../src/kube/client.js';
import { KubeError } from '../../src/kube/errors.js';
import { oneLine } from '../../src/exit.js';
import { DEPLOYED_JOBS, EVERY_JOB_ACCESS, METRICS_WITH_FEEDBACK_ACCESS, type Access } from '../../src/job/descriptors.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about a problem; null when ok. */
  fix: string | null;
}

/**
 * Verbs each job the chart deploys needs, per resource ("resource" or "resource.group"), in the
 * chart's shape (src/job/descriptors.ts): metricsFeedback applies when the metrics job reads
 * feedback, everyJob to every job (run lock, Events).
 */
export const JOB_VERBS: Readonly<Record<string, Access>> = {
  ...Object.fromEntries(DEPLOYED_JOBS.map((job) => [job.name, job.access])),
  metricsFeedback: METRICS_WITH_FEEDBACK_ACCESS,
  everyJob: EVERY_JOB_ACCESS,
};

export const DOCTOR_JOBS: readonly string[] = DEPLOYED_JOBS.map((job) => job.name);
export type DoctorJob = string;
/** The scheduled ones; restore is checked when asked for. */
export const DEFAULT_DOCTOR_JOBS: readonly DoctorJob[] = DEPLOYED_JOBS.filter((job) => job.deployed === 'cronjob').map((job) => job.name);

/** One resource the jobs touch, and which jobs need each verb on it. */
export interface ResourceNeed {
  resource: string;
  group: string;
  /** verb → the jobs that need it, in table order. */
  verbs: Map<string, string[]>;
}

/** The union of the verbs `jobs` need, per resource, in table order. */
export function requiredAccess(jobs: readonly DoctorJob[]): ResourceNeed[] {
  const needs = new Map<string, ResourceNeed>();
  const grants: [string, Access][] = jobs.map((job): [string, Access] => [job, JOB_VERBS[job] ?? {}]);
  if (jobs.length > 0) grants.push(['every job', EVERY_JOB_ACCESS]);
  for (const [job, table] of grants) {
    for (const [key, verbs] of Object.entries(table)) {
      const [resource = key, group = ''] = key.split(/\.(.*)/s);
      const need = needs.get(key) ?? { resource, group, verbs: new Map<string, string[]>() };
      needs.set(key, need);
      for (const verb of verbs) need.verbs.set(verb, [...(need.verbs.get(verb) ?? []), job]);
    }
  }
  return [...needs.values()];
}

/** Reachability, and the server's version. */
export async function checkApi(client: KubeClient): Promise<CheckResult> {
  try {
    const version = await client.serverVersion();
    return { name: 'api', ok: true, detail: `API server ${client.server} answers, version ${version}`, fix: null };
  } catch (err) {
    const kind = err instanceof KubeError ? err.kind : 'unexpected';
    const fix =
      kind === 'unauthorized'
        ? "the credentials were rejected: refresh the kubeconfig user or token, or check the pod's service account token"
        : `make the API server at ${client.server} reachable from here (is it up? DNS, proxy, VPN, NetworkPolicy egress), or point --kubeconfig/--context at the right cluster`;
    return { name: 'api', ok: false, detail: `${oneLine(err)} (RBAC not checked)`, fix };
  }
}

/**
 * One SelfSubjectAccessReview per verb. Leases live in the run's own namespace; ConfigMaps and
 * Events wherever the jobs work (`scope` undefined: every namespace, as with --all-namespaces).
 */
export async function checkAccess(client: KubeClient, needs: readonly ResourceNeed[], scope: string | undefined, leaseNamespace: string): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const need of needs) {
    const namespace = need.resource === 'leases' ? leaseNamespace : scope;
    const name = `rbac ${need.group ? `${need.resource}.${need.group}` : need.resource}`;
    const where = namespace === undefined ? 'in every namespace' : `in namespace "${namespace}"`;
    const denied: string[] = [];
    try {
      for (const verb of need.verbs.keys()) {
        if (!(await client.canI(verb, need.resource, namespace, need.group))) denied.push(verb);
      }
    } catch (err) {
      results.push({
        name,
        ok: false,
        detail: `cannot ask the API server what this identity may do: ${oneLine(err)}`,
        fix: 'allow create on selfsubjectaccessreviews.authorization.k8s.io (the default system:basic-user ClusterRole does)',
      });
      continue;
    }
    const verbs = [...need.verbs.keys()];
    if (denied.length === 0) {
      results.push({ name, ok: true, detail: `${verbs.join(', ')} allowed ${where}`, fix: null });
      continue;
    }
    const neededBy = denied.map((verb) => `${verb} (${need.verbs.get(verb)?.join(', ')})`).join(', ');
    results.push({ name, ok: false, detail: `denied ${where}: ${neededBy}`, fix: grantFix(need, denied, namespace) });
  }
  return results;
}

function grantFix(need: ResourceNeed, verbs: readonly string[], namespace: string | undefined): string {
  const resource = need.group ? `${need.resource}.${need.group}` : need.resource;
  const kubectl =
    namespace === undefined
      ? `kubectl create clusterrole cmstate-extra --verb=${verbs.join(',')} --resource=${resource} and a clusterrolebinding to this service account`
      : `kubectl -n ${namespace} create role cmstate-extra --verb=${verbs.join(',')} --resource=${resource} and a rolebinding to this service account`;
  return `grant ${verbs.join(', ')} on ${resource} ${namespace === undefined ? 'cluster-wide' : `in namespace "${namespace}"`}: with the Helm chart keep rbac.create=true and enable the job; by hand, ${kubectl}`;
}

/** GET <url>/-/ready with a short deadline. */
export async function checkPushgateway(url: string, timeoutMs = 3000): Promise<CheckResult> {
  const name = 'pushgateway';
  const fix = `make the Pushgateway at ${url} reachable from here (is it running? Service name and port, NetworkPolicy), or fix --pushgateway (chart: pushgateway.url)`;
  let ready: URL;
  try {
    ready = new URL('-/ready', url.endsWith('/') ? url : `${url}/`);
  } catch {
    return { name, ok: false, detail: `"${url}" is not a URL`, fix: 'set --pushgateway to the Pushgateway base URL, e.g. http://pushgateway.monitoring:9091' };
  }
  try {
    const response = await fetch(ready, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    if (response.ok) return { name, ok: true, detail: `${url} is ready`, fix: null };
    return { name, ok: false, detail: `${ready.href} answered HTTP ${response.status}`, fix };
  } catch (err) {
    const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
    return { name, ok: false, detail: `cannot reach ${ready.href}: ${why}`, fix };
  }
}

/** Creates and removes a file in `dir`, as a snapshot would. */
export async function checkSnapshotDir(dir: string): Promise<CheckResult> {
  const name = 'snapshot-dir';
  const fix = `mount a writable volume at ${dir} (chart: snapshots.existingClaim or the created PVC; the pod's fsGroup must own it), or pass another --snapshot-dir`;
  try {
    if (!(await stat(dir)).isDirectory()) return { name, ok: false, detail: `${dir} is not a directory`, fix };
  } catch (err) {
    return { name, ok: false, detail: `${dir}: ${(err as NodeJS.ErrnoException).code ?? oneLine(err)}`, fix };
  }
  const probe = path.join(dir, `.cmstate-doctor-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(probe, 'cmstate doctor\n', { flag: 'wx' });
    await rm(probe, { force: true });
    return { name, ok: true, detail: `${dir} is writable`, fix: null };
  } catch (err) {
    await rm(probe, { force: true }).catch(() => undefined);
    return { name, ok: false, detail: `cannot write in ${dir}: ${(err as NodeJS.ErrnoException).code ?? oneLine(err)}`, fix };
  }
}

/** One line per check for people. */
export function formatCheck(check: CheckResult): string {
  return check.ok ? `✔ ${check.name}: ${check.detail}` : `✖ ${check.name}: ${check.detail} — fix: ${check.fix ?? ''}`;
}
