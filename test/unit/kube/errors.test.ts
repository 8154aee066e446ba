import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AlreadyExistsError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidError,
  KubeError,
  NotFoundError,
  ThrottledError,
  UnauthorizedError,
  UnavailableError,
  UnexpectedError,
  describeTarget,
  fromHttpFailure,
  fromTransportFailure,
  parseStatus,
  type KubeErrorKind,
  type RequestContext,
  type StatusBody,
} from '../../../src/kube/errors.js';

const CTX: RequestContext = { verb: 'delete', resource: 'configmaps', namespace: 'tasks', name: 'task-42-state' };
const TARGET = 'configmaps "task-42-state" in namespace "tasks"';

function status(code: number, reason: string, message: string, details?: StatusBody['details']): StatusBody {
  return { kind: 'Status', code, reason, message, ...(details ? { details } : {}) };
}

// What the API server answers when a ConfigMap passes the 1 MiB limit (apimachinery's FieldValueTooLong).
const TOO_LARGE: StatusBody & Record<string, unknown> = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'ConfigMap "task-42-state" is invalid: []: Too long: must have at most 1048576 bytes',
  reason: 'Invalid',
  details: {
    name: 'task-42-state',
    kind: 'ConfigMap',
    causes: [{ reason: 'FieldValueTooLong', message: 'Too long: must have at most 1048576 bytes', field: '[]' }],
  },
  code: 422,
};

type ErrorClass = abstract new (...args: never[]) => KubeError;

interface Case {
  name: string;
  code: number;
  body: unknown;
  headers?: Record<string, string>;
  type: ErrorClass;
  kind: KubeErrorKind;
  transient: boolean;
  /** The exact message, so a change of wording is a deliberate change of this table. */
  message: string;
}

