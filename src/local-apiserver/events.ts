// Events, served as the real server serves them: stored once as core/v1 Events and readable and
// writable through events.k8s.io/v1 too, converted as pkg/apis/events/v1/conversion.go converts
// (regarding is involvedObject, note is message, reportingController is reportingComponent, the
// deprecated* fields are the core ones), and validated as pkg/apis/core/validation/events.go
// validates: loosely for core/v1 (legacy clients), strictly for new events.k8s.io/v1 Events, in
// both cases with the core field names in the messages.

import { dnsSubdomainErrors, labelKeyErrors } from '../kube/names.js';
import { INT32, MICRO_TIME, STRING, TIME, decodeStruct, encodeStruct, type GoRecord, type GoStruct } from './go-struct.js';
import { goTimeString } from './go-time.js';
import type { KubeObject, ResourceDef } from './resource-def.js';
import type { StatusCause } from './status.js';

export const OBJECT_REFERENCE: GoStruct = {
  kind: 'struct',
  name: 'ObjectReference',
  goType: 'v1.ObjectReference',
  fields: [
    { json: 'kind', type: STRING, omitEmpty: true },
    { json: 'namespace', type: STRING, omitEmpty: true },
    { json: 'name', type: STRING, omitEmpty: true },
    { json: 'uid', type: { kind: 'string', goType: 'types.UID' }, omitEmpty: true },
    { json: 'apiVersion', type: STRING, omitEmpty: true },
    { json: 'resourceVersion', type: STRING, omitEmpty: true },
    { json: 'fieldPath', type: STRING, omitEmpty: true },
  ],
};

const EVENT_SOURCE: GoStruct = {
  kind: 'struct',
  name: 'EventSource',
  goType: 'v1.EventSource',
  fields: [
    { json: 'component', type: STRING, omitEmpty: true },
    { json: 'host', type: STRING, omitEmpty: true },
  ],
};

/** core/v1 Event: the stored form. */
export const CORE_EVENT: GoStruct = {
  kind: 'struct',
  name: 'Event',
  goType: 'v1.Event',
  fields: [
    { json: 'involvedObject', type: OBJECT_REFERENCE },
    { json: 'reason', type: STRING, omitEmpty: true },
    { json: 'message', type: STRING, omitEmpty: true },
    { json: 'source', type: EVENT_SOURCE, omitEmpty: true },
    { json: 'firstTimestamp', type: TIME, omitEmpty: true },
    { json: 'lastTimestamp', type: TIME, omitEmpty: true },
    { json: 'count', type: INT32, omitEmpty: true },
    { json: 'type', type: STRING, omitEmpty: true },
    { json: 'eventTime', type: MICRO_TIME, omitEmpty: true },
    {
      json: 'series',
      type: {
        kind: 'struct',
        name: 'EventSeries',
        goType: 'v1.EventSeries',
        fields: [
          { json: 'count', type: INT32, omitEmpty: true },
          { json: 'lastObservedTime', type: MICRO_TIME, omitEmpty: true },
        ],
      },
      pointer: true,
      omitEmpty: true,
    },
    { json: 'action', type: STRING, omitEmpty: true },
    { json: 'related', type: OBJECT_REFERENCE, pointer: true, omitEmpty: true },
    { json: 'reportingComponent', type: STRING },
    { json: 'reportingInstance', type: STRING },
  ],
};

/** events.k8s.io/v1 Event. */
export const EVENTS_V1_EVENT: GoStruct = {
  kind: 'struct',
  name: 'Event',
  goType: 'v1.Event',
  fields: [
    { json: 'eventTime', type: MICRO_TIME },
    {
      json: 'series',
      type: {
        kind: 'struct',
        name: 'EventSeries',
        goType: 'v1.EventSeries',
        fields: [
          { json: 'count', type: INT32 },
          { json: 'lastObservedTime', type: MICRO_TIME },
        ],
      },
      pointer: true,
      omitEmpty: true,
    },
    { json: 'reportingController', type: STRING, omitEmpty: true },
    { json: 'reportingInstance', type: STRING, omitEmpty: true },
    { json: 'action', type: STRING, omitEmpty: true },
    { json: 'reason', type: STRING, omitEmpty: true },
    { json: 'regarding', type: OBJECT_REFERENCE, omitEmpty: true },
    { json: 'related', type: OBJECT_REFERENCE, pointer: true, omitEmpty: true },
    { json: 'note', type: STRING, omitEmpty: true },
    { json: 'type', type: STRING, omitEmpty: true },
    { json: 'deprecatedSource', type: EVENT_SOURCE, omitEmpty: true },
    { json: 'deprecatedFirstTimestamp', type: TIME, omitEmpty: true },
    { json: 'deprecatedLastTimestamp', type: TIME, omitEmpty: true },
    { json: 'deprecatedCount', type: INT32, omitEmpty: true },
  ],
};

/** The fields of a stored (core/v1) Event, every one present (zero when unset, undefined for nil pointers). */
function coreFields(obj: KubeObject): GoRecord {
  const { apiVersion: _apiVersion, kind: _kind, metadata: _metadata, ...fields } = obj;
  return decodeStruct(CORE_EVENT, fields).value;
}

