// The API server the integration tests talk to: the embedded local API server by default, or a
// real cluster when CMSTATE_TEST_KUBECONFIG points to one. Each test gets a fresh namespace,
// deleted afterwards, so the same tests run unchanged on both. Fresh is not empty: both put a
// kube-root-ca.crt ConfigMap in every namespace, so tests select their own objects (by label or
// name); and both garbage-collect the archives of a deleted state, in their own time.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestOptions } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { KubeClient, type KubeClientOptions } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { LocalApiServer } from '../../src/local-apiserver/index.js';

export interface TestCluster {
  /** A kubeconfig file for CLI processes and kubectl. */
  kubeconfig: string;
  /** The embedded server; undefined against a real cluster (fault injection, request log). */
  local: LocalApiServer | undefined;
  /** A fresh namespace for this test. */
  namespace: string;
  client(options?: KubeClientOptions): KubeClient;
  /** A second fresh namespace, deleted with the first. */
  extraNamespace(): Promise<string>;
  close(): Promise<void>;
}

const realKubeconfig = process.env.CMSTATE_TEST_KUBECONFIG;
export const againstRealCluster = Boolean(realKubeconfig);

/**
 * A test or suite that needs what only the embedded server has (fault injection, the request log,
 * deny rules, seeding, token expiry): its name says so on both servers, and it is skipped against a
 * real cluster. Spread it: `test(...embeddedOnly('fault injection', 'a 500 is retried'), async () => …)`.
 */
export function embeddedOnly(need: string, name: string): [name: string, options: TestOptions] {
  return [`${name} [embedded only: ${need}]`, { skip: againstRealCluster ? `needs the embedded API server: ${need}` : false }];
}

/**
 * Waits until `check` returns something other than undefined, for what a cluster's controllers do
 * in their own time (the garbage collector, the root-CA publisher); fails after `timeoutMs`.
 */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startTestCluster(options: { continueTokenTtlMs?: number } = {}): Promise<TestCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cmstate-test-'));
  let local: LocalApiServer | undefined;
  let kubeconfig: string;
  if (realKubeconfig) {
    kubeconfig = realKubeconfig;
  } else {
    local = await LocalApiServer.start({ port: 0, continueTokenTtlMs: options.continueTokenTtlMs });
    kubeconfig = path.join(dir, 'kubeconfig');
    await local.writeKubeconfig(kubeconfig);
  }
  const loaded = loadKubeConfig({ kubeconfig });
  const core = loaded.kubeConfig.makeApiClient(CoreV1Api);
  const namespaces: string[] = [];
  const createNamespace = async () => {
    const name = `cmstate-test-${randomBytes(4).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name } } });
    namespaces.push(name);
    return name;
  };
  const namespace = await createNamespace();
  return {
    kubeconfig,
    local,
    namespace,
    client: (clientOptions = {}) => new KubeClient(loaded.kubeConfig, { qps: 1000, ...clientOptions }),
    extraNamespace: createNamespace,
    close: async () => {
      for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
      await local?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
