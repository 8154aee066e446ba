// Task states watched live, as client-go's reflector does it: list, then watch from the list's
// resourceVersion with bookmarks; after a dropped connection or the server's timeout, watch again
// from the last resourceVersion seen; on 410 Gone (that version was compacted away), list again
// and diff against what is known, so that nothing is missed and nothing is told twice.
//
// Nothing is read ahead of the consumer: the next event is read from the connection only when the
// consumer asks for it, so a slow consumer holds the stream (the server closes a watcher that falls
// too far behind, and the watch resumes) and the process never buffers events.

import type { KubeClient } from '../kube/client.js';
import { GoneError, KubeError } from '../kube/errors.js';
import type { ConfigMap } from '../kube/types.js';
import { realTimer, type Timer } from '../util/timer.js';
import { diffState, readState, type FieldChange, type ReadState, type StateMemo } from './changes.js';
import type { Finding } from './findings.js';
import { stateConfigMapName, TASK_SELECTOR, taskIdFromName } from './labels.js';
import type { TaskState } from './schema.js';

export type WatchClient = Pick<KubeClient, 'listConfigMapPages' | 'watchConfigMaps'>;

export interface WatchStatesOptions {
  /** The namespace to watch; undefined watches every namespace. */
  namespace?: string;
  /** A label selector narrowing the task states (added to cmstate.io/state=task). */
  selector?: string;
  /** Only this task. */
  taskId?: string;
  /** Ends the watch: the iterator finishes. */
  signal?: AbortSignal;
  /** Report the states that exist when the watch starts as `added` (default true, like kubectl get -w). */
  includeExisting?: boolean;
  /** How long one watch request lasts before it is renewed (default 300 s). */
  timeoutSeconds?: number;
  /** Waits after failed watch requests, doubling from the first to the last (default 500 ms to 30 s). */
  backoffMs?: { initial: number; max: number };
  /** Told about every failure the watch recovers from. */
  onRecover?: (what: 'reconnect' | 'relist', cause: unknown) => void;
  /**
   * Told after each complete list (the first one, and each after a 410): what exists has been told
   * (or skipped, without includeExisting), and every later write arrives as a change.
   */
  onListed?: (listed: { resourceVersion: string; states: number }) => void;
  timer?: Timer;
}

export interface StateChange {
  type: 'added' | 'modified' | 'deleted';
  namespace: string;
  taskId: string;
  /** The ConfigMap's resourceVersion of this change. */
  resourceVersion: string;
  /** The state, strictly decoded; absent when malformed, or deleted while the watch was not connected. */
  state?: TaskState;
  /** A malformed state: what did decode. */
  decoded?: Partial<TaskState>;
  /** The fields that changed, with old and new values (every field of an added state). */
  changes: FieldChange[];
  /** Why the state is malformed (or warnings such as a legacy version). */
  findings: Finding[];
}

const DEFAULT_TIMEOUT_SECONDS = 300;
const DEFAULT_BACKOFF = { initial: 500, max: 30_000 };