/** An events.k8s.io/v1 Event as stored: a core/v1 Event. */
export function coreFromEventsV1(obj: KubeObject): KubeObject {
  const { apiVersion: _apiVersion, kind: _kind, metadata, ...fields } = obj;
  const { regarding, note, deprecatedSource, deprecatedFirstTimestamp, deprecatedLastTimestamp, deprecatedCount, reportingController, ...same } = decodeStruct(EVENTS_V1_EVENT, fields).value;
  const core: GoRecord = {
    ...same,
    involvedObject: regarding,
    message: note,
    source: deprecatedSource,
    firstTimestamp: deprecatedFirstTimestamp,
    lastTimestamp: deprecatedLastTimestamp,
    count: deprecatedCount,
    reportingComponent: reportingController,
  };
  return { apiVersion: 'v1', kind: 'Event', metadata, ...encodeStruct(CORE_EVENT, core) };
}

/** A stored (core/v1) Event as events.k8s.io/v1 shows it. */
export function eventsV1FromCore(obj: KubeObject): KubeObject {
  const { involvedObject, message, source, firstTimestamp, lastTimestamp, count, reportingComponent, ...same } = coreFields(obj);
  const v1: GoRecord = {
    ...same,
    regarding: involvedObject,
    note: message,
    deprecatedSource: source,
    deprecatedFirstTimestamp: firstTimestamp,
    deprecatedLastTimestamp: lastTimestamp,
    deprecatedCount: count,
    reportingController: reportingComponent,
  };
  return { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: obj.metadata, ...encodeStruct(EVENTS_V1_EVENT, v1) };
}

const REPORTING_INSTANCE_LENGTH_LIMIT = 128;
const ACTION_LENGTH_LIMIT = 128;
const REASON_LENGTH_LIMIT = 128;
const NOTE_LENGTH_LIMIT = 1024;

/** Go's path.IsValidPathSegmentName: the only rule the API server applies to a core/v1 Event's name. */
function pathSegmentNameErrors(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  return ['/', '%'].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`);
}

/** A cause with the value as Go's field.Error prints it (already rendered). */
function invalidCause(field: string, shown: string, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: ${detail}`, field };
}

function requiredCause(field: string): StatusCause {
  return { reason: 'FieldValueRequired', message: 'Required value', field };
}

const EMPTY = '""';

function bytes(s: unknown): number {
  return Buffer.byteLength(s as string);
}

/** legacyValidateEvent: what every Event must pass, whichever API it comes through. */
function legacyCauses(e: GoRecord, namespace: string, coreRequest: boolean): StatusCause[] {
  const causes: StatusCause[] = [];
  const involvedNamespace = (e['involvedObject'] as GoRecord)['namespace'] as string;
  const mismatch = () => causes.push(invalidCause('involvedObject.namespace', JSON.stringify(involvedNamespace), 'does not match event.namespace'));
  if (e['eventTime'] === null) {
    // An old-style Event: its namespace must be its object's (or empty/"default" for cluster-scoped objects).
    if (involvedNamespace === '' ? namespace !== '' && namespace !== 'default' : namespace !== involvedNamespace) mismatch();
  } else {
    if (involvedNamespace === '' && namespace !== 'default' && namespace !== 'kube-system') mismatch();
    const controllerField = coreRequest ? 'reportingComponent' : 'reportingController';
    const controller = e['reportingComponent'] as string;
    if (controller === '') causes.push(requiredCause(controllerField));
    for (const msg of labelKeyErrors(controller)) causes.push(invalidCause(controllerField, JSON.stringify(controller), msg));
    if (e['reportingInstance'] === '') causes.push(requiredCause('reportingInstance'));
    if (bytes(e['reportingInstance']) > REPORTING_INSTANCE_LENGTH_LIMIT) {
      causes.push(invalidCause('reportingInstance', EMPTY, `can have at most ${REPORTING_INSTANCE_LENGTH_LIMIT} characters`));
    }
    if (e['action'] === '') causes.push(requiredCause('action'));
    if (bytes(e['action']) > ACTION_LENGTH_LIMIT) causes.push(invalidCause('action', EMPTY, `can have at most ${ACTION_LENGTH_LIMIT} characters`));
    if (e['reason'] === '') causes.push(requiredCause('reason'));
    if (bytes(e['reason']) > REASON_LENGTH_LIMIT) causes.push(invalidCause('reason', EMPTY, `can have at most ${REASON_LENGTH_LIMIT} characters`));
    if (bytes(e['message']) > NOTE_LENGTH_LIMIT) causes.push(invalidCause('message', EMPTY, `can have at most ${NOTE_LENGTH_LIMIT} characters`));
  }
  for (const msg of dnsSubdomainErrors(namespace)) causes.push(invalidCause('namespace', JSON.stringify(namespace), msg));
  return causes;
}

