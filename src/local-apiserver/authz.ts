// Authorization with kube-apiserver's model: system:masters may do everything, everyone else only
// what an RBAC binding grants: the bindings every cluster has (basic-user, discovery,
// public-info-viewer) and the allow rules a test adds. Deny rules, a test device no cluster has,
// take verbs away from anyone, the admin too, so `cmstate doctor` can be tested against an admin
// kubeconfig. SelfSubjectAccessReviews answer from the same model.

import { AUTHENTICATED_GROUP, MASTERS_GROUP, UNAUTHENTICATED_GROUP, type Identity } from './authn.js';
import type { RequestInfo } from './request-info.js';
import type { Verb } from './resource-def.js';
import { ApiError, forbidden, type StatusCause } from './status.js';

export type DeniableResource = 'configmaps' | 'leases' | 'events' | 'namespaces';

export interface DenyRule {
  verb: Verb;
  resource: DeniableResource;
  /** Only in this namespace; every namespace (and cluster scope) when absent. */
  namespace?: string;
}

/** What an RBAC binding of one rule to one user would grant. */
export interface AllowRule {
  user: string;
  /** A verb, or `*` for all. */
  verb: string;
  /** A resource of any API group (`configmaps`, `leases`, ...), or `*` for all. */
  resource: string;
  /** Only in this namespace (a RoleBinding); every namespace and cluster scope when absent (a ClusterRoleBinding). */
  namespace?: string;
}

export interface RuleHandle {
  remove(): void;
}

export interface Decision {
  allowed: boolean;
  /** RBAC's words for why, when a binding allowed it; empty otherwise. */
  reason: string;
}

interface PolicyRule {
  verbs: readonly string[];
  apiGroups?: readonly string[];
  resources?: readonly string[];
  nonResourceURLs?: readonly string[];
}

interface Subject {
  kind: 'User' | 'Group';
  name: string;
}

interface Binding {
  /** A RoleBinding's namespace; a ClusterRoleBinding has none. */
  namespace?: string;
  /** Also the name of the role it binds, as in every binding here. */
  name: string;
  subjects: readonly Subject[];
  rules: readonly PolicyRule[];
}

const PUBLIC_INFO = ['/livez', '/readyz', '/healthz', '/version', '/version/'];

