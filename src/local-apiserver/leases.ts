// coordination.k8s.io/v1 Leases: the Go type (acquireTime and renewTime are MicroTimes, so only
// six fractional digits are read, as a real server reads them) and pkg/apis/coordination/validation.

import { INT32, MICRO_TIME, STRING, type GoStruct } from './go-struct.js';
import type { KubeObject } from './resource-def.js';
import type { StatusCause } from './status.js';

export const LEASE: GoStruct = {
  kind: 'struct',
  name: 'Lease',
  goType: 'v1.Lease',
  fields: [
    {
      json: 'spec',
      omitEmpty: true,
      type: {
        kind: 'struct',
        name: 'LeaseSpec',
        goType: 'v1.LeaseSpec',
        fields: [
          { json: 'holderIdentity', type: STRING, pointer: true, omitEmpty: true },
          { json: 'leaseDurationSeconds', type: INT32, pointer: true, omitEmpty: true },
          { json: 'acquireTime', type: MICRO_TIME, pointer: true, omitEmpty: true },
          { json: 'renewTime', type: MICRO_TIME, pointer: true, omitEmpty: true },
          { json: 'leaseTransitions', type: INT32, pointer: true, omitEmpty: true },
          // Alpha in 1.32 behind the CoordinatedLeaderElection feature gate, which is off: the
          // strategy clears them before validation.
          { json: 'strategy', type: { kind: 'string', goType: 'v1.CoordinatedLeaseStrategy' }, pointer: true, omitEmpty: true, cleared: true },
          { json: 'preferredHolder', type: STRING, pointer: true, omitEmpty: true, cleared: true },
        ],
      },
    },
  ],
};

/** ValidateLeaseSpec, on a Lease as decoded (go-struct.ts): the numbers are int32 or absent. */
export function validateLease(obj: KubeObject): StatusCause[] {
  const spec = obj['spec'] as { leaseDurationSeconds?: number; leaseTransitions?: number };
  const causes: StatusCause[] = [];
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0) {
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${spec.leaseDurationSeconds}: must be greater than 0`, field: 'spec.leaseDurationSeconds' });
  }
  if (spec.leaseTransitions !== undefined && spec.leaseTransitions < 0) {
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${spec.leaseTransitions}: must be greater than or equal to 0`, field: 'spec.leaseTransitions' });
  }
  return causes;
}
