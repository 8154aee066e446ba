// The transport under KubeClient (src/kube/transport.ts) against a bare HTTP server that answers
// as kube-apiserver does where the embedded server does not: gzip for clients that accept it.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../../src/kube/client.js';

const NS = 'transport';
const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, uid: `uid-${name}`, resourceVersion: '7' }, data: { note: 'é'.repeat(50_000) } });

let server: Server;
let client: KubeClient;
const sockets = new Set<Socket>();
const deleteBodies: unknown[] = [];

async function bodyOf(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

before(async () => {
  server = createServer((req, res) => {
    sockets.add(req.socket);
    void bodyOf(req).then((body) => {
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding']));
      const answer = (status: number, document: unknown) => {
        const json = Buffer.from(JSON.stringify(document));
        res.writeHead(status, { 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
        res.end(gzip ? gzipSync(json) : json);
      };
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method === 'GET' && path === `/api/v1/namespaces/${NS}/configmaps`) {
        return answer(200, { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: '9' }, items: ['a', 'b', 'c'].map(configMap) });
      }
      if (req.method === 'GET') return answer(200, configMap(path.split('/').at(-1) ?? ''));
      if (req.method === 'DELETE') {
        deleteBodies.push(JSON.parse(body));
        return answer(200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
      }
      answer(405, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 405 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'bare', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'someone', token: 'token' }],
    contexts: [{ name: 'bare', cluster: 'bare', user: 'someone' }],
    currentContext: 'bare',
  });
  client = new KubeClient(kubeConfig, { qps: 0 });
});
after(() => {
  server.closeAllConnections();
  server.close();
});

describe('the transport', () => {
  test('asks for gzip and reads gzipped answers, whole and streamed (lists)', async () => {
    const cm = await client.getConfigMap({ namespace: NS, name: 'one' });
    assert.equal(cm.metadata.name, 'one');
    assert.equal(cm.data?.note, 'é'.repeat(50_000));
    const pages: string[][] = [];
    for await (const page of client.listConfigMapPages({ namespace: NS })) pages.push(page.map((item) => item.metadata.name));
    assert.deepEqual(pages, [['a', 'b', 'c']]);
  });

  test('deletes carry their preconditions in the body and keep their connection', async () => {
    sockets.clear();
    for (const name of ['a', 'b', 'c']) {
      assert.equal(await client.deleteConfigMap({ namespace: NS, name }, { uid: `uid-${name}`, resourceVersion: '7' }), 'deleted');
    }
    assert.deepEqual(
      deleteBodies,
      ['a', 'b', 'c'].map((name) => ({ preconditions: { uid: `uid-${name}`, resourceVersion: '7' } })),
    );
    assert.equal(sockets.size, 1, 'one connection for the three deletes');
  });
});
