// What the tests' own servers (Pushgateway, Prometheus: Debian's binaries started as our processes)
// share: waiting for /-/ready, and stopping.

import type { ChildProcess } from 'node:child_process';

/** Whether the server at `url` answers its /-/ready endpoint (both Prometheus and the Pushgateway have one). */
export async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(500) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** SIGTERM unless it has already exited; resolves once it has. */
export async function stopDaemon(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await exited;
}
