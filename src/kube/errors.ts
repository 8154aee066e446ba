// One status map from API failures to typed errors callers branch on. Branch on the HTTP code
// and the Status reason, never on message text: the wording differs between server versions.

export interface StatusBody {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: { name?: string; kind?: string; group?: string; retryAfterSeconds?: number; causes?: { reason?: string; message?: string; field?: string }[] };
}

/** What the caller was doing: it names the object in every message. */
export interface RequestContext {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
}

export abstract class KubeError extends Error {
  abstract readonly kind: KubeErrorKind;
  /** Whether repeating the same request later can succeed. */
  readonly transient: boolean = false;
  constructor(
    message: string,
    readonly code: number | undefined,
    readonly context: RequestContext,
    readonly status?: StatusBody,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type KubeErrorKind = 'conflict' | 'not-found' | 'already-exists' | 'invalid' | 'forbidden' | 'unauthorized' | 'throttled' | 'gone' | 'unavailable' | 'bad-request' | 'unexpected';

export class ConflictError extends KubeError {
  override name = 'ConflictError';
  readonly kind = 'conflict';
}
export class NotFoundError extends KubeError {
  override name = 'NotFoundError';
  readonly kind = 'not-found';
}
export class AlreadyExistsError extends KubeError {
  override name = 'AlreadyExistsError';
  readonly kind = 'already-exists';
}
/** 422: validation failed, including the 1 MiB ConfigMap limit; the message is the server's. */
export class InvalidError extends KubeError {
  override name = 'InvalidError';
  readonly kind = 'invalid';
  get tooLarge(): boolean {
    return (this.status?.details?.causes ?? []).some((c) => c.reason === 'FieldValueTooLong') || /Too long/i.test(this.status?.message ?? '');
  }
}
export class ForbiddenError extends KubeError {
  override name = 'ForbiddenError';
  readonly kind = 'forbidden';
}
export class UnauthorizedError extends KubeError {
  override name = 'UnauthorizedError';
  readonly kind = 'unauthorized';
}
export class ThrottledError extends KubeError {
  override name = 'ThrottledError';
  readonly kind = 'throttled';
  override readonly transient = true;
  constructor(
    message: string,
    code: number | undefined,
    context: RequestContext,
    status: StatusBody | undefined,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(message, code, context, status);
  }
}
/** 410: a continue token (or watch resourceVersion) is too old; the list must restart. */
export class GoneError extends KubeError {
  override name = 'GoneError';
  readonly kind = 'gone';
}
/** 5xx, a dropped connection or a timeout: the server may be fine a moment later. */
export class UnavailableError extends KubeError {
  override name = 'UnavailableError';
  readonly kind = 'unavailable';
  override readonly transient = true;
  constructor(
    message: string,
    code: number | undefined,
    context: RequestContext,
    status: StatusBody | undefined,
    readonly retryAfterSeconds: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, code, context, status, options);
  }
}
export class BadRequestError extends KubeError {
  override name = 'BadRequestError';
  readonly kind = 'bad-request';
}
export class UnexpectedError extends KubeError {
  override name = 'UnexpectedError';
  readonly kind = 'unexpected';
}

/** An HTTP failure as the transport reports it; `body` may be a parsed Status or its raw text. */
export interface HttpFailure {
  code: number;
  body: unknown;
  headers: Record<string, string>;
}

export function describeTarget(ctx: RequestContext): string {
  const what = ctx.name ? `${ctx.resource} "${ctx.name}"` : ctx.resource;
  return ctx.namespace ? `${what} in namespace "${ctx.namespace}"` : what;
}

/** ApiException bodies for undeclared codes arrive as raw strings: parse the Status out of them. */
export function parseStatus(body: unknown): StatusBody | undefined {
  if (body === undefined || body === null || body === '') return undefined;
  if (typeof body === 'string') {
    try {
      return parseStatus(JSON.parse(body));
    } catch {
      return { message: body.trim().slice(0, 300) };
    }
  }
  if (typeof body === 'object') return body as StatusBody;
  return undefined;
}

function retryAfter(headers: Record<string, string>, status: StatusBody | undefined): number | undefined {
  const header = Object.entries(headers).find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
  const fromHeader = header === undefined ? NaN : Number(header);
  if (Number.isFinite(fromHeader) && fromHeader >= 0) return fromHeader;
  return status?.details?.retryAfterSeconds;
}

export function fromHttpFailure(failure: HttpFailure, ctx: RequestContext): KubeError {
  const status = parseStatus(failure.body);
  const target = describeTarget(ctx);
  const serverSays = status?.message ? `: ${status.message}` : '';
  const code = failure.code;
  switch (true) {
    case code === 409 && status?.reason === 'AlreadyExists':
      return new AlreadyExistsError(`${target} already exists`, code, ctx, status);
    case code === 409:
      return new ConflictError(`${ctx.verb} ${target}: changed since it was read (resourceVersion or uid precondition failed)`, code, ctx, status);
    case code === 404:
      return new NotFoundError(`${target} not found`, code, ctx, status);
    case code === 422:
      return new InvalidError(`${ctx.verb} ${target} rejected as invalid${serverSays}`, code, ctx, status);
    case code === 403:
      return new ForbiddenError(`forbidden: cannot ${ctx.verb} ${target}; grant the "${ctx.verb}" verb on ${ctx.resource} to this service account${serverSays}`, code, ctx, status);
    case code === 401:
      return new UnauthorizedError(`unauthorized: the API server rejected the credentials for ${ctx.verb} ${target}; check the kubeconfig user or service account token`, code, ctx, status);
    case code === 429: {
      const after = retryAfter(failure.headers, status);
      return new ThrottledError(`throttled by the API server on ${ctx.verb} ${target}${after === undefined ? '' : ` (retry after ${after}s)`}`, code, ctx, status, after);
    }
    case code === 410:
      return new GoneError(
        ctx.verb === 'watch'
          ? `watch ${target}: the resourceVersion to resume from is too old (compacted); list again${serverSays}`
          : `${ctx.verb} ${target}: the list continue token expired; the list must restart${serverSays}`,
        code,
        ctx,
        status,
      );
    case code === 400:
      return new BadRequestError(`${ctx.verb} ${target}: bad request${serverSays}`, code, ctx, status);
    case code >= 500:
      return new UnavailableError(`API server error ${code} on ${ctx.verb} ${target}${serverSays}`, code, ctx, status, retryAfter(failure.headers, status));
    default:
      return new UnexpectedError(`unexpected HTTP ${code} on ${ctx.verb} ${target}${serverSays}`, code, ctx, status);
  }
}

/** Network-level failures worth a retry: the server may answer a moment later. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * A failure below HTTP: a refused or dropped connection or a timeout (transient), or a client-side
 * problem (not). As the transport (./transport.ts, undici's request()) throws them: a socket error
 * with its errno or undici code, or the deadline's TimeoutError.
 */
export function fromTransportFailure(err: unknown, ctx: RequestContext, server: string): KubeError {
  const failure = err instanceof Error ? err : new Error(String(err));
  const code = (failure as NodeJS.ErrnoException).code;
  const timedOut = failure.name === 'TimeoutError' || failure.name === 'AbortError';
  if (timedOut || (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code))) {
    return new UnavailableError(`cannot reach the API server at ${server} (${timedOut ? 'timed out' : code}) on ${ctx.verb} ${describeTarget(ctx)}`, undefined, ctx, undefined, undefined, {
      cause: err,
    });
  }
  return new UnexpectedError(`${ctx.verb} ${describeTarget(ctx)} failed before reaching ${server}: ${failure.message}`, undefined, ctx, undefined, { cause: err });
}
