// Identities in the local API server, as kube-apiserver has them: bearer tokens from a
// --token-auth-file, 401 for a token nobody holds, system:anonymous without credentials, RBAC's
// bootstrap roles for everyone else, allow rules for a test's users, and deny rules that still
// take verbs away from the admin (the device `cmstate doctor`'s tests use).

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { LocalApiServer, TokenFileError } from '../../src/local-apiserver/index.js';
import { cli } from '../support/cli.js';

const ADMIN = 'admin-token-1';
const ALICE = 'alice-token-1';

interface Reply {
  status: number;
  // Tests read arbitrary fields of JSON answers.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

let dir: string;
let server: LocalApiServer;

async function call(method: string, path: string, token: string | undefined, body?: unknown): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text answers (health) stay text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

function review(token: string | undefined, spec: Record<string, unknown>): Promise<Reply> {
  return call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', token, { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec });
}

function forbidden(message: string, details: Record<string, string>) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Forbidden', details, code: 403 };
}

async function tokenFile(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cmstate-auth-'));
  const file = await tokenFile('tokens.csv', `${ADMIN},root,u-0,"ops,system:masters"\n${ALICE},alice,u-1\n`);
  server = await LocalApiServer.start({ tokenAuthFile: file });
  assert.equal((await call('POST', '/api/v1/namespaces', ADMIN, { metadata: { name: 'auth' } })).status, 201);
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('token file', () => {
  const startFails = async (text: string, message: RegExp) => {
    const file = await tokenFile('bad.csv', text);
    await assert.rejects(LocalApiServer.start({ tokenAuthFile: file }), (err: Error) => {
      assert.ok(err instanceof TokenFileError, String(err));
      assert.match(err.message, message);
      assert.ok(err.message.startsWith(`token file ${file}`), err.message);
      assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    });
  };

  test('a malformed file fails the start, naming the file and the line', async () => {
    await startFails('a,alice,u-1\n\nb,bob\n', / line 3: must have at least 3 columns \(token, user name, user uid\), found 2$/);
    await startFails('a,ali"ce,u-1\n', / line 1: bare " in non-quoted-field$/);
    await startFails('a,alice,u-1,"g1,g2\n', / line 1: extraneous or missing " in quoted-field$/);
    await startFails('a,alice,u-1,"g1"x\n', / line 1: extraneous or missing " in quoted-field$/);
    await startFails('a,alice,u-1\n,bob,u-2\n', / line 2: empty token$/);
    await startFails('a,alice,u-1\na,bob,u-2\n', / line 2: duplicate token \(first on line 1\)$/);
    await assert.rejects(LocalApiServer.start({ tokenAuthFile: join(dir, 'missing.csv') }), /^TokenFileError: token file .*missing\.csv: ENOENT/);
  });

  test('quoted fields and CRLF lines parse as Go encoding/csv reads them', async () => {
    const file = await tokenFile('quoted.csv', 'plain,"Ann ""the admin""",u-1,"a,system:masters"\r\nother,bob,u-2,""\r\n');
    const s = await LocalApiServer.start({ tokenAuthFile: file });
    try {
      assert.equal(s.adminToken, 'plain');
      s.deny({ verb: 'list', resource: 'configmaps' });
      const res = await fetch(`${s.url}/api/v1/configmaps`, { headers: { authorization: 'Bearer plain' } });
      assert.equal(((await res.json()) as { message: string }).message, 'configmaps is forbidden: User "Ann \\"the admin\\"" cannot list resource "configmaps" in API group "" at the cluster scope');
    } finally {
      await s.close();
    }
  });

  test('the kubeconfig carries the first system:masters token; a file without one has no admin token', async () => {
    assert.equal(server.adminToken, ADMIN);
    assert.match(server.kubeconfigYaml(), new RegExp(`token: "${ADMIN}"`));
    const file = await tokenFile('users.csv', `${ALICE},alice,u-1\n`);
    const s = await LocalApiServer.start({ tokenAuthFile: file });
    try {
      assert.throws(() => s.kubeconfigYaml(), /names no member of system:masters/);
    } finally {
      await s.close();
    }
  });

  test('without a file the built-in admin, named by `user`, holds the kubeconfig token and is whoever sends none (as kubectl over HTTP)', async () => {
    const s = await LocalApiServer.start({ user: 'ops' });
    try {
      assert.match(s.kubeconfigYaml(), new RegExp(`token: "${s.adminToken}"`));
      s.deny({ verb: 'get', resource: 'configmaps' });
      for (const headers of [{ authorization: `Bearer ${s.adminToken}` }, {}]) {
        const res = await fetch(`${s.url}/api/v1/namespaces/default/configmaps/x`, { headers });
        assert.match(((await res.json()) as { message: string }).message, /User "ops" cannot get/);
      }
      const unknown = await fetch(`${s.url}/api/v1/namespaces/default/configmaps`, { headers: { authorization: 'Bearer not-the-token' } });
      assert.equal(unknown.status, 401);
    } finally {
      await s.close();
    }
  });

  test('cmstate local-apiserver --token-auth-file: a bad file is one line and a failure; a good one writes its admin token', async () => {
    const bad = await tokenFile('cli-bad.csv', 'only-a-token\n');
    const failed = await cli(['local-apiserver', '--port', '0', '--token-auth-file', bad]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /token file .*cli-bad\.csv line 1: must have at least 3 columns/);
    const good = await tokenFile('cli-good.csv', `${ADMIN},root,u-0,system:masters\n`);
    const kubeconfig = join(dir, 'cli.kubeconfig');
    const stopped = new AbortController();
    stopped.abort();
    const ok = await cli(['local-apiserver', '--port', '0', '--token-auth-file', good, '--write-kubeconfig', kubeconfig], { signal: stopped.signal });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(await readFile(kubeconfig, 'utf8'), new RegExp(`token: "${ADMIN}"`));
    assert.ok(!ok.stderr.includes(ADMIN), 'the token is not logged');
  });
});

describe('authentication', () => {
  test('a token nobody holds is 401 with a bare Unauthorized Status, whatever the request', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/namespaces/auth/configmaps'],
      ['GET', '/version'],
      ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'],
    ] as const) {
      const r = await call(method, path, 'nobody-has-this');
      assert.equal(r.status, 401);
      assert.deepEqual(r.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      assert.equal(r.headers.get('www-authenticate'), null);
    }
  });

  test('no credentials, or credentials that are not a bearer token, are system:anonymous', async () => {
    const expected = forbidden('configmaps is forbidden: User "system:anonymous" cannot list resource "configmaps" in API group "" in the namespace "auth"', { kind: 'configmaps' });
    assert.deepEqual((await call('GET', '/api/v1/namespaces/auth/configmaps', undefined)).body, expected);
    for (const authorization of ['Basic YWxpY2U6c2VjcmV0', 'Bearer', 'Bearer  two-spaces']) {
      const res = await fetch(`${server.url}/api/v1/namespaces/auth/configmaps`, { headers: { authorization } });
      assert.equal(res.status, 403, authorization);
      assert.deepEqual(await res.json(), expected);
    }
  });
});

describe('anonymous', () => {
  test('may read the public health and version paths only', async () => {
    assert.equal((await call('GET', '/version', undefined)).status, 200);
    assert.equal((await call('GET', '/healthz', undefined)).status, 200);
    assert.equal((await call('GET', '/readyz', undefined)).status, 200);
    const api = await call('GET', '/api', undefined);
    assert.equal(api.status, 403);
    assert.deepEqual(api.body, forbidden('forbidden: User "system:anonymous" cannot get path "/api"', {}));
    const openapi = await call('GET', '/openapi/v3', undefined);
    assert.equal(openapi.body.message, 'forbidden: User "system:anonymous" cannot get path "/openapi/v3"');
    const post = await call('POST', '/version', undefined, {});
    assert.equal(post.body.message, 'forbidden: User "system:anonymous" cannot post path "/version"');
  });

  test('refusals name the verb the URL means: watch, deletecollection, a name from a metadata.name field selector', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/api/v1/namespaces/auth/configmaps?watch=1', 'configmaps is forbidden: User "system:anonymous" cannot watch resource "configmaps" in API group "" in the namespace "auth"'],
      ['DELETE', '/api/v1/namespaces/auth/configmaps', 'configmaps is forbidden: User "system:anonymous" cannot deletecollection resource "configmaps" in API group "" in the namespace "auth"'],
      [
        'GET',
        '/api/v1/namespaces/auth/configmaps?fieldSelector=metadata.name%3Dx',
        'configmaps "x" is forbidden: User "system:anonymous" cannot list resource "configmaps" in API group "" in the namespace "auth"',
      ],
      ['GET', '/api/v1/namespaces/auth', 'namespaces "auth" is forbidden: User "system:anonymous" cannot get resource "namespaces" in API group "" in the namespace "auth"'],
      ['PUT', '/api/v1/namespaces/auth/configmaps/x/status', 'configmaps "x" is forbidden: User "system:anonymous" cannot update resource "configmaps/status" in API group "" in the namespace "auth"'],
      [
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        'selfsubjectaccessreviews.authorization.k8s.io is forbidden: User "system:anonymous" cannot create resource "selfsubjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope',
      ],
      // Authorization comes before routing: what does not exist is still refused, not 404.
      [
        'GET',
        '/apis/nothing.example.com/v1/widgets',
        'widgets.nothing.example.com is forbidden: User "system:anonymous" cannot list resource "widgets" in API group "nothing.example.com" at the cluster scope',
      ],
    ];
    for (const [method, path, message] of cases) {
      const r = await call(method, path, undefined, method === 'GET' || method === 'DELETE' ? undefined : {});
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.body.message, message);
    }
  });
});

