// The local API server against the record of a real kube-apiserver v1.32: every request of
// ../shared/conformance is replayed in process (the `expire-continue-tokens` action calls
// expireContinueTokens()) and its status, Content-Type, normalized body and recorded headers must
// match. This is a test of the embedded server itself, so it does not run against a real cluster.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalApiServer } from '../../src/local-apiserver/index.js';
import { embeddedOnly, eventually } from '../support/cluster.js';
import { loadCorpus, replayCase, type ReplayTarget } from '../support/conformance.js';

/** Steps the local server answers differently on purpose: `case#step` → why. At most three. */
const EXCEPTIONS: ReadonlyMap<string, string> = new Map([]);

const ADMIN_TOKEN = `admin-${randomBytes(8).toString('hex')}`;
const USER_TOKEN = `user-${randomBytes(8).toString('hex')}`;

const corpus = loadCorpus();
let server: LocalApiServer;
let dir: string;
let target: ReplayTarget;

async function call(method: string, path: string, body?: unknown): Promise<number> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  await res.arrayBuffer();
  return res.status;
}

describe(...embeddedOnly('it tests the embedded server itself', 'conformance: the local API server answers as kube-apiserver v1.32 did'), () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cmstate-conformance-'));
    const tokenFile = join(dir, 'tokens.csv');
    // kube-apiserver's --token-auth-file format: token,user,uid,"group1,group2"
    await writeFile(tokenFile, `${ADMIN_TOKEN},cluster-admin,u-1,"system:masters"\n${USER_TOKEN},cmstate-user,u-2\n`);
    server = await LocalApiServer.start({ tokenAuthFile: tokenFile });
    target = { url: server.url, adminToken: ADMIN_TOKEN, userToken: USER_TOKEN, expireContinueTokens: () => server.expireContinueTokens() };
  });

  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the corpus is the one this test was written for', () => {
    assert.equal(corpus.cases.length, 24);
    assert.equal(
      corpus.cases.reduce((n, c) => n + c.steps.filter((s) => s.request).length, 0),
      267,
    );
    assert.ok(EXCEPTIONS.size <= 3, 'at most three steps may be exceptions');
  });

  for (const [i, c] of corpus.cases.entries()) {
    test(`${c.name}: ${c.steps.length} steps`, async () => {
      const namespace = `conformance-${i}-${randomBytes(3).toString('hex')}`;
      if (c.setup === 'namespace') {
        assert.equal(await call('POST', '/api/v1/namespaces', { metadata: { name: namespace } }), 201);
        // As the recording did: wait for the root CA ConfigMap a cluster publishes into every namespace.
        await eventually('kube-root-ca.crt', async () => ((await call('GET', `/api/v1/namespaces/${namespace}/configmaps/kube-root-ca.crt`)) === 200 ? true : undefined), 5000);
      }
      try {
        const results = await replayCase(target, c, namespace);
        const failures = results
          .filter((r) => r.differences.length > 0 && !EXCEPTIONS.has(`${c.name}#${r.index}`))
          .map((r) => {
            const req = r.step.request;
            const what = req ? `${req.method} ${req.path}${req.query ? ` ${JSON.stringify(req.query)}` : ''}${req.identity ? ` as ${req.identity}` : ''}` : r.step.action;
            return `step ${r.index} (${what}):\n    ${r.differences.join('\n    ')}`;
          });
        assert.equal(failures.length, 0, `${failures.length} of ${results.length} steps differ from kube-apiserver:\n  ${failures.join('\n  ')}`);
      } finally {
        await call('DELETE', `/api/v1/namespaces/${namespace}`);
      }
    });
  }
});
