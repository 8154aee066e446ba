// StateManager: atomic operations on one task's state ConfigMap. Every write is a
// read-modify-write under the resourceVersion precondition, repeated on conflict with a fresh
// read (client-go's RetryOnConflict), so concurrent controllers never lose an increment or an
// entry. Each operation logs one structured line.

import { DateTime } from 'luxon';
import { formatTimestamp } from '../durations.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../kube/errors.js';
import type { KubeClient } from '../kube/client.js';
import { ContentionMemory, retryOnConflictFairly, type DeferPolicy, type FairRetryPolicy } from '../kube/retry.js';
import type { ConfigMap, ObjectRef } from '../kube/types.js';
import type { Logger } from '../log.js';
import { decodeArchive, decodeStateLenient, decodeStateWithInfo, strictStateOf } from './decode.js';
import { encodeState } from './encode.js';
import { InvalidFeedbackError, InvalidTransitionError, MaxIterationsError, StateNotFoundError } from './errors.js';
import { FeedbackWindow } from './feedback-window.js';
import type { Finding } from './findings.js';
import { checkInvariants } from './invariants.js';
import { ARCHIVE_SELECTOR, DEFAULT_MAX_ITERATIONS, FORMAT_VERSION, LABEL_TASK_ID, parseArchiveName, stateConfigMapName } from './labels.js';
import { feedbackEntrySchema, taskIdSchema, type FeedbackEntry, type TaskState, type TaskStatus } from './schema.js';
import { assertTransition, TERMINAL_STATUSES } from './status.js';
import { watchStates, type StateChange, type WatchClient, type WatchStatesOptions } from './watch.js';

export type StateClient = Pick<KubeClient, 'getConfigMap' | 'createConfigMap' | 'replaceConfigMap' | 'deleteConfigMap' | 'listConfigMapMetadataPages'>;

export interface StateManagerOptions {
  /** A KubeClient; another client needs the WatchClient verbs only for watch(). */
  client: StateClient & Partial<WatchClient>;
  namespace: string;
  log?: Logger;
  /** The clock for last_update and history timestamps. */
  clock?: () => DateTime;
  managedBy?: string;
  budgetBytes?: number;
  compressionThreshold?: number;
  /** How to retry on conflicts; contention on one task can take many rounds. */
  conflictRetry?: FairRetryPolicy;
  /** How long a writer that met contention on a task lately holds back its next first attempt there. */
  conflictDefer?: DeferPolicy;
}

export interface CreateOptions {
  maxIterations?: number;
  metadata?: Record<string, string>;
}

export interface FeedbackPage {
  entries: FeedbackEntry[];
  /** Pass to the next call; absent on the last page. */
  nextCursor?: string;
  /** Distinct entries across the state and its archives. */
  total: number;
}

export interface RecoveredState {
  /** The state when it decodes strictly (a legacy one decodes as version 1, migrated on next write). */
  state?: TaskState;
  findings: Finding[];
  resourceVersion?: string;
}

/**
 * Writers on one task take turns (see FairRetryPolicy). A loser sleeps until 0.6 of a turn has
 * passed, then retries at once after each lost round; the winner defers its next operation by
 * 0.95-1 of a turn. Measured with the state bench's scenario (8 ms a write, 1,000 increments):
 *  - the random waits used before (100 ms shrinking to 4 ms; deferral random(0, 1) of the last
 *    contended operation): 5 writers p99 325-337 ms, 20 writers p99 682-776 ms, max 0.8-1.2 s;
 *  - 0.6 of a turn: 5 writers p99 190-199 ms, 20 writers 620-777 ms, max 0.9-1.04 s (three runs);
 *  - 0.7: 231-256 ms and 591-915 ms; 0.5 (deferring 0.8-1 of a turn): 179-189 ms and 839-1,035 ms;
 *  - retrying at once from the first lost round: 169-183 ms, but 20 writers 760-983 ms and 6.5
 *    rounds an increment where these take 3.4-4.1.
 * turnMs is smoothed (0.3 of the newest operation) so that the writers converge on one length of
 * a turn, instead of the lucky ones deferring least and staying lucky.
 */
