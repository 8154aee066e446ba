// What kube-apiserver's scheme knows about kinds beyond the ones served here, as far as decode
// errors show it: a body of a registered kind that is not the target fails conversion
// ("converting (v1.Secret) to (core.ConfigMap): unknown conversion"), an unregistered one fails
// lookup ("no kind "Foo" is registered for version "v1" ..."), and the kind and version a body
// names are defaulted from the URL's as the JSON serializer defaults them.

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** core/v1 kinds (k8s.io/api/core/v1 register.go) and the meta kinds registered in every version. */
const CORE_V1 = [
  'Pod',
  'PodList',
  'PodStatusResult',
  'PodTemplate',
  'PodTemplateList',
  'ReplicationController',
  'ReplicationControllerList',
  'Service',
  'ServiceProxyOptions',
  'ServiceList',
  'Endpoints',
  'EndpointsList',
  'Node',
  'NodeList',
  'NodeProxyOptions',
  'Binding',
  'Event',
  'EventList',
  'LimitRange',
  'LimitRangeList',
  'ResourceQuota',
  'ResourceQuotaList',
  'Namespace',
  'NamespaceList',
  'Secret',
  'SecretList',
  'ServiceAccount',
  'ServiceAccountList',
  'PersistentVolume',
  'PersistentVolumeList',
  'PersistentVolumeClaim',
  'PersistentVolumeClaimList',
  'PodAttachOptions',
  'PodLogOptions',
  'PodExecOptions',
  'PodPortForwardOptions',
  'PodProxyOptions',
  'ComponentStatus',
  'ComponentStatusList',
  'SerializedReference',
  'RangeAllocation',
  'ConfigMap',
  'ConfigMapList',
  'List',
];

const META_IN_EVERY_VERSION = ['WatchEvent', 'ListOptions', 'GetOptions', 'DeleteOptions', 'CreateOptions', 'UpdateOptions', 'PatchOptions'];

/** Registered kinds by group/version, with the package of their internal type. */
const REGISTERED: Readonly<Record<string, { internal: string; kinds: readonly string[] }>> = {
  '/v1': { internal: 'core', kinds: [...CORE_V1, ...META_IN_EVERY_VERSION, 'Status', 'APIVersions', 'APIGroupList', 'APIGroup', 'APIResourceList'] },
  'coordination.k8s.io/v1': { internal: 'coordination', kinds: ['Lease', 'LeaseList', ...META_IN_EVERY_VERSION] },
  // events.k8s.io has no internal package of its own: its Event converts to and from core.Event.
  'events.k8s.io/v1': { internal: 'core', kinds: ['Event', 'EventList', ...META_IN_EVERY_VERSION] },
  'authorization.k8s.io/v1': {
    internal: 'authorization',
    kinds: ['SelfSubjectAccessReview', 'SubjectAccessReview', 'LocalSubjectAccessReview', 'SelfSubjectRulesReview', ...META_IN_EVERY_VERSION],
  },
};

const META_KINDS = new Set([...META_IN_EVERY_VERSION, 'Status', 'APIVersions', 'APIGroupList', 'APIGroup', 'APIResourceList']);

/**
 * The Go types of a registered kind: the versioned one a body decodes into (`v1.Secret`) and the
 * internal one it converts to (`core.Secret`); undefined if the scheme does not know the kind.
 * `assumeRegistered` names the types of a served kind without looking it up.
 */
export function registeredGoType(gvk: GroupVersionKind, assumeRegistered = false): { external: string; internal: string } | undefined {
  const entry = REGISTERED[`${gvk.group}/${gvk.version}`];
  if (!assumeRegistered && !entry?.kinds.includes(gvk.kind)) return undefined;
  const internal = META_KINDS.has(gvk.kind) ? 'v1' : (entry?.internal ?? gvk.group.split('.')[0]);
  return { external: `${gvk.version}.${gvk.kind}`, internal: `${internal}.${gvk.kind}` };
}

/**
 * The group, version and kind a body names (schema.FromAPIVersionAndKind), with what it leaves
 * out taken from the URL's (the JSON serializer's gvkWithDefaults). An apiVersion with more than
 * one slash does not parse and counts as absent.
 */
export function defaultedGroupVersionKind(apiVersion: string, kind: string, target: GroupVersionKind): GroupVersionKind {
  const parts = apiVersion.split('/');
  const actual: GroupVersionKind =
    apiVersion === '' || parts.length > 2
      ? { group: '', version: '', kind }
      : parts.length === 1
        ? { group: '', version: apiVersion, kind }
        : { group: parts[0] as string, version: parts[1] as string, kind };
  if (actual.kind === '') actual.kind = target.kind;
  if (actual.version === '' && actual.group === '') {
    actual.group = target.group;
    actual.version = target.version;
  }
  if (actual.version === '' && actual.group === target.group) actual.version = target.version;
  return actual;
}
