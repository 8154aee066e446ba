// Maps a method and URL path to what is asked: a fixed document, an access review, or a verb on a
// resource collection or object. What is unknown answers as on kube-apiserver: a JSON Status from
// inside its API tree (/api, and the groups it serves), Go's plain-text 404 page from anywhere else.

import type { ResourceTarget } from './api.js';
import { discoveryDocument, isServedGroup } from './discovery.js';
import { openApiV2, openApiV3 } from './openapi.js';
import { NAMESPACES, findResource } from './resources.js';
import type { Verb } from './resource-def.js';
import { watchRequested } from './request-info.js';
import { ApiError, methodNotAllowed, pathNotFound } from './status.js';

export type Route =
  /** An answer that is no API object: discovery and OpenAPI documents, health checks, Go's 404 page. */
  | { kind: 'document'; status: number; contentType?: string; body: string | Buffer }
  | { kind: 'accessReview' }
  | { kind: 'resource'; target: ResourceTarget; verb: Verb }
  | { kind: 'error'; error: ApiError };

/** Health checks answer whatever the method, as their Go handlers do. */
const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);

/** Go's http.NotFound, which kube-apiserver's last handler calls for paths outside its API tree. */
const PAGE_NOT_FOUND: Route = { kind: 'document', status: 404, contentType: 'text/plain; charset=utf-8', body: '404 page not found\n' };

/** What Go's HTTP server answers, before any handler, to a request URI it cannot parse (a bad %-escape). */
const BAD_REQUEST_URI: Route = { kind: 'document', status: 400, contentType: 'text/plain; charset=utf-8', body: '400 Bad Request' };

function json(value: unknown): Route {
  return { kind: 'document', status: 200, contentType: 'application/json', body: JSON.stringify(value) };
}

/** Paths the API server's own request router (go-restful) owns, where an unknown resource is a Status. */
function inApiTree(path: string): boolean {
  if (path === '/api' || path.startsWith('/api/') || path === '/version' || path.startsWith('/version/')) return true;
  const group = /^\/apis\/([^/]+)/.exec(path)?.[1];
  return group !== undefined && isServedGroup(group);
}

/** The verb a request means to the authorizer and to fault rules. */
export function routeVerb(route: Route, method: string): Verb {
  if (route.kind === 'resource') return route.verb;
  if (route.kind === 'accessReview') return 'create';
  return ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, Verb>)[method] ?? 'get';
}

function fail(error: ApiError): Route {
  return { kind: 'error', error };
}

function verbFor(method: string, hasName: boolean, watch: boolean): Verb | undefined {
  switch (method) {
    case 'GET':
      return hasName ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      return hasName ? undefined : 'create';
    case 'PUT':
      return hasName ? 'update' : undefined;
    case 'PATCH':
      return hasName ? 'patch' : undefined;
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function route(method: string, path: string, query: URLSearchParams, accept: string | undefined): Route {
  if (path.split('/').some((segment) => decodeSegment(segment) === undefined)) return BAD_REQUEST_URI;
  if (HEALTH_PATHS.has(path)) return { kind: 'document', status: 200, contentType: 'text/plain; charset=utf-8', body: 'ok' };
  const trimmed = path.replace(/\/+$/, '') || '/';
  if (trimmed === '/openapi/v2') return { kind: 'document', ...openApiV2(accept) };
  if (trimmed === '/openapi/v3' || trimmed.startsWith('/openapi/v3/')) return { kind: 'document', ...openApiV3(trimmed) };
  const doc = discoveryDocument(trimmed);
  if (doc) return method === 'GET' ? json(doc) : fail(methodNotAllowed());
  if (!inApiTree(trimmed)) return PAGE_NOT_FOUND;
  if (path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
    return method === 'POST' ? { kind: 'accessReview' } : fail(methodNotAllowed());
  }

  let group: string;
  let version: string;
  let rest: string[];
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeSegment(p) as string);
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1] as string;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1] as string;
    version = parts[2] as string;
    rest = parts.slice(3);
  } else {
    return fail(pathNotFound());
  }

  let namespace: string | undefined;
  let resource: string;
  let name: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    if (rest.length > 4) return fail(pathNotFound());
    namespace = rest[1];
    resource = rest[2] as string;
    name = rest[3];
  } else {
    if (rest.length > 2) return fail(pathNotFound());
    resource = rest[0] as string;
    name = rest[1];
  }

  const def = findResource(group, version, resource);
  if (!def) return fail(pathNotFound());
  if (def.namespaced && namespace === undefined && name !== undefined) return fail(pathNotFound());
  if (!def.namespaced && namespace !== undefined) return fail(pathNotFound());
  if (def === NAMESPACES && namespace !== undefined) return fail(pathNotFound());

  const verb = verbFor(method, name !== undefined, watchRequested(query));
  if (!verb || !def.verbs.includes(verb)) return fail(methodNotAllowed());
  if (def.namespaced && namespace === undefined && verb !== 'list' && verb !== 'watch') return fail(methodNotAllowed());
  return {
    kind: 'resource',
    verb,
    target: { def, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}) },
  };
}