function seriesCauses(e: GoRecord): StatusCause[] {
  const series = e['series'] as GoRecord | undefined;
  if (series === undefined) return [];
  const causes: StatusCause[] = [];
  if ((series['count'] as number) < 2) causes.push(invalidCause('series.count', EMPTY, 'should be at least 2'));
  if (series['lastObservedTime'] === null) causes.push(requiredCause('series.lastObservedTime'));
  return causes;
}

/** What a new events.k8s.io/v1 Event must also satisfy (after its metadata, which the caller checks). */
function strictCreateCauses(e: GoRecord): StatusCause[] {
  const causes = seriesCauses(e);
  if (e['eventTime'] === null) causes.push(requiredCause('eventTime'));
  if (e['type'] !== 'Normal' && e['type'] !== 'Warning') causes.push(invalidCause('type', EMPTY, `has invalid value: ${e['type'] as string}`));
  if (e['firstTimestamp'] !== null) causes.push(invalidCause('firstTimestamp', EMPTY, 'needs to be unset'));
  if (e['lastTimestamp'] !== null) causes.push(invalidCause('lastTimestamp', EMPTY, 'needs to be unset'));
  if (e['count'] !== 0) causes.push(invalidCause('count', EMPTY, 'needs to be unset'));
  const source = e['source'] as GoRecord;
  if (source['component'] !== '' || source['host'] !== '') causes.push(invalidCause('source', EMPTY, 'needs to be unset'));
  return causes;
}

/** A field's Go name from its JSON name, as the API types declare them (initialisms in capitals). */
function goFieldName(json: string): string {
  return json === 'uid' ? 'UID' : json === 'apiVersion' ? 'APIVersion' : json.charAt(0).toUpperCase() + json.slice(1);
}

/** Go's %#v of the internal struct, as an immutable-field message prints an ObjectReference or EventSource. */
function goStructString(struct: GoStruct, value: GoRecord | undefined): string {
  if (value === undefined) return 'null';
  return `core.${struct.name}{${struct.fields.map((f) => `${goFieldName(f.json)}:${JSON.stringify(value[f.json])}`).join(', ')}}`;
}

/** ValidateEventUpdate's immutable fields, in its order (reason is checked twice there, so twice here). */
const IMMUTABLE: readonly [field: string, core: string, show: (v: unknown) => string][] = [
  ['involvedObject', 'involvedObject', (v) => goStructString(OBJECT_REFERENCE, v as GoRecord)],
  ['reason', 'reason', (v) => JSON.stringify(v)],
  ['message', 'message', (v) => JSON.stringify(v)],
  ['source', 'source', (v) => goStructString(EVENT_SOURCE, v as GoRecord)],
  ['firstTimestamp', 'firstTimestamp', (v) => goTimeString(v as string | null)],
  ['lastTimestamp', 'lastTimestamp', (v) => goTimeString(v as string | null)],
  ['count', 'count', (v) => String(v)],
  ['reason', 'reason', (v) => JSON.stringify(v)],
  ['type', 'type', (v) => JSON.stringify(v)],
  ['eventTime', 'eventTime', (v) => goTimeString(v as string | null)],
  ['action', 'action', (v) => JSON.stringify(v)],
  ['related', 'related', (v) => goStructString(OBJECT_REFERENCE, v as GoRecord | undefined)],
  ['reportingController', 'reportingComponent', (v) => JSON.stringify(v)],
  ['reportingInstance', 'reportingInstance', (v) => JSON.stringify(v)],
];

function strictUpdateCauses(e: GoRecord, old: GoRecord): StatusCause[] {
  const causes = JSON.stringify(e['series']) === JSON.stringify(old['series']) ? [] : seriesCauses(e);
  for (const [field, core, show] of IMMUTABLE) {
    if (JSON.stringify(e[core]) !== JSON.stringify(old[core])) causes.push(invalidCause(field, show(e[core]), 'field is immutable'));
  }
  return causes;
}

/**
 * Causes for an Event written through `def` (core/v1 or events.k8s.io/v1), in the real server's
 * order. `metadataCauses` checks the object's metadata with a given name rule: on create, a
 * core/v1 Event's metadata is checked only once the event itself passes, and its name only as a
 * path segment; an events.k8s.io/v1 Event's metadata is part of its strict validation. On update,
 * metadata comes first.
 */
export function validateEvent(def: ResourceDef, obj: KubeObject, old: KubeObject | undefined, metadataCauses: (nameErrors: (name: string) => string[]) => StatusCause[]): StatusCause[] {
  const coreRequest = def.group === '';
  const asStored = (o: KubeObject) => coreFields(def.view ? def.view.toStorage(o) : o);
  const e = asStored(obj);
  const namespace = obj.metadata.namespace ?? '';
  if (old !== undefined) {
    const causes = [...metadataCauses(pathSegmentNameErrors), ...legacyCauses(e, namespace, coreRequest)];
    return coreRequest ? causes : [...causes, ...strictUpdateCauses(e, asStored(old))];
  }
  const causes = legacyCauses(e, namespace, coreRequest);
  if (coreRequest) return causes.length > 0 ? causes : metadataCauses(pathSegmentNameErrors);
  return [...causes, ...metadataCauses(dnsSubdomainErrors), ...strictCreateCauses(e)];
}
