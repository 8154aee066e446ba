// Discovery documents: what kubectl reads to map `cm` to configmaps and find each resource's verbs.
// Only the unaggregated forms are served; kubectl falls back to them from aggregated discovery.

import { RESOURCES, type ResourceDef } from './resources.js';

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

const AUTHORIZATION_GROUP = 'authorization.k8s.io';

/** Groups served under /apis, each with the one version served. */
function apiGroups(): string[] {
  const groups = new Set(RESOURCES.filter((r) => r.group !== '').map((r) => r.group));
  groups.add(AUTHORIZATION_GROUP);
  return [...groups].sort();
}

function groupDoc(name: string): Record<string, unknown> {
  const gv = { groupVersion: `${name}/v1`, version: 'v1' };
  return { name, versions: [gv], preferredVersion: gv };
}

function resourceEntry(def: ResourceDef): Record<string, unknown> {
  return {
    name: def.resource,
    singularName: def.singularName,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: [...def.verbs],
    ...(def.shortNames.length > 0 ? { shortNames: [...def.shortNames] } : {}),
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
    return {
      kind: 'APIResourceList',
      groupVersion: 'v1',
      resources: RESOURCES.filter((r) => r.group === '').map(resourceEntry),
    };
  }
  const group = /^\/apis\/([^/]+)$/.exec(path)?.[1];
  if (group !== undefined && apiGroups().includes(group)) return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group) };
  const groupVersion = /^\/apis\/([^/]+)\/v1$/.exec(path)?.[1];
  if (groupVersion === AUTHORIZATION_GROUP) {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: `${AUTHORIZATION_GROUP}/v1`,
      resources: [{ name: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', namespaced: false, kind: 'SelfSubjectAccessReview', verbs: ['create'] }],
    };
  }
  if (groupVersion !== undefined && apiGroups().includes(groupVersion)) {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: `${groupVersion}/v1`,
      resources: RESOURCES.filter((r) => r.group === groupVersion).map(resourceEntry),
    };
  }
  return undefined;
}
