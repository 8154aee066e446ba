// Server-side printing (`as=Table`), which kubectl asks for on `get`: the columns the real server
// prints for each kind, with ages worded like kubectl's.

import type { KubeObject } from './resources.js';
import type { StoredObject } from './store.js';

interface Column {
  name: string;
  type: 'string' | 'integer';
  format: string;
  description: string;
  cell: (obj: KubeObject, now: number) => string | number;
}

/** kubectl's HumanDuration: 45s, 5m30s, 3h20m, 2d4h, 1y30d. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  const days = Math.floor(hours / 24) % 365;
  if (hours < 24 * 365 * 8) return days === 0 ? `${years}y` : `${years}y${days}d`;
  return `${years}y`;
}

function age(timestamp: unknown, now: number): string {
  if (typeof timestamp !== 'string') return '<unknown>';
  return humanDuration(now - Date.parse(timestamp));
}

function field(obj: KubeObject, parent: string, key: string): unknown {
  const p = obj[parent];
  return p && typeof p === 'object' ? (p as Record<string, unknown>)[key] : undefined;
}

const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  cell: (o) => o.metadata.name ?? '',
};

const ageColumn: Column = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (o, now) => age(o.metadata['creationTimestamp'], now),
};

const COLUMNS: Readonly<Record<string, Column[]>> = {
  ConfigMap: [
    nameColumn,
    {
      name: 'Data',
      type: 'integer',
      format: '',
      description: 'Number of keys in data and binaryData.',
      cell: (o) => Object.keys((o['data'] as object | undefined) ?? {}).length + Object.keys((o['binaryData'] as object | undefined) ?? {}).length,
    },
    ageColumn,
  ],
  Namespace: [
    nameColumn,
    { name: 'Status', type: 'string', format: '', description: 'The status of the namespace', cell: (o) => String(field(o, 'status', 'phase') ?? '') },
    ageColumn,
  ],
  Lease: [
    nameColumn,
    { name: 'Holder', type: 'string', format: '', description: 'The holder of the lease', cell: (o) => String(field(o, 'spec', 'holderIdentity') ?? '') },
    ageColumn,
  ],
  Event: [
    { name: 'Last Seen', type: 'string', format: '', description: 'Time of the last occurrence', cell: (o, now) => age(o['lastTimestamp'] ?? o['eventTime'] ?? o.metadata['creationTimestamp'], now) },
    { name: 'Type', type: 'string', format: '', description: 'Type of this event', cell: (o) => String(o['type'] ?? '') },
    { name: 'Reason', type: 'string', format: '', description: 'Why the event happened', cell: (o) => String(o['reason'] ?? '') },
    {
      name: 'Object',
      type: 'string',
      format: '',
      description: 'The object this event is about',
      cell: (o) => `${String(field(o, 'involvedObject', 'kind') ?? '').toLowerCase()}/${String(field(o, 'involvedObject', 'name') ?? '')}`,
    },
    { name: 'Message', type: 'string', format: '', description: 'A human-readable description', cell: (o) => String(o['message'] ?? '') },
  ],
};

export type IncludeObject = 'None' | 'Object' | 'Metadata';

/** A meta.k8s.io/v1 Table as a JSON string; row objects reuse the stored serializations. */
export function tableJson(
  kind: string,
  items: readonly StoredObject[],
  listMeta: Record<string, unknown>,
  include: IncludeObject,
  now: number,
): string {
  const columns = COLUMNS[kind] ?? [nameColumn, ageColumn];
  const definitions = columns.map((c) => ({ name: c.name, type: c.type, format: c.format, description: c.description, priority: 0 }));
  const rows = items.map((s) => {
    const cells = JSON.stringify(columns.map((c) => c.cell(s.obj, now)));
    const object = include === 'None' ? '' : `,"object":${include === 'Object' ? s.json() : s.metadataJson()}`;
    return `{"cells":${cells}${object}}`;
  });
  const head = JSON.stringify({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, columnDefinitions: definitions });
  return `${head.slice(0, -1)},"rows":[${rows.join(',')}]}`;
}
