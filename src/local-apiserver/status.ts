// Kubernetes `Status` failure bodies, shaped like the real API server's so clients (client-node,
// kubectl) map them to the same errors they would get from a cluster.

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The resource half of an error message: `configmaps` or `leases.coordination.k8s.io`. */
export interface GroupResource {
  group: string;
  resource: string;
}

function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

/** A failure the server answers with a Status body and the given HTTP code. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    /** Extra list metadata (the inconsistent `continue` of a 410 Expired). */
    readonly statusMetadata?: Record<string, string>,
  ) {
    super(message);
  }
}

export function statusBody(err: ApiError): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: err.statusMetadata ?? {},
    status: 'Failure',
    message: err.message,
    // An error the server has no reason for (a plain Go error) is answered without one.
    ...(err.reason ? { reason: err.reason } : {}),
    ...(err.details ? { details: err.details } : {}),
    code: err.code,
  };
}

function details(gr: GroupResource, name?: string): StatusDetails {
  return { ...(name !== undefined ? { name } : {}), ...(gr.group ? { group: gr.group } : {}), ...(gr.resource ? { kind: gr.resource } : {}) };
}

export function notFound(gr: GroupResource, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, details(gr, name));
}

export function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function alreadyExists(gr: GroupResource, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, details(gr, name));
}

export function conflict(gr: GroupResource, name: string, why: string): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`, details(gr, name));
}

export const STALE_OBJECT = 'the object has been modified; please apply your changes to the latest version and try again';

/** A refusal; with no resource (a non-resource path such as /api) the message is just `forbidden: why`. */
export function forbidden(gr: GroupResource, name: string | undefined, why: string): ApiError {
  const qualified = qualifiedResource(gr);
  const message = !qualified ? `forbidden: ${why}` : name ? `${qualified} "${name}" is forbidden: ${why}` : `${qualified} is forbidden: ${why}`;
  return new ApiError(403, 'Forbidden', message, details(gr, name));
}

/** The NamespaceLifecycle admission plugin's 403 for a create in a namespace being deleted. */
export function namespaceTerminating(gr: GroupResource, name: string, namespace: string): ApiError {
  return new ApiError(403, 'Forbidden', `${qualifiedResource(gr)} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
    ...details(gr, name),
    causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
}

export function notAcceptable(message = 'the server was unable to respond with a content type that the client supports'): ApiError {
  return new ApiError(406, 'NotAcceptable', message);
}

export function unsupportedMediaType(accepted: readonly string[]): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
}

/** go-restful's answer to a Content-Type a route does not consume (PATCH with anything but a patch type). */
export function unsupportedPatchMediaType(): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {});
}

/** 413 as NewRequestEntityTooLargeError words it: "Request entity too large: limit is 3145728". */
export function requestEntityTooLarge(detail: string): ApiError {
  return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: ${detail}`);
}

/**
 * 422 Invalid as apierrors.NewInvalid builds it: the kind qualified by its group ("Lease.coordination.k8s.io",
 * "CreateOptions.meta.k8s.io"), and the field errors aggregated as Go aggregates them: one alone
 * as is, several in brackets, repeated texts once.
 */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  const rendered = [...new Set(causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)))];
  const summary = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${group ? `${kind}.${group}` : kind} "${name}" is invalid: ${summary}`, {
    ...(name ? { name } : {}),
    ...(group ? { group } : {}),
    ...(kind ? { kind } : {}),
    causes,
  });
}

/**
 * The 422 of a JSON patch that cannot be applied (a failed test, a missing path, an unknown op):
 * the server wraps the reason in a generic response and the client sees none of it.
 */
export function unprocessableEntity(): ApiError {
  return new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
}

/**
 * The 409 of a failed uid precondition on update: the storage layer's error, shown whole.
 * `key` is the object's etcd key (/registry/configmaps/ns/name).
 */
export function storagePreconditionFailed(gr: GroupResource, name: string, key: string, why: string): ApiError {
  return conflict(gr, name, `StorageError: invalid object, Code: 4, Key: ${key}, ResourceVersion: 0, AdditionalErrorMsg: ${why}`);
}

/** A 500 for a plain Go error the server does not classify: no reason, no details. */
export function unclassifiedError(message: string): ApiError {
  return new ApiError(500, '', message);
}

export function expiredContinue(freshContinue: string): ApiError {
  return new ApiError(
    410,
    'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
    undefined,
    { continue: freshContinue },
  );
}

export function tooOldResourceVersion(requested: number, oldest: number): ApiError {
  return new ApiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

export function internalError(why: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${why}`, { causes: [{ message: why }] });
}

/** The Status an injected fault answers with, worded as the real server words each code. */
export function statusForCode(code: number, retryAfterSeconds?: number): ApiError {
  const retry = retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined;
  switch (code) {
    case 429:
      return new ApiError(429, 'TooManyRequests', 'Too many requests, please try again later.', retry ?? {});
    case 500:
      return new ApiError(500, 'InternalError', 'Internal error occurred: injected fault', {
        causes: [{ message: 'injected fault' }],
        ...retry,
      });
    case 503:
      return new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request', retry);
    case 504:
      return new ApiError(504, 'Timeout', 'the server was unable to return a response in the time allotted, but may still be processing the request', retry);
    case 409:
      return new ApiError(409, 'Conflict', 'injected conflict', retry);
    case 404:
      return pathNotFound();
    default:
      return new ApiError(code, 'Unknown', `the server responded with the status code ${code} but did not return more information`, retry);
  }
}
