// Where the API server is and which namespace to work in: --kubeconfig/--context, KUBECONFIG,
// ~/.kube/config, or the pod's service account. Built inside a command handler, never at import.

import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ExitCode } from '../exit.js';

export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
  readonly exitCode = ExitCode.usage;
}

export interface LoadedKubeConfig {
  kubeConfig: KubeConfig;
  /** The context's namespace; in a pod, the service account's; else "default". */
  namespace: string;
  server: string;
  contextName: string;
}

export interface KubeConfigSource {
  kubeconfig?: string;
  context?: string;
}

export function loadKubeConfig(source: KubeConfigSource): LoadedKubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    if (source.kubeconfig) kubeConfig.loadFromFile(source.kubeconfig);
    else if (process.env.KUBECONFIG) loadKubeconfigList(kubeConfig, process.env.KUBECONFIG);
    else kubeConfig.loadFromDefault();
  } catch (err) {
    const where = source.kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config';
    throw new KubeConfigError(`cannot load kubeconfig ${where}: ${(err as Error).message}`, { cause: err });
  }
  if (source.context) {
    if (!kubeConfig.getContextObject(source.context)) {
      const known =
        kubeConfig
          .getContexts()
          .map((c) => c.name)
          .join(', ') || 'none';
      throw new KubeConfigError(`context "${source.context}" is not in the kubeconfig (known: ${known})`);
    }
    kubeConfig.setCurrentContext(source.context);
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) {
    throw new KubeConfigError('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod with a service account');
  }
  const contextName = kubeConfig.getCurrentContext();
  const namespace = kubeConfig.getContextObject(contextName)?.namespace?.trim() || 'default';
  return { kubeConfig, namespace, server: cluster.server, contextName };
}

/**
 * KUBECONFIG as kubectl reads it (client-go's loading rules), not as client-node's loadFromDefault
 * does: missing and empty files are skipped, the first file's current-context wins, and of two
 * clusters, users or contexts with one name the first wins (client-node refuses the duplicate).
 * When no file has anything, a pod's service account is used, as client-go falls back to it.
 */
function loadKubeconfigList(into: KubeConfig, list: string): void {
  const loaded = list
    .split(path.delimiter)
    .filter((file) => file && existsSync(file) && statSync(file).size > 0)
    .map((file) => {
      const kc = new KubeConfig();
      // Each file's relative paths (certificates, keys) resolve against that file, as kubectl does.
      kc.loadFromFile(file);
      return kc;
    });
  if (loaded.length === 0) {
    if (existsSync(SERVICE_ACCOUNT_TOKEN)) into.loadFromCluster();
    return;
  }
  into.loadFromOptions({
    clusters: firstByName(loaded.flatMap((kc) => kc.clusters)),
    users: firstByName(loaded.flatMap((kc) => kc.users)),
    contexts: firstByName(loaded.flatMap((kc) => kc.contexts)),
    currentContext: loaded.find((kc) => kc.currentContext)?.currentContext ?? '',
  });
}

function firstByName<T extends { name: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((item) => !seen.has(item.name) && seen.add(item.name));
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