const cases: Case[] = [
  {
    name: '409 AlreadyExists',
    code: 409,
    body: status(409, 'AlreadyExists', 'configmaps "task-42-state" already exists', { name: 'task-42-state', kind: 'configmaps' }),
    type: AlreadyExistsError,
    kind: 'already-exists',
    transient: false,
    message: `${TARGET} already exists`,
  },
  {
    name: '409 AlreadyExists as a raw JSON string',
    code: 409,
    body: JSON.stringify(status(409, 'AlreadyExists', 'configmaps "task-42-state" already exists')),
    type: AlreadyExistsError,
    kind: 'already-exists',
    transient: false,
    message: `${TARGET} already exists`,
  },
  {
    name: '409 Conflict (precondition failed)',
    code: 409,
    body: status(409, 'Conflict', 'Operation cannot be fulfilled on configmaps "task-42-state": the object has been modified'),
    type: ConflictError,
    kind: 'conflict',
    transient: false,
    message: `delete ${TARGET}: changed since it was read (resourceVersion or uid precondition failed)`,
  },
  {
    name: '409 Conflict as a raw JSON string',
    code: 409,
    body: JSON.stringify(status(409, 'Conflict', 'the object has been modified')),
    type: ConflictError,
    kind: 'conflict',
    transient: false,
    message: `delete ${TARGET}: changed since it was read (resourceVersion or uid precondition failed)`,
  },
  {
    name: '409 with a non-JSON body is a conflict',
    code: 409,
    body: 'conflict\n',
    type: ConflictError,
    kind: 'conflict',
    transient: false,
    message: `delete ${TARGET}: changed since it was read (resourceVersion or uid precondition failed)`,
  },
  {
    name: '404',
    code: 404,
    body: status(404, 'NotFound', 'configmaps "task-42-state" not found'),
    type: NotFoundError,
    kind: 'not-found',
    transient: false,
    message: `${TARGET} not found`,
  },
  {
    name: '404 without a body',
    code: 404,
    body: undefined,
    type: NotFoundError,
    kind: 'not-found',
    transient: false,
    message: `${TARGET} not found`,
  },
  {
    name: '422 too large',
    code: 422,
    body: TOO_LARGE,
    type: InvalidError,
    kind: 'invalid',
    transient: false,
    message: `delete ${TARGET} rejected as invalid: ${TOO_LARGE.message}`,
  },
  {
    name: '403 names the verb and the resource',
    code: 403,
    body: status(403, 'Forbidden', 'configmaps "task-42-state" is forbidden: User "system:serviceaccount:tasks:cmstate" cannot delete resource "configmaps"'),
    type: ForbiddenError,
    kind: 'forbidden',
    transient: false,
    message:
      `forbidden: cannot delete ${TARGET}; grant the "delete" verb on configmaps to this service account: ` +
      'configmaps "task-42-state" is forbidden: User "system:serviceaccount:tasks:cmstate" cannot delete resource "configmaps"',
  },
  {
    name: '401',
    code: 401,
    body: status(401, 'Unauthorized', 'Unauthorized'),
    type: UnauthorizedError,
    kind: 'unauthorized',
    transient: false,
    message: `unauthorized: the API server rejected the credentials for delete ${TARGET}; check the kubeconfig user or service account token`,
  },
  {
    name: '429 with a Retry-After header',
    code: 429,
    body: status(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 }),
    headers: { 'Retry-After': '7' },
    type: ThrottledError,
    kind: 'throttled',
    transient: true,
    message: `throttled by the API server on delete ${TARGET} (retry after 7s)`,
  },
  {
    name: '429 without a body or Retry-After',
    code: 429,
    body: undefined,
    type: ThrottledError,
    kind: 'throttled',
    transient: true,
    message: `throttled by the API server on delete ${TARGET}`,
  },
  {
    name: '410 expired continue token',
    code: 410,
    body: JSON.stringify(status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.')),
    type: GoneError,
    kind: 'gone',
    transient: false,
    message: `delete ${TARGET}: the list continue token expired; the list must restart: The provided continue parameter is too old to display a consistent list result.`,
  },
  {
    name: '400',
    code: 400,
    body: status(400, 'BadRequest', 'invalid label selector'),
    type: BadRequestError,
    kind: 'bad-request',
    transient: false,
    message: `delete ${TARGET}: bad request: invalid label selector`,
  },
  {
    name: '500',
    code: 500,
    body: status(500, 'InternalError', 'etcdserver: request timed out'),
    type: UnavailableError,
    kind: 'unavailable',
    transient: true,
    message: `API server error 500 on delete ${TARGET}: etcdserver: request timed out`,
  },
  {
    name: '503 with a non-JSON body (a proxy in front of the API server)',
    code: 503,
    body: '  upstream connect error or disconnect/reset before headers\n',
    type: UnavailableError,
    kind: 'unavailable',
    transient: true,
    message: `API server error 503 on delete ${TARGET}: upstream connect error or disconnect/reset before headers`,
  },
  {
    name: '418 is unexpected',
    code: 418,
    body: JSON.stringify(status(418, 'Teapot', 'short and stout')),
    type: UnexpectedError,
    kind: 'unexpected',
    transient: false,
    message: `unexpected HTTP 418 on delete ${TARGET}: short and stout`,
  },
  {
    name: '418 without a body',
    code: 418,
    body: undefined,
    type: UnexpectedError,
    kind: 'unexpected',
    transient: false,
    message: `unexpected HTTP 418 on delete ${TARGET}`,
  },
];

describe('fromHttpFailure', () => {
  for (const c of cases) {
    test(c.name, () => {
      const err = fromHttpFailure({ code: c.code, body: c.body, headers: c.headers ?? {} }, CTX);
      assert.ok(err instanceof c.type, `expected ${c.type.name}, got ${err.name}`);
      assert.ok(err instanceof KubeError);
      assert.equal(err.name, c.type.name);
      assert.equal(err.kind, c.kind);
      assert.equal(err.transient, c.transient);
      assert.equal(err.code, c.code);
      assert.deepEqual(err.context, CTX);
      assert.equal(err.message, c.message);
    });
  }

  test('every status code 500..599 is transient UnavailableError', () => {
    for (const code of [500, 502, 503, 504, 599]) {
      const err = fromHttpFailure({ code, body: undefined, headers: {} }, CTX);
      assert.ok(err instanceof UnavailableError, `HTTP ${code}`);
      assert.equal(err.transient, true);
    }
  });
});