/** The changes of the task states the options select, until `signal` aborts. */
export async function* watchStates(client: WatchClient, options: WatchStatesOptions = {}): AsyncGenerator<StateChange> {
  const known = new Map<string, StateMemo>();
  const labelSelector = options.selector ? `${TASK_SELECTOR},${options.selector}` : TASK_SELECTOR;
  const fieldSelector = options.taskId !== undefined ? `metadata.name=${stateConfigMapName(options.taskId)}` : undefined;
  const scope = { namespace: options.namespace, labelSelector, fieldSelector };
  const timer = options.timer ?? realTimer;
  const backoff = options.backoffMs ?? DEFAULT_BACKOFF;
  const signal = options.signal;

  /** Lists and diffs against `known`; returns the list's resourceVersion. Lists again while its continue token expires. */
  async function* relist(initial: boolean): AsyncGenerator<StateChange, string> {
    for (;;) {
      let snapshot: string | undefined;
      const seen = new Set<string>();
      try {
        for await (const page of client.listConfigMapPages({ ...scope, signal, onSnapshot: (rv) => (snapshot = rv) })) {
          for (const cm of page) {
            seen.add(keyOf(cm));
            const change = apply('ADDED', cm);
            if (change && (!initial || options.includeExisting !== false)) yield change;
          }
        }
      } catch (err) {
        // The list's continue token expired: its snapshot is gone, list from the start (after a
        // pause: a list slower than the server's history would otherwise be asked in a loop).
        if (!(err instanceof GoneError) || signal?.aborted) throw err;
        options.onRecover?.('relist', err);
        await pause();
        continue;
      }
      for (const [key, memo] of known) {
        if (seen.has(key)) continue;
        known.delete(key);
        yield deletedWhileAway(key, memo);
      }
      options.onListed?.({ resourceVersion: snapshot ?? '', states: seen.size });
      return snapshot ?? '';
    }
  }

  /** The change an event makes to what is known; undefined when it is already known (a repeat). */
  function apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', cm: ConfigMap): StateChange | undefined {
    const key = keyOf(cm);
    const before = known.get(key);
    if (type === 'DELETED') {
      if (!before) return undefined;
      known.delete(key);
      return change('deleted', cm, readState(cm), []);
    }
    if (before?.resourceVersion === cm.metadata.resourceVersion) return undefined;
    const read = readState(cm);
    known.set(key, read.memo);
    return change(before ? 'modified' : 'added', cm, read, diffState(before, read));
  }

  /** Failures in a row without an event between them: each pause doubles. */
  let failures = 0;
  async function pause(): Promise<void> {
    await timer.sleep(Math.min(backoff.max, backoff.initial * 2 ** failures), signal);
    failures++;
  }

  /** Where to watch from; undefined: list (again) first. */
  let resourceVersion: string | undefined;
  let initial = true;
  while (!signal?.aborted) {
    let events = 0;
    try {
      if (resourceVersion === undefined) {
        resourceVersion = yield* relist(initial);
        initial = false;
        continue;
      }
      const started = timer.now();
      for await (const event of client.watchConfigMaps({ ...scope, resourceVersion, timeoutSeconds: options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS, signal })) {
        failures = 0;
        events++;
        if (event.type === 'BOOKMARK') {
          if (event.resourceVersion) resourceVersion = event.resourceVersion;
          continue;
        }
        const found = apply(event.type, event.object);
        resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
        if (found) yield found;
      }
      // The server ended the stream (its timeout): watch again from where it got, at once unless
      // it ended at once with nothing (a server closing every watch must not be asked in a loop).
      if (events === 0 && timer.now() - started < 1000) await pause();
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof GoneError) {
        options.onRecover?.('relist', err);
        resourceVersion = undefined;
        // Gone before a single event: the last list was already too old when the watch began (a
        // list slower than the server's history). Listing again at once would only repeat it.
        if (events === 0) await pause();
        continue;
      }
      // What cannot pass by itself (403, a bad selector, a bug) is the caller's to see.
      if (!(err instanceof KubeError) || !err.transient) throw err;
      options.onRecover?.('reconnect', err);
      await pause();
    }
  }
}

function keyOf(cm: ConfigMap): string {
  return `${cm.metadata.namespace ?? ''}/${cm.metadata.name}`;
}

function change(type: StateChange['type'], cm: ConfigMap, read: ReadState, changes: FieldChange[]): StateChange {
  return {
    type,
    namespace: cm.metadata.namespace ?? '',
    taskId: read.taskId,
    resourceVersion: cm.metadata.resourceVersion ?? '',
    ...(read.state ? { state: read.state } : {}),
    ...(read.decoded ? { decoded: read.decoded } : {}),
    changes,
    findings: read.findings,
  };
}

/** A state that was gone when the watch listed again: deleted while it was not connected. */
function deletedWhileAway(key: string, memo: StateMemo): StateChange {
  const [namespace = '', name = ''] = key.split('/');
  return { type: 'deleted', namespace, taskId: memo.fields.task_id ?? taskIdFromName(name) ?? name, resourceVersion: memo.resourceVersion, changes: [], findings: [] };
}