describe('a user without grants', () => {
  test('has discovery and the self-reviews of system:basic-user, and nothing else', async () => {
    assert.equal((await call('GET', '/api', ALICE)).status, 200);
    assert.equal((await call('GET', '/apis/coordination.k8s.io/v1', ALICE)).status, 200);
    const list = await call('GET', '/api/v1/namespaces/auth/configmaps', ALICE);
    assert.deepEqual(list.body, forbidden('configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "auth"', { kind: 'configmaps' }));

    const canReview = await review(ALICE, { resourceAttributes: { verb: 'create', resource: 'selfsubjectaccessreviews', group: 'authorization.k8s.io' } });
    assert.equal(canReview.status, 201);
    assert.deepEqual(canReview.body.status, {
      allowed: true,
      reason: 'RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user" to Group "system:authenticated"',
    });
    const version = await review(ALICE, { nonResourceAttributes: { path: '/version', verb: 'get' } });
    assert.deepEqual(version.body.spec, { nonResourceAttributes: { path: '/version', verb: 'get' } });
    assert.deepEqual(version.body.status, {
      allowed: true,
      reason: 'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated"',
    });
    const cannot = await review(ALICE, { resourceAttributes: { verb: 'list', resource: 'configmaps', group: '', namespace: 'auth' } });
    assert.deepEqual(cannot.body.spec, { resourceAttributes: { namespace: 'auth', verb: 'list', resource: 'configmaps' } }, 'empty fields are not echoed');
    assert.deepEqual(cannot.body.status, { allowed: false });
  });

  test('allow rules grant what a RoleBinding or ClusterRoleBinding would, until removed', async () => {
    const inAuth = server.allow({ user: 'alice', verb: 'list', resource: 'configmaps', namespace: 'auth' });
    assert.equal((await call('GET', '/api/v1/namespaces/auth/configmaps', ALICE)).status, 200);
    assert.equal((await call('GET', '/api/v1/namespaces/default/configmaps', ALICE)).status, 403, 'only in its namespace');
    assert.equal((await call('GET', '/api/v1/configmaps', ALICE)).status, 403, 'not at the cluster scope');
    assert.equal((await call('GET', '/api/v1/namespaces/auth/configmaps/x', ALICE)).status, 403, 'only its verb');
    assert.equal((await call('GET', '/api/v1/namespaces/auth/configmaps', undefined)).status, 403, 'only its user');
    const reason = (await review(ALICE, { resourceAttributes: { verb: 'list', resource: 'configmaps', namespace: 'auth' } })).body.status.reason;
    assert.match(reason, /^RBAC: allowed by RoleBinding "cmstate-local-allow-\d+\/auth" of Role "cmstate-local-allow-\d+" to User "alice"$/);

    const everywhere = server.allow({ user: 'alice', verb: '*', resource: 'leases' });
    assert.equal((await call('GET', '/apis/coordination.k8s.io/v1/leases', ALICE)).status, 200);
    const lease = { metadata: { name: 'l' }, spec: {} };
    assert.equal((await call('POST', '/apis/coordination.k8s.io/v1/namespaces/auth/leases', ALICE, lease)).status, 201);

    inAuth.remove();
    everywhere.remove();
    assert.equal((await call('GET', '/api/v1/namespaces/auth/configmaps', ALICE)).status, 403);
    assert.equal((await call('GET', '/apis/coordination.k8s.io/v1/leases', ALICE)).status, 403);
  });
});

