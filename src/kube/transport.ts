// How cmstate's requests travel. @kubernetes/client-node builds every request (URL, query, body,
// the kubeconfig's credentials and TLS settings) and parses every answer; this module only carries
// it, through settings passed with each call:
// - a deadline per request, so a hung connection becomes a retryable timeout;
// - one connection pool per client, whose connections outlive a DELETE;
// - undici's request() instead of the fetch() client-node sends with.

import { createGunzip } from 'node:zlib';
import { Readable, pipeline } from 'node:stream';
import { Observable, ResponseContext, setHeaderOptions, type Configuration, type HttpLibrary, type RequestContext as HttpRequest } from '@kubernetes/client-node';
import { getGlobalDispatcher, request as sendRequest, type Dispatcher } from 'undici';

/** The per-call options of a generated API method, with cmstate's transport in them. */
export type TransportOptions = Configuration & Parameters<typeof setHeaderOptions>[2];

/**
 * Per-request transport settings for one client (or one watch, with the watch's own deadline).
 * - The connection pool: @kubernetes/client-node 2.x builds a new undici Agent for every request
 *   when TLS options are set (always, against a real cluster), so each request would open (and
 *   leave lingering) a connection of its own: thousands in a sweep. Every request of a client has
 *   the same cluster and user, so the first Agent serves them all (without TLS, undici's global
 *   one does).
 * - undici closes the connection after a request whose method carries no body by convention but
 *   has one, and every delete carries its preconditions in the body: a new connection (and TLS
 *   handshake) per deleted object. kube-apiserver reads DELETE bodies, so the connection is kept.
 */
export function transportOptions(timeoutMs: number, signal?: AbortSignal): TransportOptions {
  let shared: Dispatcher | undefined;
  return {
    httpApi: requestLibrary,
    middleware: [
      {
        pre: (request: HttpRequest) => {
          // The caller's signal too, where it must end a request that outlives its call (a watch).
          const deadline = AbortSignal.timeout(timeoutMs);
          request.setSignal(signal ? AbortSignal.any([deadline, signal]) : deadline);
          shared ??= ((request.getDispatcher() as Dispatcher | undefined) ?? getGlobalDispatcher()).compose(keepConnection);
          request.setDispatcher(shared as unknown as Parameters<HttpRequest['setDispatcher']>[0]);
          return new Observable(Promise.resolve(request));
        },
        post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  } as unknown as TransportOptions;
}

/** The same settings with one more middleware after them (a streamed list's reader). */
export function withMiddleware(
  options: TransportOptions,
  middleware: { pre(request: HttpRequest): Observable<HttpRequest>; post(response: ResponseContext): Observable<ResponseContext> },
): TransportOptions {
  return { ...options, middleware: [...(options.middleware ?? []), middleware] } as TransportOptions;
}

const keepConnection: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) => dispatch({ ...options, reset: false }, handler);

/**
 * Sends with undici's request() rather than fetch(). Each fetch() wraps its request and answer in
 * WHATWG streams and objects (a body stream per DELETE for its preconditions): a sweep spent
 * ~450 µs of CPU per delete in the client, against ~280 µs for a body-less fetch(). request()
 * takes the same dispatcher, headers, body and signal. Like fetch(), it asks for gzip and
 * decompresses what comes back gzipped: kube-apiserver compresses large lists.
 */
const requestLibrary: HttpLibrary = {
  send: (request) => new Observable(send(request)),
};

async function send(request: HttpRequest): Promise<ResponseContext> {
  const body = request.getBody();
  // The generated methods cmstate calls send JSON text or nothing.
  if (body !== undefined && typeof body !== 'string') throw new TypeError(`cannot send a ${body.constructor.name} request body`);
  const answer = await sendRequest(request.getUrl(), {
    method: request.getHttpMethod() as Dispatcher.HttpMethod,
    headers: { 'accept-encoding': 'gzip', ...request.getHeaders() },
    body,
    signal: request.getSignal(),
    dispatcher: request.getDispatcher() as Dispatcher | undefined,
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  if (headers['content-encoding'] !== 'gzip') {
    const plain = answer.body;
    return new ResponseContext(answer.statusCode, headers, {
      text: () => plain.text(),
      binary: async () => Buffer.from(await plain.arrayBuffer()),
      stream: () => Readable.toWeb(plain) as ReadableStream<Uint8Array>,
    });
  }
  // A failure of the compressed stream reaches the reader through the gunzip stream.
  const unzipped = pipeline(answer.body, createGunzip(), () => undefined);
  return new ResponseContext(answer.statusCode, headers, {
    text: async () => (await bytesOf(unzipped)).toString('utf8'),
    binary: () => bytesOf(unzipped),
    stream: () => Readable.toWeb(unzipped) as ReadableStream<Uint8Array>,
  });
}

async function bytesOf(content: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of content) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
