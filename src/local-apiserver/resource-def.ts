// What the local API server knows about a resource type, and the shape of any object it serves:
// the types ./resources.ts defines its table with, apart from it so that the modules describing
// one kind's fields (./events.ts, ./leases.ts) can use them without importing the table.

import type { GoStruct } from './go-struct.js';
import type { GroupResource } from './status.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceDef extends GroupResource {
  version: string;
  kind: string;
  singularName: string;
  namespaced: boolean;
  shortNames: readonly string[];
  verbs: readonly Verb[];
  /** Field selectors the real server supports for this type, and how to read them from an object. */
  fieldLabels: Readonly<Record<string, (obj: KubeObject) => string | undefined>>;
  /** The typed fields besides apiVersion, kind and metadata, read and written as Go does (go-struct.ts). */
  body?: GoStruct;
  /** Set for another version of a kind stored under `storage`: objects are converted on the way in and out. */
  view?: StorageView;
}

/** How a version served from another kind's storage converts (events.k8s.io/v1 Events are stored as core/v1 Events). */
export interface StorageView {
  storage: ResourceDef;
  toStorage(obj: KubeObject): KubeObject;
  fromStorage(obj: KubeObject): KubeObject;
}

/** Any object of a served kind, as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: Record<string, unknown> & { name?: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
