// What a run deleted, reported as one Event per run instead of one per deleted object: an Event
// about an object that no longer exists doubles the requests of every delete, stays in etcd for
// its TTL, and no `kubectl describe` can show it. Objects that still exist after the run keep
// their own Events.
//
// The Event is about the run's own workload when the chart passed it through the downward API
// (the Job, or the Pod when it is not a Job's): `kubectl describe job` shows it, and with
// --all-namespaces it is one Event for the whole run. Outside a pod it is about the namespace the
// objects were deleted in, one per namespace touched. Pure: the runner sends what this builds.

import type { EventRecord, ObjectRef } from '../kube/types.js';

export type Involved = EventRecord['involved'];

/** The downward API env the chart sets (charts/cmstate/templates/_pod.tpl, cmstate.env). */
export const WORKLOAD_ENV = { podNamespace: 'POD_NAMESPACE', podName: 'POD_NAME', podUid: 'POD_UID', jobName: 'JOB_NAME', jobUid: 'JOB_UID' } as const;

/**
 * The workload this process runs as: the Job when the pod has a Job's labels, else the Pod;
 * undefined outside a pod. A label the pod lacks arrives as an empty variable.
 */
export function workloadFromEnv(env: Record<string, string | undefined>): Involved | undefined {
  const namespace = env[WORKLOAD_ENV.podNamespace];
  if (!namespace) return undefined;
  const [jobName, jobUid] = [env[WORKLOAD_ENV.jobName], env[WORKLOAD_ENV.jobUid]];
  if (jobName && jobUid) return { apiVersion: 'batch/v1', kind: 'Job', namespace, name: jobName, uid: jobUid };
  const podName = env[WORKLOAD_ENV.podName];
  if (podName) return { apiVersion: 'v1', kind: 'Pod', namespace, name: podName, uid: env[WORKLOAD_ENV.podUid] || undefined };
  return undefined;
}

export interface DeletionSummaryOptions {
  /** The Event's reason, e.g. StatesDeleted. */
  reason: string;
  /** What was deleted, plural: "task states". */
  what: string;
  /** What was deleted along with each object, plural ("archives"); counted, not named. */
  alongside?: string;
}

/** Names in an Event message; the rest are counted. */
export const SAMPLE_SIZE = 10;
/** Namespaces named with their counts in a workload's Event. */
const LISTED_NAMESPACES = 10;
/** Event messages are cut here (events.k8s.io/v1 limits a note to 1 KiB). */
const MESSAGE_MAX = 1000;

interface NamespaceDeletions {
  count: number;
  alongside: number;
  sample: string[];
}

/** Counts deletions as they happen; memory stays bounded by the sample size per namespace. */
export class DeletionSummary {
  private readonly byNamespace = new Map<string, NamespaceDeletions>();
  private readonly sample: ObjectRef[] = [];
  private count = 0;
  private alongside = 0;

  constructor(readonly options: DeletionSummaryOptions) {}

  get total(): number {
    return this.count;
  }

  /** One object deleted, with `alongside` objects deleted with it. */
  add(ref: ObjectRef, alongside = 0): void {
    this.count++;
    this.alongside += alongside;
    if (this.sample.length < SAMPLE_SIZE) this.sample.push({ namespace: ref.namespace, name: ref.name });
    let tally = this.byNamespace.get(ref.namespace);
    if (!tally) this.byNamespace.set(ref.namespace, (tally = { count: 0, alongside: 0, sample: [] }));
    tally.count++;
    tally.alongside += alongside;
    if (tally.sample.length < SAMPLE_SIZE) tally.sample.push(ref.name);
  }

  /** The Events to record: one about the workload, or one per namespace touched; none when nothing was deleted. */
  events(workload: Involved | undefined): EventRecord[] {
    if (this.count === 0) return [];
    const { reason } = this.options;
    if (workload) {
      const namespaces = [...this.byNamespace.keys()];
      const local = namespaces.length === 1 && namespaces[0] === workload.namespace;
      const names = this.sample.map((ref) => (local ? ref.name : `${ref.namespace}/${ref.name}`));
      const where = local ? '' : namespaces.length === 1 ? ` in ${namespaces[0]}` : ` in ${namespaces.length} namespaces (${namespaceCounts(this.byNamespace)})`;
      return [{ involved: workload, type: 'Normal', reason, action: 'Delete', message: this.message(this.count, this.alongside, where, names) }];
    }
    return [...this.byNamespace].map(([namespace, tally]) => ({
      involved: { apiVersion: 'v1', kind: 'Namespace', namespace, name: namespace },
      type: 'Normal' as const,
      reason,
      action: 'Delete',
      message: this.message(tally.count, tally.alongside, '', tally.sample),
    }));
  }

  private message(count: number, alongside: number, where: string, names: string[]): string {
    const { what } = this.options;
    const withAlongside = this.options.alongside && alongside > 0 ? ` and ${alongside} ${this.options.alongside}` : '';
    const more = count > names.length ? ` and ${count - names.length} more` : '';
    const text = `deleted ${count} ${what}${withAlongside}${where}: ${names.join(', ')}${more}`;
    return text.length > MESSAGE_MAX ? `${text.slice(0, MESSAGE_MAX - 1)}…` : text;
  }
}

function namespaceCounts(byNamespace: Map<string, NamespaceDeletions>): string {
  const listed = [...byNamespace].slice(0, LISTED_NAMESPACES).map(([namespace, tally]) => `${namespace}: ${tally.count}`);
  if (byNamespace.size > LISTED_NAMESPACES) listed.push(`${byNamespace.size - LISTED_NAMESPACES} more`);
  return listed.join(', ');
}