/** The bootstrap ClusterRoleBindings of kube-apiserver v1.32 that concern users. */
const BOOTSTRAP_BINDINGS: readonly Binding[] = [
  {
    name: 'system:basic-user',
    subjects: [{ kind: 'Group', name: AUTHENTICATED_GROUP }],
    rules: [
      { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
      { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
    ],
  },
  {
    name: 'system:discovery',
    subjects: [{ kind: 'Group', name: AUTHENTICATED_GROUP }],
    rules: [{ verbs: ['get'], nonResourceURLs: [...PUBLIC_INFO, '/openapi', '/openapi/*', '/api', '/api/*', '/apis', '/apis/*'] }],
  },
  {
    name: 'system:public-info-viewer',
    subjects: [
      { kind: 'Group', name: AUTHENTICATED_GROUP },
      { kind: 'Group', name: UNAUTHENTICATED_GROUP },
    ],
    rules: [{ verbs: ['get'], nonResourceURLs: PUBLIC_INFO }],
  },
];

function applies(subject: Subject, identity: Identity): boolean {
  return subject.kind === 'User' ? subject.name === identity.name : identity.groups.includes(subject.name);
}

/** RBAC's RuleAllows. */
function ruleAllows(rule: PolicyRule, info: RequestInfo): boolean {
  if (!rule.verbs.includes('*') && !rule.verbs.includes(info.verb)) return false;
  if (!info.resourceRequest) {
    return (rule.nonResourceURLs ?? []).some((url) => url === '*' || url === info.path || (url.endsWith('*') && info.path.startsWith(url.slice(0, -1))));
  }
  const groups = rule.apiGroups ?? [];
  if (!groups.includes('*') && !groups.includes(info.group)) return false;
  const combined = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  return (rule.resources ?? []).some((r) => r === '*' || r === combined || (info.subresource !== '' && r === `*/${info.subresource}`));
}

/** RBAC's words for the binding that allowed a request. */
function describe(binding: Binding, subject: Subject): string {
  const to = `${subject.kind} ${JSON.stringify(subject.name)}`;
  return binding.namespace === undefined
    ? `ClusterRoleBinding ${JSON.stringify(binding.name)} of ClusterRole ${JSON.stringify(binding.name)} to ${to}`
    : `RoleBinding ${JSON.stringify(`${binding.name}/${binding.namespace}`)} of Role ${JSON.stringify(binding.name)} to ${to}`;
}

function denies(rule: DenyRule, info: RequestInfo): boolean {
  return (
    info.resourceRequest &&
    (rule.verb === info.verb || info.verb === '*') &&
    (rule.resource === info.resource || info.resource === '*') &&
    (rule.namespace === undefined || rule.namespace === info.namespace)
  );
}

export class Authorizer {
  private denyRules: DenyRule[] = [];
  private allowBindings: Binding[] = [];
  private allowRulesAdded = 0;

  deny(rule: DenyRule): RuleHandle {
    this.denyRules.push(rule);
    return {
      remove: () => {
        this.denyRules = this.denyRules.filter((r) => r !== rule);
      },
    };
  }

  clearDenyRules(): void {
    this.denyRules = [];
  }

  allow(rule: AllowRule): RuleHandle {
    const name = `cmstate-local-allow-${++this.allowRulesAdded}`;
    const binding: Binding = {
      ...(rule.namespace !== undefined ? { namespace: rule.namespace } : {}),
      name,
      subjects: [{ kind: 'User', name: rule.user }],
      rules: [{ verbs: [rule.verb], apiGroups: ['*'], resources: [rule.resource] }],
    };
    this.allowBindings.push(binding);
    return {
      remove: () => {
        this.allowBindings = this.allowBindings.filter((b) => b !== binding);
      },
    };
  }

  authorize(identity: Identity, info: RequestInfo): Decision {
    if (this.denyRules.some((r) => denies(r, info))) return { allowed: false, reason: '' };
    if (identity.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: '' };
    for (const binding of [...BOOTSTRAP_BINDINGS, ...this.allowBindings]) {
      if (binding.namespace !== undefined && binding.namespace !== info.namespace) continue;
      const subject = binding.subjects.find((s) => applies(s, identity));
      if (subject && binding.rules.some((rule) => ruleAllows(rule, info))) {
        return { allowed: true, reason: `RBAC: allowed by ${describe(binding, subject)}` };
      }
    }
    // RBAC gives no reason when nothing allows a request.
    return { allowed: false, reason: '' };
  }

  /** Throws the real server's 403 if the identity may not make the request. */
  check(identity: Identity, info: RequestInfo): void {
    if (this.authorize(identity, info).allowed) return;
    throw forbidden({ group: info.group, resource: info.resource }, info.name || undefined, forbiddenMessage(identity, info));
  }
}

/** As kube-apiserver words a refusal (with `&`, `<`, `>` escaped so that it never reads as HTML). */
function forbiddenMessage(identity: Identity, info: RequestInfo): string {
  const q = (s: string) => JSON.stringify(s);
  let text: string;
  if (!info.resourceRequest) {
    text = `User ${q(identity.name)} cannot ${info.verb} path ${q(info.path)}`;
  } else {
    const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
    const scope = info.namespace ? `in the namespace ${q(info.namespace)}` : 'at the cluster scope';
    text = `User ${q(identity.name)} cannot ${info.verb} resource ${q(resource)} in API group ${q(info.group)} ${scope}`;
  }
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const RESOURCE_ATTRIBUTES = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'] as const;
const NON_RESOURCE_ATTRIBUTES = ['path', 'verb'] as const;

/** The attributes as the server decodes them: known string fields, empty ones left out (omitempty). */
function typed(attrs: unknown, fields: readonly string[]): Record<string, string> | undefined {
  if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) return undefined;
  const out: Record<string, string> = {};
  for (const f of fields) {
    const v = (attrs as Record<string, unknown>)[f];
    if (typeof v === 'string' && v !== '') out[f] = v;
  }
  return out;
}

function reviewInvalid(cause: StatusCause): ApiError {
  // The review's kind is empty by the time it is validated, so the message starts with ".group".
  return new ApiError(422, 'Invalid', `.authorization.k8s.io "" is invalid: ${cause.field}: ${cause.message}`, {
    group: 'authorization.k8s.io',
    causes: [cause],
  });
}

/** Answers a SelfSubjectAccessReview body for `identity`; throws the real server's 422 unless it asks exactly one thing. */
export function reviewAccess(authz: Authorizer, identity: Identity, review: unknown): Record<string, unknown> {
  const spec = (review as { spec?: Record<string, unknown> } | null)?.spec ?? {};
  const resource = typed(spec['resourceAttributes'], RESOURCE_ATTRIBUTES);
  const nonResource = typed(spec['nonResourceAttributes'], NON_RESOURCE_ATTRIBUTES);
  if (resource && nonResource) {
    const q = (s: string | undefined) => JSON.stringify(s ?? '');
    throw reviewInvalid({
      reason: 'FieldValueInvalid',
      message: `Invalid value: authorization.NonResourceAttributes{Path:${q(nonResource['path'])}, Verb:${q(nonResource['verb'])}}: cannot be specified in combination with resourceAttributes`,
      field: 'spec.nonResourceAttributes',
    });
  }
  if (!resource && !nonResource) {
    throw reviewInvalid({
      reason: 'FieldValueInvalid',
      message: 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
      field: 'spec.resourceAttributes',
    });
  }
  const a = (resource ?? nonResource) as Record<string, string>;
  const decision = authz.authorize(identity, {
    resourceRequest: resource !== undefined,
    path: a['path'] ?? '',
    verb: a['verb'] ?? '',
    group: a['group'] ?? '',
    version: a['version'] ?? '',
    namespace: a['namespace'] ?? '',
    resource: a['resource'] ?? '',
    subresource: a['subresource'] ?? '',
    name: a['name'] ?? '',
  });
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: resource ? { resourceAttributes: resource } : { nonResourceAttributes: nonResource },
    status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
  };
}