export const STATE_CONFLICT_RETRY: FairRetryPolicy = {
  queueShare: 0.6,
  spreadMs: 3,
  maxElapsedMs: 120_000,
};

/** A writer that lost a round on a task within the last second defers its next operation on it by about a turn, at most 500 ms. */
export const STATE_CONFLICT_DEFER: DeferPolicy = {
  windowMs: 1000,
  maxDelayMs: 500,
  minShare: 0.95,
  smoothing: 0.3,
};

/** An archive as listed (metadata only). */
interface ArchiveRef {
  name: string;
  uid: string | undefined;
  /** The `n` of `task-{id}-state-archive-{n}`. */
  index: number;
}

/** What a mutation decides: the state to write (none: leave it), and an error to raise after writing. */
interface Mutation {
  next?: TaskState;
  raiseAfterWrite?: Error;
}

/** The state after a mutation, and whether it was written. */
interface Mutated {
  state: TaskState;
  wrote: boolean;
}

export class StateManager {
  private readonly clock: () => DateTime;
  private readonly conflictRetry: FairRetryPolicy;
  private readonly contention: ContentionMemory;
  /** Archives never change once written: their entry ids are cached by name and uid. */
  private readonly archiveIds = new Map<string, Set<string>>();

  constructor(private readonly options: StateManagerOptions) {
    this.clock = options.clock ?? (() => DateTime.utc());
    this.conflictRetry = options.conflictRetry ?? STATE_CONFLICT_RETRY;
    this.contention = new ContentionMemory(options.conflictDefer ?? STATE_CONFLICT_DEFER);
  }

  get namespace(): string {
    return this.options.namespace;
  }

  async get(taskId: string): Promise<TaskState> {
    return this.logged('get', taskId, async () => {
      const cm = await this.read(taskId);
      return { value: decodeStateWithInfo(cm).state };
    });
  }

  async getOrCreate(taskId: string, init: CreateOptions = {}): Promise<TaskState> {
    return this.logged('getOrCreate', taskId, async () => {
      try {
        return { value: decodeStateWithInfo(await this.read(taskId)).state };
      } catch (err) {
        if (!(err instanceof StateNotFoundError)) throw err;
      }
      const state = this.initialState(taskId, init);
      const encoded = this.encode(state, undefined, 0);
      try {
        await this.options.client.createConfigMap(encoded.configMap);
        return { value: encoded.state, attempts: 1 };
      } catch (err) {
        // Another controller created it first: theirs is the state.
        if (err instanceof AlreadyExistsError) return { value: decodeStateWithInfo(await this.read(taskId)).state };
        throw err;
      }
    });
  }

  /** Read-modify-write: `fn` gets a copy of the current state; what it returns is written. */
  async update(taskId: string, fn: (state: TaskState) => TaskState | void): Promise<TaskState> {
    const { state } = await this.mutate('update', taskId, (current) => ({ next: fn(structuredClone(current)) ?? current }));
    return state;
  }

  /**
   * Starts the next iteration. At the maximum it records max_iterations_reached and throws
   * MaxIterationsError, so the limit holds however many controllers race for it.
   */
  async incrementIteration(taskId: string, reason = 'next iteration'): Promise<TaskState> {
    const { state: written } = await this.mutate('incrementIteration', taskId, (state, now) => {
      if (state.iteration >= state.max_iterations) {
        const error = new MaxIterationsError(taskId, state.max_iterations);
        if (state.status === 'max_iterations_reached') throw error;
        return { next: withStatus(state, 'max_iterations_reached', `maximum of ${state.max_iterations} iterations reached`, now), raiseAfterWrite: error };
      }
      if (TERMINAL_STATUSES.has(state.status)) {
        throw new InvalidTransitionError(taskId, state.status, 'in_progress', `${state.status} is terminal`);
      }
      const iteration = state.iteration + 1;
      let next: TaskState = { ...state, iteration, iteration_history: [...state.iteration_history, { iteration, started_at: formatTimestamp(now) }] };
      if (state.status !== 'in_progress') next = withStatus(next, 'in_progress', `iteration ${iteration}: ${reason}`, now);
      return { next };
    });
    return written;
  }

