// Maps a method and URL path to what is asked: a discovery document, an access review, or a verb
// on a resource collection or object.

import type { ResourceTarget } from './api.js';
import { discoveryDocument } from './discovery.js';
import { openApiV3 } from './openapi.js';
import { NAMESPACES, findResource, type Verb } from './resources.js';
import { ApiError, methodNotAllowed, pathNotFound } from './status.js';

export type Route =
  /** Discovery and OpenAPI documents, as JSON text. */
  | { kind: 'document'; body: string }
  | { kind: 'health' }
  | { kind: 'accessReview' }
  | { kind: 'resource'; target: ResourceTarget; verb: Verb }
  | { kind: 'error'; error: ApiError };

const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);

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
      return hasName ? 'delete' : undefined;
    default:
      return undefined;
  }
}

export function route(method: string, path: string, query: URLSearchParams): Route {
  if (HEALTH_PATHS.has(path)) return method === 'GET' ? { kind: 'health' } : fail(methodNotAllowed());
  const trimmed = path.replace(/\/+$/, '') || '/';
  const doc = discoveryDocument(trimmed);
  const text = doc ? JSON.stringify(doc) : trimmed.startsWith('/openapi/v3') ? openApiV3(trimmed) : undefined;
  if (text !== undefined) return method === 'GET' ? { kind: 'document', body: text } : fail(methodNotAllowed());
  if (path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
    return method === 'POST' ? { kind: 'accessReview' } : fail(methodNotAllowed());
  }

  let group: string;
  let version: string;
  let rest: string[];
  const parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
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

  const watch = query.get('watch') === 'true' || query.get('watch') === '1';
  const verb = verbFor(method, name !== undefined, watch);
  if (!verb) return fail(methodNotAllowed());
  if (def.namespaced && namespace === undefined && verb !== 'list' && verb !== 'watch') return fail(methodNotAllowed());
  return {
    kind: 'resource',
    verb,
    target: { def, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}) },
  };
}