describe('fromHttpFailure status body', () => {
  const SERVER_STATUS = status(404, 'NotFound', 'configmaps "task-42-state" not found');
  const bodies: [shape: string, body: unknown, expected: StatusBody | undefined][] = [
    ['a parsed object', SERVER_STATUS, SERVER_STATUS],
    ['a raw JSON string (ApiException for undeclared codes)', JSON.stringify(SERVER_STATUS), SERVER_STATUS],
    ['non-JSON text', '<html>502 Bad Gateway</html>\n', { message: '<html>502 Bad Gateway</html>' }],
    ['undefined', undefined, undefined],
    ['null', null, undefined],
    ['an empty string', '', undefined],
  ];
  for (const [shape, body, expected] of bodies) {
    test(`from ${shape}`, () => {
      assert.deepEqual(fromHttpFailure({ code: 404, body, headers: {} }, CTX).status, expected);
    });
  }

  test('non-JSON text is cut to 300 characters', () => {
    const err = fromHttpFailure({ code: 500, body: 'x'.repeat(5000), headers: {} }, CTX);
    assert.equal(err.status?.message, 'x'.repeat(300));
  });
});

describe('InvalidError.tooLarge', () => {
  const tooLarge: [name: string, body: unknown, expected: boolean][] = [
    ['the real 1 MiB Status', TOO_LARGE, true],
    ['the real 1 MiB Status as a raw JSON string', JSON.stringify(TOO_LARGE), true],
    ['a FieldValueTooLong cause alone', status(422, 'Invalid', 'ConfigMap "task-42-state" is invalid', { causes: [{ reason: 'FieldValueInvalid' }, { reason: 'FieldValueTooLong' }] }), true],
    ['"Too long" in the message alone', status(422, 'Invalid', 'ConfigMap "task-42-state" is invalid: []: Too long: must have at most 1048576 bytes'), true],
    [
      'another validation failure',
      status(422, 'Invalid', 'ConfigMap "task-42-state" is invalid: metadata.labels: Invalid value: "a b"', {
        causes: [{ reason: 'FieldValueInvalid', field: 'metadata.labels' }],
      }),
      false,
    ],
    ['no body', undefined, false],
  ];
  for (const [name, body, expected] of tooLarge) {
    test(`${name} → ${expected}`, () => {
      const err = fromHttpFailure({ code: 422, body, headers: {} }, CTX);
      assert.ok(err instanceof InvalidError);
      assert.equal(err.tooLarge, expected);
    });
  }
});

describe('Retry-After', () => {
  const retry: [name: string, code: number, headers: Record<string, string>, body: unknown, seconds: number | undefined][] = [
    ['429 header "Retry-After"', 429, { 'Retry-After': '7' }, undefined, 7],
    ['429 header "retry-after"', 429, { 'retry-after': '3' }, undefined, 3],
    ['429 header "RETRY-AFTER"', 429, { 'content-type': 'application/json', 'RETRY-AFTER': '12' }, undefined, 12],
    ['429 header "0"', 429, { 'retry-after': '0' }, undefined, 0],
    ['429 header wins over details.retryAfterSeconds', 429, { 'retry-after': '2' }, status(429, 'TooManyRequests', 'slow down', { retryAfterSeconds: 9 }), 2],
    ['429 only details.retryAfterSeconds', 429, {}, status(429, 'TooManyRequests', 'slow down', { retryAfterSeconds: 4 }), 4],
    ['429 only details.retryAfterSeconds, body as a raw JSON string', 429, {}, JSON.stringify(status(429, 'TooManyRequests', 'slow down', { retryAfterSeconds: 5 })), 5],
    ['429 an HTTP-date header falls back to details', 429, { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }, status(429, 'TooManyRequests', 'x', { retryAfterSeconds: 6 }), 6],
    ['429 a negative header is ignored', 429, { 'retry-after': '-1' }, status(429, 'TooManyRequests', 'x', { retryAfterSeconds: 8 }), 8],
    ['429 nothing', 429, {}, undefined, undefined],
    ['503 header', 503, { 'Retry-After': '10' }, undefined, 10],
    ['500 details.retryAfterSeconds', 500, {}, status(500, 'ServerTimeout', 'try again', { retryAfterSeconds: 2 }), 2],
  ];
  for (const [name, code, headers, body, seconds] of retry) {
    test(`${name} → ${seconds}`, () => {
      const err = fromHttpFailure({ code, body, headers }, CTX);
      assert.ok(err instanceof ThrottledError || err instanceof UnavailableError, err.name);
      assert.equal(err.retryAfterSeconds, seconds);
    });
  }
});

