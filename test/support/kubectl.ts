// The real kubectl as a subprocess, for tests that prove a real client works against the API
// server. Each run gets its own HOME and discovery cache, so no state of the developer's leaks in.

import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

function findKubectl(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, 'kubectl');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

/** The kubectl on PATH; undefined when there is none (tests skip). */
export const KUBECTL = findKubectl();

export interface KubectlRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl against `kubeconfig`, with `home` as HOME and its cache directory. */
export function kubectl(env: { kubeconfig: string; home: string }, ...args: string[]): Promise<KubectlRun> {
  return new Promise((resolve) => {
    execFile(
      KUBECTL as string,
      ['--kubeconfig', env.kubeconfig, '--cache-dir', join(env.home, 'cache'), ...args],
      { timeout: 30000, env: { ...process.env, HOME: env.home, KUBECONFIG: '' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
