// Public API of the embedded local Kubernetes API server.

export { LocalApiServer } from './server.js';
export type { LocalApiServerOptions, RequestLogEntry } from './server.js';
export type { Fault, FaultHandle, FaultMatch, FaultRule } from './faults.js';
export { seededRandom } from './faults.js';
export type { AllowRule, DeniableResource, DenyRule, RuleHandle } from './authz.js';
export { TokenFileError } from './authn.js';
export type { Verb, KubeObject } from './resource-def.js';
export { ApiError } from './status.js';
export { DataFileError } from './persistence.js';
export { CONFIGMAP_MAX_BYTES, configMapDataBytes } from './validation.js';
export { LOCAL_CONTEXT } from './kubeconfig.js';
