// Just enough OpenAPI v3 for kubectl: before `replace`/`create -f` it checks whether the server
// validates fields itself (a `fieldValidation` parameter on the kind's PATCH operation). Finding it,
// kubectl sends `fieldValidation=Strict` instead of downloading schemas for client-side validation.

import { createHash } from 'node:crypto';
import { RESOURCES, type ResourceDef } from './resources.js';

const WRITE_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation'].map((name) => ({
  name,
  in: 'query',
  schema: { type: 'string', uniqueItems: true },
}));

function itemPath(def: ResourceDef): string {
  const prefix = def.group ? `/apis/${def.group}/${def.version}` : `/api/${def.version}`;
  return def.namespaced ? `${prefix}/namespaces/{namespace}/${def.resource}/{name}` : `${prefix}/${def.resource}/{name}`;
}

/** URL path of each group-version's document, keyed as the discovery root lists it. */
function groupVersionKey(def: ResourceDef): string {
  return def.group ? `apis/${def.group}/${def.version}` : `api/${def.version}`;
}

function groupVersionDocument(key: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const def of RESOURCES.filter((r) => groupVersionKey(r) === key)) {
    const gvk = { group: def.group, version: def.version, kind: def.kind };
    const operation = (action: string) => ({
      operationId: `${action}${def.kind}`,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      parameters: WRITE_PARAMETERS,
      responses: { '200': { description: 'OK' } },
    });
    paths[itemPath(def)] = { put: operation('put'), patch: operation('patch') };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths };
}

const KEYS = [...new Set(RESOURCES.map(groupVersionKey))];
const DOCUMENTS = new Map(KEYS.map((key) => [key, JSON.stringify(groupVersionDocument(key))]));

function hashOf(text: string): string {
  return createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase();
}

/** The OpenAPI v3 document for a path under /openapi/v3, as JSON text, or undefined. */
export function openApiV3(path: string): string | undefined {
  if (path === '/openapi/v3') {
    const paths = Object.fromEntries(
      [...DOCUMENTS].map(([key, doc]) => [key, { serverRelativeURL: `/openapi/v3/${key}?hash=${hashOf(doc)}` }]),
    );
    return JSON.stringify({ paths });
  }
  return DOCUMENTS.get(path.replace(/^\/openapi\/v3\//, ''));
}

