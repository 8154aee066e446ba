// A kubeconfig pointing at the local API server, written by hand (JSON strings are valid YAML
// scalars) so the shipped server needs no YAML library.

export const LOCAL_CONTEXT = 'cmstate-local';

export interface KubeconfigOptions {
  url: string;
  namespace: string;
  token: string;
}

export function kubeconfigYaml({ url, namespace, token }: KubeconfigOptions): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${LOCAL_CONTEXT}`,
    '  cluster:',
    `    server: ${q(url)}`,
    // @kubernetes/client-node refuses plain http unless TLS verification is explicitly off.
    '    insecure-skip-tls-verify: true',
    'users:',
    `- name: ${LOCAL_CONTEXT}`,
    '  user:',
    `    token: ${q(token)}`,
    'contexts:',
    `- name: ${LOCAL_CONTEXT}`,
    '  context:',
    `    cluster: ${LOCAL_CONTEXT}`,
    `    user: ${LOCAL_CONTEXT}`,
    `    namespace: ${q(namespace)}`,
    `current-context: ${LOCAL_CONTEXT}`,
    'preferences: {}',
    '',
  ].join('\n');
}
