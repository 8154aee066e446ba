// What ctx.connect does: builds the KubeConfig and the client when a handler first asks for them.
// A module of its own because it is what loads @kubernetes/client-node, most of the CLI's
// start-up time and memory: the command wrapper imports it only for a command that may reach a
// cluster, when that command runs.

import type { GlobalConfig } from './config.js';
import { KubeClient, type KubeClientOptions } from './kube/client.js';
import { loadKubeConfig } from './kube/config.js';
import type { Logger } from './log.js';

export interface Connection {
  client: KubeClient;
  /** --namespace, else the context's (in a pod: the service account's). */
  namespace: string;
  server: string;
}

export function connector(config: GlobalConfig, log: Logger): (options?: KubeClientOptions) => Connection {
  return (options = {}) => {
    const loaded = loadKubeConfig({ kubeconfig: config.kubeconfig, context: config.context });
    const client = new KubeClient(loaded.kubeConfig, {
      serverDryRun: config.dryRun === 'server',
      onRetry: (err, attempt, delayMs) => log.warn({ attempt, delayMs, code: err.code }, `retrying: ${err.message}`),
      ...options,
    });
    return { client, namespace: config.namespace ?? loaded.namespace, server: loaded.server };
  };
}
