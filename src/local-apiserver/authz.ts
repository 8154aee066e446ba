// Deny rules standing in for RBAC: everything is allowed unless a rule denies it, and
// SelfSubjectAccessReviews answer from the same rules, so `cmstate doctor` can be tested.

import type { ResourceDef, Verb } from './resources.js';
import { forbidden, invalid, type ApiError } from './status.js';

export type DeniableResource = 'configmaps' | 'leases' | 'events' | 'namespaces';

export interface DenyRule {
  verb: Verb;
  resource: DeniableResource;
  /** Only in this namespace; every namespace (and cluster scope) when absent. */
  namespace?: string;
}

export interface DenyHandle {
  remove(): void;
}

export interface AccessRequest {
  verb: string;
  resource: string;
  namespace?: string;
}

export class Authorizer {
  private rules: DenyRule[] = [];

  constructor(readonly user: string) {}

  deny(rule: DenyRule): DenyHandle {
    this.rules.push(rule);
    return {
      remove: () => {
        this.rules = this.rules.filter((r) => r !== rule);
      },
    };
  }

  clear(): void {
    this.rules = [];
  }

  allowed(req: AccessRequest): boolean {
    return !this.rules.some(
      (r) =>
        (r.verb === req.verb || req.verb === '*') &&
        (r.resource === req.resource || req.resource === '*') &&
        (r.namespace === undefined || r.namespace === req.namespace),
    );
  }

  /** Throws the real server's 403 if the request is denied. */
  check(def: ResourceDef, verb: Verb, namespace: string | undefined, name: string | undefined): void {
    if (this.allowed({ verb, resource: def.resource, ...(namespace !== undefined ? { namespace } : {}) })) return;
    throw this.forbiddenError(def, verb, namespace, name);
  }

  private forbiddenError(def: ResourceDef, verb: Verb, namespace: string | undefined, name: string | undefined): ApiError {
    const scope = namespace !== undefined ? `in the namespace "${namespace}"` : 'at the cluster scope';
    return forbidden(def, name, `User "${this.user}" cannot ${verb} resource "${def.resource}" in API group "${def.group}" ${scope}`);
  }
}

/** Answers a SelfSubjectAccessReview body from the deny rules; throws 422 if it asks nothing. */
export function reviewAccess(authz: Authorizer, review: unknown): Record<string, unknown> {
  const spec = (review as { spec?: Record<string, unknown> } | null)?.spec ?? {};
  const attrs = spec['resourceAttributes'] as Record<string, unknown> | undefined;
  if (!attrs && !spec['nonResourceAttributes']) {
    throw invalid('SelfSubjectAccessReview', 'authorization.k8s.io', '', [
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
        field: 'spec.resourceAttributes',
      },
    ]);
  }
  const allowed = attrs
    ? authz.allowed({
        verb: String(attrs['verb'] ?? ''),
        resource: String(attrs['resource'] ?? ''),
        ...(typeof attrs['namespace'] === 'string' && attrs['namespace'] !== '' ? { namespace: attrs['namespace'] } : {}),
      })
    : true;
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec,
    // RBAC gives no reason when it does not allow something; kubectl then prints a bare "no".
    status: { allowed },
  };
}
