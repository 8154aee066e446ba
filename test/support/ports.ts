// A loopback port nothing listens on: a free port for a server a test starts, or a closed one
// for "unreachable" cases.

import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port assigned'))));
    });
  });
}

/**
 * A minimal kubeconfig for an API server at a closed loopback port: nothing of a real kubeconfig
 * (exec plugins, proxies, other clusters) comes along to change how the connection fails.
 */
export async function writeClosedKubeconfig(file: string, port: number): Promise<void> {
  await writeFile(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: closed, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: closed, context: {cluster: closed, user: u, namespace: default}}]',
      'current-context: closed',
    ].join('\n'),
  );
}
