// Where a benchmark that can run anywhere runs: the embedded API server in a process of its own
// (server-process.ts), or an existing cluster (`npm run bench -- --kubeconfig FILE`). Either way
// it works only in namespaces it created (a create fails on an existing one, so callers name them
// with a random suffix) and deletes them: when asked, on close, and on Ctrl-C or SIGTERM (then the
// process exits 130 or 143). Its scratch directory goes at the same times.

import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

export interface BenchCluster {
  kubeconfig: string;
  /** A temporary directory for the caller's files (snapshots), removed on close. */
  dir: string;
  /** For notes: the embedded server, or the cluster's server URL. */
  description: string;
  /** No client-side rate limit: what bounds the load is the caller's concurrency. */
  client: KubeClient;
  /** Creates a namespace (409 if it exists: never one that is not the bench's). */
  createNamespace(name: string): Promise<void>;
  /** Deletes every namespace created so far (a cluster finishes the deletion in its own time). */
  deleteNamespaces(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the embedded server, or connects to the cluster of `kubeconfig`. */
export async function openBenchCluster(kubeconfig: string | undefined): Promise<BenchCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cmstate-bench-'));
  let server: ServerProcess | undefined;
  if (kubeconfig === undefined) {
    // The server process needs a namespace for its kubeconfig's context; the bench uses its own.
    server = await startServerProcess({ namespace: 'cmstate-bench', kubeconfig: path.join(dir, 'kubeconfig') });
  }
  const file = server?.kubeconfig ?? (kubeconfig as string);
  const loaded = loadKubeConfig({ kubeconfig: file });
  const core = loaded.kubeConfig.makeApiClient(CoreV1Api);
  const created: string[] = [];

  const deleteNamespaces = async () => {
    for (const name of created.splice(0)) {
      await core.deleteNamespace({ name }).catch((err: unknown) => process.stderr.write(`[bench] could not delete namespace ${name}: ${(err as Error).message}\n`));
    }
  };
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      // The embedded server's namespaces go with it.
      if (!server) await deleteNamespaces();
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    })();
    return closed;
  };
  // Listening until the namespaces are gone, not `once`: Ctrl-C under npm and tsx arrives more
  // than once, and a signal without a listener would end the process halfway. tsx SIGKILLs a
  // process that does not take a signal within ~60 ms (busy encoding ~1 MiB states, say): what
  // is then left carries the label app.kubernetes.io/created-by=cmstate-bench.
  function onSignal(signal: NodeJS.Signals): void {
    if (!closed) process.stderr.write(`[bench] ${signal}: deleting the bench's namespaces\n`);
    void close().finally(() => process.exit(128 + os.constants.signals[signal]));
  }
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);

  return {
    kubeconfig: file,
    dir,
    description: server ? 'the embedded API server (test/bench/server-process.ts, a process of its own)' : `the cluster at ${loaded.server} (${file})`,
    client: new KubeClient(loaded.kubeConfig, { qps: 1_000_000 }),
    createNamespace: async (name) => {
      await core.createNamespace({ body: { metadata: { name, labels: { 'app.kubernetes.io/created-by': 'cmstate-bench' } } } });
      created.push(name);
    },
    deleteNamespaces,
    close,
  };
}