describe('deny rules on the admin (the doctor tests device)', () => {
  test('take a verb away from the kubeconfig identity, in requests and in access reviews', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    await server.writeKubeconfig(kubeconfig, 'auth');
    const client = new KubeClient(loadKubeConfig({ kubeconfig }).kubeConfig, { qps: 1000 });
    assert.equal(await client.canI('delete', 'configmaps', 'auth'), true);
    const rule = server.deny({ verb: 'delete', resource: 'configmaps', namespace: 'auth' });
    assert.equal(await client.canI('delete', 'configmaps', 'auth'), false);
    assert.equal(await client.canI('delete', 'configmaps', 'default'), true);
    const denied = await call('DELETE', '/api/v1/namespaces/auth/configmaps/x', ADMIN);
    assert.deepEqual(denied.body, forbidden('configmaps "x" is forbidden: User "root" cannot delete resource "configmaps" in API group "" in the namespace "auth"', { name: 'x', kind: 'configmaps' }));
    rule.remove();
    assert.equal(await client.canI('delete', 'configmaps', 'auth'), true);
    server.deny({ verb: 'list', resource: 'configmaps' });
    assert.equal(await client.canI('list', 'configmaps', 'auth'), false);
    server.clearDenyRules();
    assert.equal(await client.canI('list', 'configmaps', 'auth'), true);
  });

  test('an admin review is allowed without a reason, and asks exactly one thing', async () => {
    const r = await review(ADMIN, { resourceAttributes: { verb: 'update', resource: 'leases', group: 'coordination.k8s.io', namespace: 'auth' } });
    assert.deepEqual(r.body.status, { allowed: true });
    const both = await review(ADMIN, { resourceAttributes: { verb: 'get' }, nonResourceAttributes: { path: '/api', verb: 'get' } });
    assert.equal(both.status, 422);
    assert.equal(
      both.body.message,
      '.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{Path:"/api", Verb:"get"}: cannot be specified in combination with resourceAttributes',
    );
  });
});
