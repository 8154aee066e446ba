// The downward API env the chart gives every pod (charts/cmstate/templates/_pod.tpl,
// cmstate.env), set around an in-process CLI run as if cmstate ran in a Job's pod.

import { randomUUID } from 'node:crypto';
import { WORKLOAD_ENV } from '../../src/job/deletion-summary.js';

export interface TestJob {
  namespace: string;
  name: string;
  uid: string;
}

export function testJob(namespace: string): TestJob {
  return { namespace, name: `cmstate-sweep-${Date.now()}`, uid: randomUUID() };
}

/** Runs `fn` with the env of a pod of `job`, restored afterwards (tests in a file run one at a time). */
export async function asJobPod<T>(job: TestJob, fn: () => Promise<T>): Promise<T> {
  const env: Record<string, string> = {
    [WORKLOAD_ENV.podNamespace]: job.namespace,
    [WORKLOAD_ENV.podName]: `${job.name}-x7k2p`,
    [WORKLOAD_ENV.podUid]: randomUUID(),
    [WORKLOAD_ENV.jobName]: job.name,
    [WORKLOAD_ENV.jobUid]: job.uid,
  };
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