  /** Moves the status, if the status machine allows it; setting the current status again is a no-op. */
  async setStatus(taskId: string, to: TaskStatus, reason: string): Promise<TaskState> {
    const { state: written } = await this.mutate('setStatus', taskId, (state, now) => {
      if (state.status === to && to !== 'in_progress') return {};
      assertTransition(state.status, to, state);
      return { next: withStatus(state, to, reason, now) };
    });
    return written;
  }

  /** Appends unless an entry with the same id exists (here or archived): retries are safe. */
  async appendFeedback(taskId: string, input: FeedbackEntry): Promise<{ state: TaskState; appended: boolean }> {
    const parsed = feedbackEntrySchema.safeParse(input);
    if (!parsed.success) {
      throw new InvalidFeedbackError(taskId, parsed.error.issues.map((i) => `${i.path.join('.') || 'entry'}: ${i.message}`).join('; '));
    }
    const entry = parsed.data;
    const { state, wrote } = await this.mutate('appendFeedback', taskId, async (current) => {
      if (current.feedback_history.some((e) => e.id === entry.id)) return {};
      if (current.feedback_archived > 0 && (await this.archivedIds(taskId)).has(entry.id)) return {};
      if (entry.iteration > current.iteration) {
        throw new InvalidFeedbackError(taskId, `entry ${entry.id} is for iteration ${entry.iteration}, but the task is at iteration ${current.iteration}`);
      }
      return { next: { ...current, feedback_history: [...current.feedback_history, entry] } };
    });
    return { state, appended: wrote };
  }

  /**
   * One page of the whole feedback history (archives included), oldest first. The archives are
   * read one at a time and only the page (and the entry ids, for the total) is kept of them: a
   * history of any length costs one archive's memory and its ids.
   */
  async feedbackHistory(taskId: string, page: { limit?: number; cursor?: string } = {}): Promise<FeedbackPage> {
    const limit = page.limit ?? 100;
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    return this.logged('feedbackHistory', taskId, async () => {
      const state = decodeStateWithInfo(await this.read(taskId)).state;
      // The state first: where an entry is also in an archive being written, the state's copy counts.
      const window = new FeedbackWindow(limit, after);
      window.add(state.feedback_history);
      for (const archive of await this.archiveRefs(taskId)) {
        const cm = await this.readArchive(archive.name);
        if (cm) window.add(decodeArchive(cm).entries);
      }
      const { entries, more, total } = window.result();
      const last = entries.at(-1);
      return { value: { entries, nextCursor: more && last ? encodeCursor(last) : undefined, total } };
    });
  }

  /** For a controller that restarts: the state, with what is wrong with it, never a throw on bad data. */
  async recoverState(taskId: string): Promise<RecoveredState> {
    return this.logged('recoverState', taskId, async () => {
      const cm = await this.read(taskId);
      const findings = checkInvariants(cm, this.clock(), { budgetBytes: this.options.budgetBytes });
      const lenient = decodeStateLenient(cm);
      const state = strictStateOf(lenient);
      const extra = lenient.findings.filter((f) => !findings.some((g) => g.rule === f.rule && g.message === f.message));
      return { value: { state, findings: [...findings, ...extra], resourceVersion: cm.metadata.resourceVersion } };
    });
  }

  /**
   * The changes of this namespace's task states (or every namespace's, with allNamespaces) as they
   * happen, until `signal` aborts: see src/state/watch.ts for how nothing is missed or told twice
   * across dropped connections and expired resourceVersions. Malformed states come as changes with
   * findings, never as a throw; failures the watch cannot recover from (403, a bad selector) throw.
   */
  watch(options: Omit<WatchStatesOptions, 'namespace'> & { allNamespaces?: boolean } = {}): AsyncGenerator<StateChange> {
    const { allNamespaces, ...rest } = options;
    if (rest.taskId !== undefined) checkTaskId(rest.taskId);
    const { client } = this.options;
    if (!client.listConfigMapPages || !client.watchConfigMaps) throw new TypeError('watch() needs a client with listConfigMapPages and watchConfigMaps (a KubeClient has them)');
    return watchStates(client as WatchClient, { ...rest, namespace: allNamespaces ? undefined : this.namespace });
  }