describe('fromTransportFailure', () => {
  const SERVER = 'https://127.0.0.1:6443';
  const errno = (message: string, code: string) => Object.assign(new Error(message), { code });
  // As undici's request() (src/kube/transport.ts) throws them: the errno or undici code on the error itself.
  const unreachable = (detail: string) => `cannot reach the API server at ${SERVER} (${detail}) on delete ${TARGET}`;

  const cases: [name: string, err: unknown, type: typeof UnavailableError | typeof UnexpectedError, message: string][] = [
    ['ECONNREFUSED', errno('connect ECONNREFUSED 127.0.0.1:6443', 'ECONNREFUSED'), UnavailableError, unreachable('ECONNREFUSED')],
    ['a dropped connection (undici SocketError)', errno('other side closed', 'UND_ERR_SOCKET'), UnavailableError, unreachable('UND_ERR_SOCKET')],
    ['UND_ERR_CONNECT_TIMEOUT', errno('Connect Timeout Error', 'UND_ERR_CONNECT_TIMEOUT'), UnavailableError, unreachable('UND_ERR_CONNECT_TIMEOUT')],
    ['ECONNRESET', errno('read ECONNRESET', 'ECONNRESET'), UnavailableError, unreachable('ECONNRESET')],
    ['a timeout signal', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), UnavailableError, unreachable('timed out')],
    ['a plain Error is a client-side problem', new Error('Invalid URL'), UnexpectedError, `delete ${TARGET} failed before reaching ${SERVER}: Invalid URL`],
    [
      'ENOTFOUND (a name that does not resolve) is not retried',
      errno('getaddrinfo ENOTFOUND k8s', 'ENOTFOUND'),
      UnexpectedError,
      `delete ${TARGET} failed before reaching ${SERVER}: getaddrinfo ENOTFOUND k8s`,
    ],
    ['a thrown non-Error', 'boom', UnexpectedError, `delete ${TARGET} failed before reaching ${SERVER}: boom`],
  ];
  for (const [name, err, type, message] of cases) {
    test(name, () => {
      const mapped = fromTransportFailure(err, CTX, SERVER);
      assert.ok(mapped instanceof type, `expected ${type.name}, got ${mapped.name}`);
      assert.equal(mapped.transient, type === UnavailableError);
      assert.equal(mapped.message, message);
      assert.equal(mapped.code, undefined);
      assert.equal(mapped.status, undefined);
      assert.equal(mapped.cause, err);
      assert.deepEqual(mapped.context, CTX);
    });
  }

  test('ECONNREFUSED gives a transient UnavailableError without Retry-After', () => {
    const mapped = fromTransportFailure(errno('connect ECONNREFUSED 127.0.0.1:6443', 'ECONNREFUSED'), CTX, SERVER);
    assert.ok(mapped instanceof UnavailableError);
    assert.equal(mapped.kind, 'unavailable');
    assert.equal(mapped.retryAfterSeconds, undefined);
  });
});

describe('describeTarget', () => {
  const targets: [ctx: RequestContext, text: string][] = [
    [{ verb: 'list', resource: 'configmaps' }, 'configmaps'],
    [{ verb: 'list', resource: 'configmaps', namespace: 'tasks' }, 'configmaps in namespace "tasks"'],
    [{ verb: 'get', resource: 'leases', name: 'cmstate-sweep' }, 'leases "cmstate-sweep"'],
    [CTX, TARGET],
  ];
  for (const [ctx, text] of targets) {
    test(text, () => assert.equal(describeTarget(ctx), text));
  }
});

describe('parseStatus', () => {
  test('a JSON string that is not an object gives no status', () => {
    assert.equal(parseStatus('42'), undefined);
  });
  test('a JSON string literal becomes the message', () => {
    assert.deepEqual(parseStatus('"Too Many Requests"'), { message: 'Too Many Requests' });
  });
});
