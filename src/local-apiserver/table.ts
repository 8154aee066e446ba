// Server-side printing (`as=Table`), which kubectl asks for on `get`: the columns kube-apiserver's
// printers define for each kind, all of them (the server prints wide; kubectl hides priority 1),
// described by the fields' OpenAPI descriptions, with cells and ages as the printers compute them.

import { coreFromEventsV1 } from './events.js';
import type { KubeObject } from './resource-def.js';
import { fieldDescription, OBJECT_META } from './schemas.js';
import type { StoredObject } from './store.js';

interface Column {
  name: string;
  /** `name` marks the column holding the object's name. */
  format?: 'name';
  /** 1: shown by kubectl only with -o wide. */
  priority?: 1;
  description: string;
  cell: (obj: KubeObject, now: number) => string | number;
}

/** Go's duration.HumanDuration (k8s.io/apimachinery): 45s, 5m30s, 3h20m, 2d4h, 1y30d. */
function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
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

/** translateTimestampSince: a zero (absent) time is `<unknown>`. */
function age(timestamp: unknown, now: number): string {
  if (typeof timestamp !== 'string' || timestamp === '') return '<unknown>';
  return humanDuration(now - Date.parse(timestamp));
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

const CORE_EVENT = 'io.k8s.api.core.v1.Event';

const nameColumn = (priority?: 1): Column => ({
  name: 'Name',
  format: 'name',
  ...(priority ? { priority } : {}),
  description: fieldDescription(OBJECT_META, 'name'),
  cell: (o) => o.metadata.name ?? '',
});

const ageColumn: Column = {
  name: 'Age',
  description: fieldDescription(OBJECT_META, 'creationTimestamp'),
  cell: (o, now) => age(o.metadata['creationTimestamp'], now),
};

/** printEvent's times and count: eventTime stands in for firstTimestamp, a series overrides both last and count, a singleton counts 1. */
function eventSummary(o: KubeObject, now: number): { first: string; last: string; count: number } {
  const first = o['firstTimestamp'] ? age(o['firstTimestamp'], now) : age(o['eventTime'], now);
  const series = o['series'] ? record(o['series']) : undefined;
  if (series) return { first, last: age(series['lastObservedTime'], now), count: Number(series['count'] ?? 0) };
  const last = o['lastTimestamp'] ? age(o['lastTimestamp'], now) : first;
  return { first, last, count: Number(o['count'] ?? 0) || 1 };
}

/** formatEventSource: component and host, else the reporting controller and instance. */
function eventSource(o: KubeObject): string {
  const source = record(o['source']);
  const component = text(source['component']) || text(o['reportingComponent']);
  const instance = text(source['host']) || text(o['reportingInstance']);
  return instance ? `${component}, ${instance}` : component;
}

function eventObject(o: KubeObject): string {
  const involved = record(o['involvedObject']);
  const kind = text(involved['kind']).toLowerCase();
  return involved['name'] ? `${kind}/${text(involved['name'])}` : kind;
}

interface Printer {
  columns: Column[];
  /** The form the printer reads: the server prints from its internal form, whichever version was asked for. */
  view?: (obj: KubeObject) => KubeObject;
}

/** Printers by kind. */
const PRINTERS: Readonly<Record<string, Printer>> = {
  ConfigMap: {
    columns: [
      nameColumn(),
      {
        name: 'Data',
        description: fieldDescription('io.k8s.api.core.v1.ConfigMap', 'data'),
        cell: (o) => Object.keys(record(o['data'])).length + Object.keys(record(o['binaryData'])).length,
      },
      ageColumn,
    ],
  },
  Namespace: {
    columns: [nameColumn(), { name: 'Status', description: 'The status of the namespace', cell: (o) => text(record(o['status'])['phase']) }, ageColumn],
  },
  Lease: {
    columns: [
      nameColumn(),
      {
        name: 'Holder',
        description: fieldDescription('io.k8s.api.coordination.v1.LeaseSpec', 'holderIdentity'),
        cell: (o) => text(record(o['spec'])['holderIdentity']),
      },
      ageColumn,
    ],
  },
  Event: {
    columns: [
      { name: 'Last Seen', description: fieldDescription(CORE_EVENT, 'lastTimestamp'), cell: (o, now) => eventSummary(o, now).last },
      { name: 'Type', description: fieldDescription(CORE_EVENT, 'type'), cell: (o) => text(o['type']) },
      { name: 'Reason', description: fieldDescription(CORE_EVENT, 'reason'), cell: (o) => text(o['reason']) },
      { name: 'Object', description: fieldDescription(CORE_EVENT, 'involvedObject'), cell: eventObject },
      {
        name: 'Subobject',
        priority: 1,
        description: fieldDescription('io.k8s.api.core.v1.ObjectReference', 'fieldPath'),
        cell: (o) => text(record(o['involvedObject'])['fieldPath']),
      },
      { name: 'Source', priority: 1, description: fieldDescription(CORE_EVENT, 'source'), cell: eventSource },
      { name: 'Message', description: fieldDescription(CORE_EVENT, 'message'), cell: (o) => text(o['message']).trim() },
      { name: 'First Seen', priority: 1, description: fieldDescription(CORE_EVENT, 'firstTimestamp'), cell: (o, now) => eventSummary(o, now).first },
      { name: 'Count', priority: 1, description: fieldDescription(CORE_EVENT, 'count'), cell: (o, now) => eventSummary(o, now).count },
      nameColumn(1),
    ],
    view: (o) => (o.apiVersion === 'events.k8s.io/v1' ? coreFromEventsV1(o) : o),
  },
};

export type IncludeObject = 'None' | 'Object' | 'Metadata';

/**
 * A meta.k8s.io/v1 Table as JSON in pieces (the head, then a row at a time); row objects reuse the
 * stored serializations. Every column is declared a string, numbers included, as the real printers
 * declare them. An unknown kind throws at once, before any piece is produced.
 */
export function tablePieces(kind: string, items: readonly StoredObject[], listMeta: Record<string, unknown>, include: IncludeObject, now: number): Iterable<string> {
  const printer = PRINTERS[kind];
  if (!printer) throw new Error(`no Table printer for ${kind}`);
  const { columns, view } = printer;
  const definitions = columns.map((c) => ({ name: c.name, type: 'string', format: c.format ?? '', description: c.description, priority: c.priority ?? 0 }));
  const head = JSON.stringify({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, columnDefinitions: definitions }).slice(0, -1);
  function* pieces(): Generator<string> {
    yield `${head},"rows":[`;
    for (const [i, s] of items.entries()) {
      const printed = view ? view(s.obj) : s.obj;
      const cells = JSON.stringify(columns.map((c) => c.cell(printed, now)));
      yield `${i > 0 ? ',' : ''}{"cells":${cells},"object":`;
      yield include === 'None' ? 'null' : include === 'Object' ? s.json() : s.metadataJson();
      yield '}';
    }
    yield ']}';
  }
  return pieces();
}
