// Discovery documents: what kubectl reads to map `cm` to configmaps and find each resource's verbs.
// Only the unaggregated forms are served; kubectl falls back to them from aggregated discovery.

import { createHash } from 'node:crypto';
import { RESOURCES, storageOf } from './resources.js';
import type { ResourceDef } from './resource-def.js';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-cmstate-local',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** What discovery and OpenAPI say about a resource. */
export type ServedResource = Pick<ResourceDef, 'group' | 'version' | 'resource' | 'kind' | 'singularName' | 'namespaced' | 'shortNames' | 'verbs'>;

/** Create-only and stored nowhere, so not a ResourceDef; discovery and OpenAPI list it all the same. */
const SELF_SUBJECT_ACCESS_REVIEWS: ServedResource = {
  group: 'authorization.k8s.io',
  version: 'v1',
  resource: 'selfsubjectaccessreviews',
  kind: 'SelfSubjectAccessReview',
  singularName: 'selfsubjectaccessreview',
  namespaced: false,
  shortNames: [],
  verbs: ['create'],
};

export const SERVED: readonly ServedResource[] = [...RESOURCES, SELF_SUBJECT_ACCESS_REVIEWS];

/**
 * Groups under /apis in the real server's order: by the group priority of their APIServices
 * (events.k8s.io 17750, authorization.k8s.io 17600, coordination.k8s.io 16500).
 */
const GROUP_ORDER = ['events.k8s.io', 'authorization.k8s.io', 'coordination.k8s.io'];

/** Groups served under /apis, each with the one version served. */
function apiGroups(): string[] {
  const groups = [...new Set(SERVED.filter((r) => r.group !== '').map((r) => r.group))];
  const rank = (g: string) => (GROUP_ORDER.includes(g) ? GROUP_ORDER.indexOf(g) : GROUP_ORDER.length);
  return groups.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export function isServedGroup(group: string): boolean {
  return apiGroups().includes(group);
}

function groupDoc(name: string): Record<string, unknown> {
  const gv = { groupVersion: `${name}/v1`, version: 'v1' };
  return { name, versions: [gv], preferredVersion: gv };
}

/**
 * kube-apiserver's StorageVersionHash: the first 8 bytes of sha256("group/version/Kind") of the
 * version the resource is stored in (core/v1 Event for events.k8s.io/v1 too), base64. Only stored
 * resources have one.
 */
function storageVersionHash(def: ServedResource): string | undefined {
  const stored = RESOURCES.find((r) => r === def);
  if (!stored) return undefined;
  const { group, version, kind } = storageOf(stored);
  return createHash('sha256').update(`${group}/${version}/${kind}`).digest().subarray(0, 8).toString('base64');
}

function resourceEntry(def: ServedResource): Record<string, unknown> {
  const hash = storageVersionHash(def);
  return {
    name: def.resource,
    singularName: def.singularName,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: [...def.verbs].sort(),
    ...(def.shortNames.length > 0 ? { shortNames: [...def.shortNames] } : {}),
    ...(hash !== undefined ? { storageVersionHash: hash } : {}),
  };
}

/** The discovery document for a path, or undefined if the path is not a discovery path. */
export function discoveryDocument(path: string): Record<string, unknown> | undefined {
  if (path === '/version') return SERVER_VERSION;
  if (path === '/api') {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] };
  }
  if (path === '/apis') {
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: apiGroups().map(groupDoc) };
  }
  if (path === '/api/v1') {
    return { kind: 'APIResourceList', groupVersion: 'v1', resources: SERVED.filter((r) => r.group === '').map(resourceEntry) };
  }
  const group = /^\/apis\/([^/]+)$/.exec(path)?.[1];
  if (group !== undefined && isServedGroup(group)) return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group) };
  const groupVersion = /^\/apis\/([^/]+)\/v1$/.exec(path)?.[1];
  if (groupVersion !== undefined && isServedGroup(groupVersion)) {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: `${groupVersion}/v1`,
      resources: SERVED.filter((r) => r.group === groupVersion).map(resourceEntry),
    };
  }
  return undefined;
}