  /** Deletes the state (under its resourceVersion) and then its archives. */
  async delete(taskId: string): Promise<{ deleted: number }> {
    return this.logged('delete', taskId, async () => {
      // The archives are listed before the state goes: they are owned by it, so a cluster's garbage
      // collector starts deleting them as soon as it is gone, and a list taken after would miss
      // those it reached first. Each listed archive counts once it is gone, whoever deleted it.
      const archives = await this.archiveRefs(taskId);
      const outcome = await retryOnConflictFairly(
        async () => {
          let cm: ConfigMap;
          try {
            cm = await this.read(taskId);
          } catch (err) {
            if (err instanceof StateNotFoundError) return 'not-found' as const;
            throw err;
          }
          return this.options.client.deleteConfigMap(this.ref(taskId), { uid: cm.metadata.uid, resourceVersion: cm.metadata.resourceVersion });
        },
        { policy: this.conflictRetry, contention: { memory: this.contention, key: taskId } },
      );
      for (const archive of archives) {
        await this.options.client.deleteConfigMap({ namespace: this.namespace, name: archive.name }, { uid: archive.uid });
      }
      if (outcome === 'not-found' && archives.length === 0) throw new StateNotFoundError(taskId, this.namespace);
      return { value: { deleted: (outcome === 'deleted' ? 1 : 0) + archives.length } };
    });
  }

  // ---- internals ----------------------------------------------------------------------------

  private ref(taskId: string): ObjectRef {
    return { namespace: this.namespace, name: stateConfigMapName(taskId) };
  }

  private async read(taskId: string): Promise<ConfigMap> {
    checkTaskId(taskId);
    try {
      return await this.options.client.getConfigMap(this.ref(taskId));
    } catch (err) {
      if (err instanceof NotFoundError) throw new StateNotFoundError(taskId, this.namespace);
      throw err;
    }
  }

  private initialState(taskId: string, init: CreateOptions): TaskState {
    return {
      version: FORMAT_VERSION,
      task_id: taskId,
      iteration: 0,
      max_iterations: init.maxIterations ?? DEFAULT_MAX_ITERATIONS,
      status: 'pending',
      last_update: formatTimestamp(this.clock()),
      iteration_history: [],
      status_history: [],
      error_messages: [],
      metadata: init.metadata ?? {},
      feedback_history: [],
      feedback_archived: 0,
    };
  }

  private encode(state: TaskState, base: ConfigMap | undefined, existingArchiveCount: number) {
    return encodeState(state, {
      namespace: this.namespace,
      managedBy: this.options.managedBy,
      budgetBytes: this.options.budgetBytes,
      compressionThreshold: this.options.compressionThreshold,
      base,
      existingArchiveCount,
    });
  }

  /**
   * The one write path: read, decide, encode (archiving when over budget), create new archives,
   * replace under the read's resourceVersion; on conflict, remove what this attempt created and
   * start again from a fresh read.
   */
  private mutate(op: string, taskId: string, decide: (state: TaskState, now: DateTime) => Mutation | Promise<Mutation>): Promise<Mutated> {
    return this.logged(op, taskId, async () => {
      let attempts = 0;
      let raise: Error | undefined;
      const value = await retryOnConflictFairly(
        async () => {
          attempts++;
          const cm = await this.read(taskId);
          const { state } = decodeStateWithInfo(cm);
          const now = this.clock();
          const mutation = await decide(structuredClone(state), now);
          raise = mutation.raiseAfterWrite;
          if (!mutation.next) return { state, wrote: false };
          const next: TaskState = { ...mutation.next, version: 1, last_update: formatTimestamp(now) };
          let encoded = this.encode(next, cm, 0);
          if (encoded.archives.length > 0) encoded = this.encode(next, cm, await this.highestArchiveIndex(taskId));
          const created: ObjectRef[] = [];
          try {
            for (const archive of encoded.archives) {
              await this.options.client.createConfigMap(archive);
              created.push({ namespace: this.namespace, name: archive.metadata.name });
            }
            await this.options.client.replaceConfigMap(encoded.configMap);
          } catch (err) {
            // A racing writer won: the entries of our archives are still in the state it wrote.
            for (const ref of created) await this.options.client.deleteConfigMap(ref).catch(() => undefined);
            if (err instanceof AlreadyExistsError) throw new ConflictError(`archive ${err.context.name} was created by another writer`, 409, err.context);
            throw err;
          }
          return { state: encoded.state, wrote: true };
        },
        { policy: this.conflictRetry, contention: { memory: this.contention, key: taskId } },
      );
      if (raise) throw raise;
      return { value, attempts };
    });
  }

