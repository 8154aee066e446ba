// `kubectl create -f` of a `kind: List`. kubectl cannot ask the server to validate a List's items
// (fieldValidation is per object), so before creating anything it validates them itself against
// the server's /openapi/v2 document, read as gnostic protobuf. Runs on the embedded server, or on
// a real cluster with CMSTATE_TEST_KUBECONFIG: both must accept a valid List and reject an invalid
// one with the same words.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { KUBECTL, kubectl, type KubectlRun } from '../support/kubectl.js';

/** A List of ConfigMaps as YAML, as a user would write it by hand. */
function listYaml(items: string[]): string {
  return ['apiVersion: v1', 'kind: List', 'items:', ...items.map((item) => item.replace(/^/gm, '  ').replace(/^ {2}/, '- '))].join('\n') + '\n';
}

function configMapYaml(name: string, app: string, extra = ''): string {
  return [`apiVersion: v1`, `kind: ConfigMap`, `metadata:`, `  name: ${name}`, `  labels:`, `    app: ${app}`, `data:`, `  k: v`, extra].filter(Boolean).join('\n');
}

describe('kubectl create -f of a kind: List', () => {
  let cluster: TestCluster;
  let home: string;

  before(async () => {
    if (!KUBECTL) return;
    cluster = await startTestCluster();
    home = await mkdtemp(join(tmpdir(), 'cmstate-kubectl-list-'));
  });

  after(async () => {
    if (!KUBECTL) return;
    await cluster.close();
    await rm(home, { recursive: true, force: true });
  });

  async function run(...args: string[]): Promise<KubectlRun> {
    return kubectl({ kubeconfig: cluster.kubeconfig, home }, '-n', cluster.namespace, ...args);
  }

  async function createList(file: string, items: string[]): Promise<KubectlRun> {
    const path = join(home, file);
    await writeFile(path, listYaml(items));
    return run('create', '-f', path);
  }

  /** The names of the ConfigMaps labelled app=`app`: only what this test made. */
  async function names(app: string): Promise<string[]> {
    const r = await run('get', 'configmaps', '-l', `app=${app}`, '-o', 'jsonpath={.items[*].metadata.name}');
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split(' ').filter(Boolean).sort();
  }

  test('creates every item, validated by kubectl against the served OpenAPI v2 document', async (t) => {
    if (!KUBECTL) return t.skip('kubectl not found');
    const r = await createList('list.yaml', [configMapYaml('list-a', 'kubectl-list'), configMapYaml('list-b', 'kubectl-list')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^configmap\/list-a created$/m);
    assert.match(r.stdout, /^configmap\/list-b created$/m);
    assert.deepEqual(await names('kubectl-list'), ['list-a', 'list-b']);
    const openapi = cluster.local?.requests.find((q) => q.path === '/openapi/v2');
    if (cluster.local) assert.deepEqual([openapi?.accept, openapi?.status], ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf', 200]);
  });

  test('an invalid item fails kubectl validation and nothing of the List is created', async (t) => {
    if (!KUBECTL) return t.skip('kubectl not found');
    const r = await createList('invalid.yaml', [configMapYaml('valid', 'kubectl-list-invalid'), configMapYaml('invalid', 'kubectl-list-invalid', 'spec: {}')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ValidationError\(ConfigMap\): unknown field "spec" in io\.k8s\.api\.core\.v1\.ConfigMap/);
    assert.deepEqual(await names('kubectl-list-invalid'), []);
  });
});
