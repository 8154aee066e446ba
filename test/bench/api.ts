// Issue 2's figure: how many ConfigMaps per second the local API server creates and lists, as a
// client sees it through KubeClient (the path every job takes), with the server in its own process.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { runBounded } from '../../src/job/executor.js';
import { TASK_SELECTOR } from '../../src/state/labels.js';
import { feedbackEntries, stateConfigMap } from '../support/states.js';
import { startServerProcess } from './server-process.js';
import { median, type BenchOptions, type BenchSection, type Cell } from './table.js';

const NAMESPACE = 'bench-api';
const CREATE_CONCURRENCY = 16;
const PAGE_SIZE = 500;
const LIST_REPEATS = 3;

export async function benchApi(options: BenchOptions): Promise<BenchSection> {
  const count = options.scale === 'full' ? 10_000 : 1_000;
  const dir = await mkdtemp(path.join(tmpdir(), 'cmstate-bench-api-'));
  const server = await startServerProcess({ namespace: NAMESPACE, kubeconfig: path.join(dir, 'kubeconfig') });
  try {
    // No client-side limit: the figure is the server's (and the client layer's) throughput.
    const client = new KubeClient(loadKubeConfig({ kubeconfig: server.kubeconfig }).kubeConfig, { qps: 1_000_000 });
    const lastUpdate = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const objects = Array.from({ length: count }, (_, i) =>
      stateConfigMap({ id: `api-${String(i).padStart(6, '0')}`, namespace: NAMESPACE, lastUpdate, feedback: feedbackEntries(8, { descriptionBytes: 200 }) }),
    );
    const avgBytes = objects.reduce((sum, cm) => sum + JSON.stringify(cm).length, 0) / count;
    const rows: Cell[][] = [];

    options.progress(`api: creating ${count} ConfigMaps (concurrency ${CREATE_CONCURRENCY})`);
    await server.resetRequests();
    let started = performance.now();
    await runBounded(objects, CREATE_CONCURRENCY, async (cm) => {
      await client.createConfigMap(cm);
    });
    const createSeconds = (performance.now() - started) / 1000;
    rows.push([`create (concurrency ${CREATE_CONCURRENCY})`, count, createSeconds, count / createSeconds, (await server.requests()).total]);

    const lists: [string, () => AsyncGenerator<unknown[]>][] = [
      [`list full, pages of ${PAGE_SIZE}`, () => client.listConfigMapPages({ namespace: NAMESPACE, labelSelector: TASK_SELECTOR, pageSize: PAGE_SIZE })],
      [`list metadata-only, pages of ${PAGE_SIZE}`, () => client.listConfigMapMetadataPages({ namespace: NAMESPACE, labelSelector: TASK_SELECTOR, pageSize: PAGE_SIZE })],
    ];
    for (const [label, pages] of lists) {
      options.progress(`api: ${label}, ${LIST_REPEATS} times`);
      const seconds: number[] = [];
      let requests = 0;
      for (let repeat = 0; repeat < LIST_REPEATS; repeat++) {
        await server.resetRequests();
        started = performance.now();
        let listed = 0;
        for await (const page of pages()) listed += page.length;
        seconds.push((performance.now() - started) / 1000);
        requests = (await server.requests()).total;
        if (listed !== count) throw new Error(`${label} returned ${listed} ConfigMaps, expected ${count}`);
      }
      const s = median(seconds);
      rows.push([label, count, s, count / s, requests]);
    }
    return {
      title: `API server throughput (issue 2): ${count.toLocaleString('en-US')} state ConfigMaps of ~${(avgBytes / 1024).toFixed(1)} KiB`,
      columns: ['operation', 'objects', 'seconds', 'objects/s', 'requests'],
      rows,
      notes: [
        'Local API server in its own process; the client is KubeClient (rate limiter off, retries on), on the same 2-core machine.',
        `Lists: median of ${LIST_REPEATS} passes; "requests" counted from the server's request log for one pass.`,
      ],
    };
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
