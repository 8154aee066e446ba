// The real kubectl against the local API server, through a kubeconfig the server writes: proof
// that discovery, Table printing, protobuf create bodies, patches and conflicts work for a real client.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalApiServer, type KubeObject } from '../../src/local-apiserver/index.js';
import { KUBECTL, kubectl as runKubectl, type KubectlRun } from '../support/kubectl.js';

describe('kubectl against the local API server', () => {
  let server: LocalApiServer;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    if (!KUBECTL) return;
    server = await LocalApiServer.start();
    dir = await mkdtemp(join(tmpdir(), 'cmstate-kubectl-'));
    kubeconfig = join(dir, 'kubeconfig');
    await server.writeKubeconfig(kubeconfig, 'kubectl');
    server.seed([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kubectl' } },
      { metadata: { name: 'seeded-x', namespace: 'kubectl', labels: { app: 'x' } }, data: { a: '1', b: '2' } },
      { metadata: { name: 'seeded-y', namespace: 'kubectl', labels: { app: 'y' } }, data: { a: '1' } },
    ]);
  });

  after(async () => {
    if (!KUBECTL) return;
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  function kubectl(...args: string[]): Promise<KubectlRun> {
    return runKubectl({ kubeconfig, home: dir }, ...args);
  }

  async function ok(...args: string[]): Promise<string> {
    const r = await kubectl(...args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  const stored = (name: string) => server.getObject('v1', 'ConfigMap', 'kubectl', name) as KubeObject & { data?: Record<string, string> };

  test('get cm prints the server-side table', async (t) => {
    if (!KUBECTL) return t.skip('kubectl not found');
    const out = await ok('get', 'cm');
    const lines = out.trim().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+DATA\s+AGE$/);
    assert.match(out, /^seeded-x\s+2\s+\d+s$/m);
    assert.match(out, /^seeded-y\s+1\s+\d+s$/m);
  });

  test('get cm -l app=x filters by label', async (t) => {
    if (!KUBECTL) return t.skip('kubectl not found');
    const out = await ok('get', 'cm', '-l', 'app=x');
    assert.match(out, /seeded-x/);
    assert.doesNotMatch(out, /seeded-y/);
    assert.equal(server.requests.at(-1)?.query.get('labelSelector'), 'app=x');
  });

  test('get cm NAME -o json prints the object', async (t) => {
    if (!KUBECTL) return t.skip('kubectl not found');
    const obj = JSON.parse(await ok('get', 'cm', 'seeded-x', '-o', 'json'));
    assert.equal(obj.kind, 'ConfigMap');
    assert.deepEqual(obj.data, { a: '1', b: '2' });
    assert.equal(obj.metadata.uid, stored('seeded-x').metadata['uid']);
  });

  test('create, label, annotate, three patch types, stale replace, delete', async (t) => {
    if (!KUBECTL) return t.skip('kubectl not found');
    assert.match(await ok('create', 'configmap', 'x', '--from-literal=a=b'), /configmap\/x created/);
    assert.deepEqual(stored('x').data, { a: 'b' });

    await ok('label', 'cm', 'x', 'k=v');
    assert.deepEqual(stored('x').metadata.labels, { k: 'v' });
    await ok('annotate', 'cm', 'x', 'k=v');
    assert.deepEqual(stored('x').metadata['annotations'], { k: 'v' });

    await ok('patch', 'cm', 'x', '-p', '{"data":{"a":"c"}}');
    assert.equal(stored('x').data?.['a'], 'c');
    assert.equal(server.requests.findLast((r) => r.method === 'PATCH')?.contentType, 'application/strategic-merge-patch+json');
    await ok('patch', 'cm', 'x', '--type=merge', '-p', '{"data":{"m":"1"}}');
    assert.equal(stored('x').data?.['m'], '1');
    await ok('patch', 'cm', 'x', '--type=json', '-p', '[{"op":"replace","path":"/data/a","value":"j"}]');
    assert.deepEqual(stored('x').data, { a: 'j', m: '1' });

    const file = join(dir, 'x.json');
    await writeFile(file, await ok('get', 'cm', 'x', '-o', 'json'));
    await ok('label', 'cm', 'x', 'k=w', '--overwrite');
    const stale = await kubectl('replace', '-f', file);
    assert.notEqual(stale.code, 0);
    assert.match(stale.stderr, /conflict|modified/i);
    assert.equal(stored('x').metadata.labels?.['k'], 'w', 'the stale replace changed nothing');

    assert.match(await ok('delete', 'cm', 'x'), /configmap "x" deleted/);
    assert.equal(stored('x'), undefined);
    const missing = await kubectl('get', 'cm', 'x');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /NotFound.*configmaps "x" not found/);
  });

  test('get ns, create ns, delete ns', async (t) => {
    if (!KUBECTL) return t.skip('kubectl not found');
    assert.match(await ok('get', 'ns'), /^default\s+Active\s+/m);
    assert.match(await ok('create', 'ns', 'made-by-kubectl'), /namespace\/made-by-kubectl created/);
    assert.match(await ok('get', 'ns', 'made-by-kubectl'), /made-by-kubectl\s+Active/);
    await ok('delete', 'ns', 'made-by-kubectl');
    assert.equal(server.getObject('v1', 'Namespace', undefined, 'made-by-kubectl'), undefined);
  });

  test('auth can-i follows deny rules; leases and events list', async (t) => {
    if (!KUBECTL) return t.skip('kubectl not found');
    assert.equal((await ok('auth', 'can-i', 'delete', 'configmaps')).trim(), 'yes');
    const rule = server.deny({ verb: 'delete', resource: 'configmaps', namespace: 'kubectl' });
    const denied = await kubectl('auth', 'can-i', 'delete', 'configmaps');
    assert.equal(denied.stdout.trim(), 'no');
    const forbidden = await kubectl('delete', 'cm', 'seeded-y');
    assert.notEqual(forbidden.code, 0);
    assert.match(forbidden.stderr, /Forbidden.*cannot delete resource "configmaps"/);
    rule.remove();
    assert.match((await kubectl('get', 'leases')).stderr, /No resources found in kubectl namespace/);
    assert.match((await kubectl('get', 'events')).stderr, /No resources found in kubectl namespace/);
  });
});
