// Where the API server is and which namespace to work in: --kubeconfig/--context, KUBECONFIG,
// ~/.kube/config, or the pod's service account. Built inside a command handler, never at import.

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