  private async highestArchiveIndex(taskId: string): Promise<number> {
    return (await this.archiveRefs(taskId)).at(-1)?.index ?? 0;
  }

  /** The task's archives by metadata only, oldest (lowest index) first. */
  private async archiveRefs(taskId: string): Promise<ArchiveRef[]> {
    const archives: ArchiveRef[] = [];
    for await (const page of this.options.client.listConfigMapMetadataPages({ namespace: this.namespace, labelSelector: `${ARCHIVE_SELECTOR},${LABEL_TASK_ID}=${taskId}` })) {
      for (const { metadata } of page) archives.push({ name: metadata.name, uid: metadata.uid, index: parseArchiveName(metadata.name)?.index ?? 0 });
    }
    return archives.sort((a, b) => a.index - b.index);
  }

  /** An archive in full; undefined when it is gone (created by a racing writer whose write then lost, which removed it again). */
  private async readArchive(name: string): Promise<ConfigMap | undefined> {
    try {
      return await this.options.client.getConfigMap({ namespace: this.namespace, name });
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  private async archivedIds(taskId: string): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const archive of await this.archiveRefs(taskId)) {
      const key = `${archive.name}/${archive.uid}`;
      let cached = this.archiveIds.get(key);
      if (!cached) {
        const cm = await this.readArchive(archive.name);
        if (!cm) continue;
        cached = new Set(decodeArchive(cm).entries.map((e) => e.id));
        this.archiveIds.set(key, cached);
      }
      for (const id of cached) ids.add(id);
    }
    return ids;
  }

  private async logged<T>(op: string, taskId: string, fn: () => Promise<{ value: T; attempts?: number }>): Promise<T> {
    const started = performance.now();
    try {
      const { value, attempts } = await fn();
      const state = ((value as Partial<Mutated>)?.state ?? value) as Partial<TaskState> | undefined;
      this.options.log?.info(
        { op, taskId, namespace: this.namespace, iteration: state?.iteration, status: state?.status, attempts, durationMs: Math.round(performance.now() - started) },
        `${op} ${taskId}`,
      );
      return value;
    } catch (err) {
      this.options.log?.info({ op, taskId, namespace: this.namespace, error: (err as Error).name, durationMs: Math.round(performance.now() - started) }, `${op} ${taskId}: ${(err as Error).message}`);
      throw err;
    }
  }
}

function withStatus(state: TaskState, to: TaskStatus, reason: string, now: DateTime): TaskState {
  return { ...state, status: to, status_history: [...state.status_history, { from: state.status, to, at: formatTimestamp(now), reason }] };
}

/** Cursors name the last entry returned, so pages stay stable while entries move to archives. */
function encodeCursor(entry: FeedbackEntry): string {
  return Buffer.from(JSON.stringify([entry.timestamp, entry.id])).toString('base64url');
}

function decodeCursor(cursor: string): Pick<FeedbackEntry, 'timestamp' | 'id'> {
  try {
    const [timestamp, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof timestamp === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(timestamp))) return { timestamp, id };
  } catch {
    // fall through to the error below
  }
  throw new InvalidFeedbackError('-', `cursor "${cursor.slice(0, 40)}" is not one this command returned`, 'cursor');
}

function checkTaskId(taskId: string): void {
  if (!taskIdSchema.safeParse(taskId).success) throw new InvalidFeedbackError(taskId, `"${taskId}" is not a task id: 1-63 chars of a-z, 0-9 and -, starting and ending alphanumeric`, 'task id');
}
