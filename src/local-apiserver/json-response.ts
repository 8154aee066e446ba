// Writing an answer's JSON. A body in pieces (a list) is serialized as it is written, so that no
// list has to fit in one string: a namespace of ConfigMaps near their 1 MiB limit lists to more
// than V8's longest string (~512 MiB), which kube-apiserver serves all the same.

import type { ServerResponse } from 'node:http';

/** A whole body, or one in pieces that are joined on the wire (lists, produced lazily). */
export type JsonBody = string | Iterable<string>;

/**
 * Go's net/http holds this much of a handler's output (bufferBeforeChunkingSize): a body that ends
 * within it is sent with a Content-Length, a longer one with chunked transfer encoding.
 */
const BUFFER_BEFORE_CHUNKING = 2048;

/** Pieces are gathered into writes of about this size: a chunk per list item would be mostly framing. */
const WRITE_BYTES = 64 * 1024;

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' };

/**
 * Sends a JSON answer: a whole body with its Content-Length, pieces as Go's net/http sends a
 * handler's output. Resolves once the body is written, or as soon as the client has gone away
 * (the remaining pieces are then never serialized); between writes it waits for the socket to drain.
 */
export async function sendJson(res: ServerResponse, status: number, body: JsonBody, headers: Record<string, string | string[]> = {}): Promise<void> {
  if (typeof body === 'string') {
    sendWhole(res, status, body, headers);
    return;
  }
  let batch: string[] = [];
  let batchBytes = 0;
  let chunked = false;
  for (const piece of body) {
    batch.push(piece);
    batchBytes += Buffer.byteLength(piece);
    if (!chunked && batchBytes > BUFFER_BEFORE_CHUNKING) {
      res.writeHead(status, { ...JSON_HEADERS, ...headers });
      chunked = true;
    }
    if (chunked && batchBytes >= WRITE_BYTES) {
      if (!(await write(res, batch.join('')))) return;
      batch = [];
      batchBytes = 0;
    }
  }
  // What is left is under WRITE_BYTES.
  if (chunked) res.end(batch.join(''));
  else sendWhole(res, status, batch.join(''), headers);
}

function sendWhole(res: ServerResponse, status: number, body: string, headers: Record<string, string | string[]>): void {
  // A Buffer, so that Node writes the header block on its own, byte for byte (latin1): header
  // values that carry UTF-8 (Warning) are given as those bytes.
  const bytes = Buffer.from(body);
  res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': bytes.length, ...headers });
  res.end(bytes);
}

/** Writes, then waits while the socket is full; false once the response is closed (the client went away). */
async function write(res: ServerResponse, text: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (!res.write(text) && !res.destroyed) await drained(res);
  return !res.destroyed;
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}
