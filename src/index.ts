// The library's front door (`import { StateManager } from 'cmstate'`): one task state's atomic
// operations, the client they go through, the wire format and the errors a caller may catch.
// Everything else under src/ serves the CLI's jobs and may change without notice. The embedded
// API server, for other projects' tests, is `cmstate/local-apiserver`.

export { StateManager } from './state/manager.js';
export type { CreateOptions, FeedbackPage, RecoveredState, StateClient, StateManagerOptions } from './state/manager.js';
export { watchStates } from './state/watch.js';
export type { StateChange, WatchClient, WatchStatesOptions } from './state/watch.js';
export type { FieldChange } from './state/changes.js';
export { InvalidFeedbackError, InvalidTransitionError, MaxIterationsError, StateDecodeError, StateEncodeError, StateNotFoundError } from './state/errors.js';

export { KubeClient } from './kube/client.js';
export type { KubeClientOptions, WatchEvent, WatchOptions } from './kube/client.js';
export { KubeConfigError, loadKubeConfig } from './kube/config.js';
export type { KubeConfigSource, LoadedKubeConfig } from './kube/config.js';
export {
  AlreadyExistsError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidError,
  KubeError,
  NotFoundError,
  ThrottledError,
  UnauthorizedError,
  UnavailableError,
  UnexpectedError,
} from './kube/errors.js';
export type { KubeErrorKind } from './kube/errors.js';
export type { ConfigMap, ObjectMeta, ObjectRef, OwnerReference } from './kube/types.js';

export { FEEDBACK_SEVERITIES, ISSUE_TYPES, TASK_STATUSES, feedbackEntrySchema, jsonSchema, taskStateSchema } from './state/schema.js';
export type { FeedbackEntry, FeedbackSeverity, IssueType, IterationHistoryEntry, StatusHistoryEntry, TaskState, TaskStatus } from './state/schema.js';
export { decodeState } from './state/decode.js';
export { encodeState } from './state/encode.js';
export { checkInvariants } from './state/invariants.js';
export { RULES, RULE_IDS } from './state/findings.js';
export type { Finding, RuleId } from './state/findings.js';
export { ARCHIVE_SELECTOR, TASK_SELECTOR, archiveConfigMapName, stateConfigMapName, taskIdFromName } from './state/labels.js';
