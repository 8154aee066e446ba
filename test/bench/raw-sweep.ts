// The sweep benchmark's baseline: the fastest plain client for the same deletion, to measure
// what cmstate's own machinery costs. @kubernetes/client-node with nothing of cmstate: list the
// task states' metadata (PartialObjectMetadataList, pages of 500), pick the expired ones by their
// cmstate.io/last-update annotation, and delete them by name, `concurrency` requests in flight, no
// rate limit, no preconditions, no retries, no Events, no lock.
//
// Run as a script (`--run KUBECONFIG NAMESPACE CUTOFF_MS CONCURRENCY`) it prints its result as one
// JSON line: the bench runs it as a fresh process, cold like the cmstate process it compares with.

import { CoreV1Api, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import { of } from '@kubernetes/client-node/dist/gen/rxjsStub.js';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runBounded } from '../../src/job/executor.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { ANNOTATION_LAST_UPDATE, TASK_SELECTOR } from '../../src/state/labels.js';

const thisFile = fileURLToPath(import.meta.url);

const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const PAGE_SIZE = 500;

export interface RawSweepResult {
  seconds: number;
  listed: number;
  deleted: number;
  /** Counted by the client: what it sent. */
  requests: { lists: number; deletes: number };
}

/**
 * One connection pool for every request: @kubernetes/client-node 2.x builds an undici Agent per
 * request when TLS options are set (any real cluster), a new connection each. Any client that
 * cares about speed shares one (src/kube/client.ts does), so the baseline does too.
 */
function sharedPool() {
  let shared: unknown;
  return {
    pre: (request: RequestContext) => {
      const own = request.getDispatcher();
      if (own !== undefined) {
        shared ??= own;
        request.setDispatcher(shared as typeof own);
      }
      return of(request);
    },
    post: <R>(response: R) => of(response),
  };
}

export async function rawSweep(kubeConfig: KubeConfig, namespace: string, cutoffMs: number, concurrency: number): Promise<RawSweepResult> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const transport = { middleware: [sharedPool()], middlewareMergeStrategy: 'append' as const } as unknown as Parameters<typeof setHeaderOptions>[2];
  const listTransport = setHeaderOptions('Accept', METADATA_ACCEPT, transport);
  const started = performance.now();
  const expired: string[] = [];
  let listed = 0;
  let lists = 0;
  let token: string | undefined;
  do {
    const page = await core.listNamespacedConfigMap({ namespace, labelSelector: TASK_SELECTOR, limit: PAGE_SIZE, _continue: token }, listTransport);
    lists++;
    // A real server answers an empty metadata-only list with "items": null.
    for (const item of page.items ?? []) {
      listed++;
      const lastUpdate = Date.parse(item.metadata?.annotations?.[ANNOTATION_LAST_UPDATE] ?? '');
      if (lastUpdate < cutoffMs && item.metadata?.name) expired.push(item.metadata.name);
    }
    token = page.metadata?._continue || undefined;
  } while (token);
  await runBounded(expired, concurrency, async (name) => {
    await core.deleteNamespacedConfigMap({ namespace, name }, transport);
  });
  return { seconds: (performance.now() - started) / 1000, listed, deleted: expired.length, requests: { lists, deletes: expired.length } };
}

/** `node --import tsx raw-sweep.ts --run …`, for measure(). */
export function rawSweepCommand(kubeconfig: string, namespace: string, cutoffMs: number, concurrency: number): string[] {
  return ['--import', 'tsx', thisFile, '--run', kubeconfig, namespace, String(cutoffMs), String(concurrency)];
}

if (process.argv[2] === '--run' && path.resolve(process.argv[1] ?? '') === thisFile) {
  const [kubeconfig, namespace, cutoffMs, concurrency] = process.argv.slice(3);
  const result = await rawSweep(loadKubeConfig({ kubeconfig }).kubeConfig, namespace as string, Number(cutoffMs), Number(concurrency));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
