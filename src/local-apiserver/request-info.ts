// What a request asks, read from its method and URL alone as kube-apiserver's RequestInfoFactory
// reads it: authorization runs on this before routing, so a request nobody may make is 403 whether
// or not what it names exists.

/** The attributes RBAC decides on. A non-resource request has only a verb and a path. */
export interface RequestInfo {
  resourceRequest: boolean;
  /** The URL path, decoded: what non-resource rules match and 403s quote. */
  path: string;
  /** Resource verbs (get, list, watch, create, update, patch, delete, deletecollection), else the method in lower case. */
  verb: string;
  group: string;
  version: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

/** Path steps that are verbs, as in the long-deprecated `/api/v1/watch/namespaces/...`. */
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
/** Subresources of a namespace, which are not resources in their own right. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

const METHOD_VERBS: Readonly<Record<string, string>> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function requestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const path = decode(pathname);
  const info: RequestInfo = {
    resourceRequest: false,
    path,
    verb: method.toLowerCase(),
    group: '',
    version: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
  };
  const trimmed = pathname.replace(/^\/+|\/+$/g, '');
  let parts = trimmed === '' ? [] : trimmed.split('/').map(decode);
  // /api/VERSION/... has no group; /apis/GROUP/VERSION/... needs one more step before it names a resource.
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return info;
  const groupless = parts[0] === 'api';
  parts = parts.slice(1);
  if (!groupless) {
    if (parts.length < 3) return info;
    info.group = parts[0] as string;
    parts = parts.slice(1);
  }
  info.resourceRequest = true;
  info.version = parts[0] as string;
  parts = parts.slice(1);

  if (SPECIAL_VERBS.has(parts[0] as string) && parts.length >= 2) {
    info.verb = parts[0] as string;
    parts = parts.slice(1);
  } else {
    info.verb = METHOD_VERBS[method] ?? '';
  }
  if (parts[0] === 'namespaces' && parts.length > 1) {
    info.namespace = parts[1] as string;
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] as string)) parts = parts.slice(2);
  }
  if (parts.length >= 3 && info.verb !== 'proxy') info.subresource = parts[2] as string;
  if (parts.length >= 2) info.name = parts[1] as string;
  info.resource = parts[0] ?? '';

  // A GET without a name reads a collection: a list, or a watch; a fieldSelector on metadata.name names the object.
  if (info.name === '' && info.verb === 'get') {
    info.verb = watchRequested(query) ? 'watch' : 'list';
    info.name = exactName(query.get('fieldSelector') ?? '') ?? '';
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}

/** `watch` as the parameter codec reads a bool: present and not "false" or "0" (in any case) is true. */
export function watchRequested(query: URLSearchParams): boolean {
  const watch = query.get('watch');
  return watch !== null && !['false', '0'].includes(watch.toLowerCase());
}

/** The value of a `metadata.name=V` (or `==`) term, if it is a valid path segment. */
function exactName(selector: string): string | undefined {
  for (const term of selector.split(',')) {
    const m = /^metadata\.name==?(.*)$/.exec(term);
    const name = m?.[1];
    if (name !== undefined && name !== '' && name !== '.' && name !== '..' && !/[/%]/.test(name)) return name;
  }
  return undefined;
}
