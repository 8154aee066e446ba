// The embedded API server in a process of its own, so a measured client's CPU and RSS are its
// own. Run as a script it serves (`--serve`); imported, it starts and drives such a process.
//
// Why not `cmstate local-apiserver --data FILE`: its data file is one JSON document (a 50k-state
// store is ~700 MB, past V8's maximum string length) and it is rewritten after changes, so a
// sweep measured against it would also measure the server re-serializing the whole store every
// 200 ms. Here the server (the same LocalApiServer) is seeded once from an NDJSON file through
// its own seed() and keeps nothing on disk.
//
// The parent talks to the child over stdin/stdout, one line each way: `requests` answers the
// request counts of the server's request log since the last `reset`; closing stdin stops it.

import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { LocalApiServer, type RequestLogEntry } from '../../src/local-apiserver/index.js';

const thisFile = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(thisFile), '../..');

export interface RequestCounts {
  total: number;
  /** By `verb resource` (e.g. `list configmaps`, `delete configmaps`, `create events`); `discovery` for the rest. */
  byKind: Record<string, number>;
}

export interface ServerProcess {
  url: string;
  kubeconfig: string;
  namespace: string;
  /** Objects loaded from the seed file. */
  seeded: number;
  /** Requests the server answered since start or the last reset. */
  requests(): Promise<RequestCounts>;
  resetRequests(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  namespace: string;
  /** Where the kubeconfig is written. */
  kubeconfig: string;
  /** NDJSON file of objects (one per line) to load before serving. */
  seedFile?: string;
  /** Load only the first this-many lines of the seed file. */
  seedLimit?: number;
}

/** Writes objects as NDJSON, one line each, respecting back pressure; returns each line's JSON bytes. */
export async function writeSeedFile(file: string, count: number, make: (index: number) => object): Promise<number[]> {
  const out = createWriteStream(file);
  const bytes: number[] = [];
  for (let i = 0; i < count; i++) {
    const line = JSON.stringify(make(i));
    bytes.push(Buffer.byteLength(line));
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}

export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const args = ['--max-old-space-size=12288', '--import', 'tsx', thisFile, '--serve', options.namespace, options.kubeconfig, options.seedFile ?? '', String(options.seedLimit ?? '')];
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout });
  const waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  let stderr = '';
  let exited = false;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  lines.on('line', (line) => waiting.shift()?.resolve(line));
  child.on('exit', (code) => {
    exited = true;
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`bench API server exited (${code}): ${stderr.trim()}`));
  });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      if (exited) reject(new Error(`bench API server exited: ${stderr.trim()}`));
      else waiting.push({ resolve, reject });
    });

  const ready = await nextLine();
  const match = /^serving (\S+) (\d+)$/.exec(ready);
  if (!match) throw new Error(`bench API server said "${ready}": ${stderr.trim()}`);
  // One command at a time: each answer is the next line.
  let queue: Promise<unknown> = Promise.resolve();
  const command = (text: string): Promise<string> => {
    const answer = queue.then(() => {
      const line = nextLine();
      child.stdin.write(`${text}\n`);
      return line;
    });
    queue = answer.catch(() => undefined);
    return answer;
  };
  return {
    url: match[1] as string,
    kubeconfig: options.kubeconfig,
    namespace: options.namespace,
    seeded: Number(match[2]),
    requests: async () => JSON.parse(await command('requests')) as RequestCounts,
    resetRequests: async () => {
      await command('reset');
    },
    stop: async () => {
      if (exited) return;
      const gone = once(child, 'exit');
      child.stdin.end();
      await gone;
    },
  };
}

// ---- the child ------------------------------------------------------------------------------

/** `verb resource` from a request path: /api/v1/namespaces/ns/configmaps/x → configmaps. */
function requestKind(entry: RequestLogEntry): string {
  const segments = entry.path.split('/').filter(Boolean);
  const rest = segments[0] === 'api' ? segments.slice(2) : segments[0] === 'apis' ? segments.slice(3) : undefined;
  if (!rest || rest.length === 0) return 'discovery';
  const resource = rest[0] === 'namespaces' && rest.length >= 3 ? rest[2] : rest[0];
  return `${entry.verb} ${resource}`;
}

function countRequests(log: readonly RequestLogEntry[]): RequestCounts {
  const byKind: Record<string, number> = {};
  for (const entry of log) {
    const kind = requestKind(entry);
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  }
  return { total: log.length, byKind };
}

async function seedFromFile(server: LocalApiServer, file: string, limit: number): Promise<number> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let batch: object[] = [];
  let count = 0;
  for await (const line of lines) {
    if (count >= limit) break;
    if (!line) continue;
    batch.push(JSON.parse(line) as object);
    count++;
    if (batch.length === 500) {
      server.seed(batch as Parameters<LocalApiServer['seed']>[0]);
      batch = [];
    }
  }
  lines.close();
  if (batch.length > 0) server.seed(batch as Parameters<LocalApiServer['seed']>[0]);
  return count;
}

async function serve(namespace: string, kubeconfig: string, seedFile: string, seedLimit: string): Promise<void> {
  const server = await LocalApiServer.start({ port: 0, requestLogLimit: 10_000_000 });
  server.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }]);
  const seeded = seedFile ? await seedFromFile(server, seedFile, seedLimit ? Number(seedLimit) : Infinity) : 0;
  await server.writeKubeconfig(kubeconfig, namespace);
  server.clearRequests();
  process.stdout.write(`serving ${server.url} ${seeded}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'requests') process.stdout.write(`${JSON.stringify(countRequests(server.requests))}\n`);
    else if (line === 'reset') {
      server.clearRequests();
      process.stdout.write('ok\n');
    } else process.stdout.write(`${JSON.stringify({ error: `unknown command ${line}` })}\n`);
  }
  await server.close();
}

if (process.argv[2] === '--serve' && path.resolve(process.argv[1] ?? '') === thisFile) {
  const [namespace, kubeconfig, seedFile, seedLimit] = process.argv.slice(3);
  await serve(namespace as string, kubeconfig as string, seedFile ?? '', seedLimit ?? '');
}
