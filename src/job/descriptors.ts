// Every batch job of cmstate in one table: what it is called (its Lease, Pushgateway group and
// summary), the actions it counts, the API access it needs, whether it takes the run lock, splits
// into shards or mounts the snapshot volume, and how the chart deploys it. The commands run with
// it; doctor's RBAC checks, the metrics job's push groups, the demo and the chart's tests read it.

/** Verbs per resource (`configmaps`, `leases.coordination.k8s.io`). */
export type Access = Readonly<Record<string, readonly string[]>>;

export interface JobDescriptor {
  /** runJob's name: the Lease (`cmstate-<name>`), the Pushgateway group, the summary's `job`. */
  readonly name: string;
  /** The actions it counts, reported even when zero. */
  readonly actions: readonly string[];
  /** The access it needs besides what every job needs (EVERY_JOB_ACCESS). */
  readonly access: Access;
  /** Takes the per-namespace Lease, so two runs never overlap. */
  readonly lock: boolean;
  /** Splits its objects by --shard-index/--shard-count. */
  readonly shardable: boolean;
  /** How the chart runs it: a CronJob, a one-shot Job, or only by hand (with another job's access). */
  readonly deployed: 'cronjob' | 'job' | 'by hand';
  /** Reads or writes the snapshot directory, so its pod mounts the snapshot volume. */
  readonly snapshots: boolean;
}

export const JOBS = {
  sweep: { name: 'sweep', actions: ['mark', 'unmark', 'delete'], access: { configmaps: ['get', 'list', 'patch', 'delete'] }, lock: true, shardable: true, deployed: 'cronjob', snapshots: false },
  sweepUnmark: { name: 'sweep-unmark', actions: ['unmark'], access: { configmaps: ['list', 'patch'] }, lock: false, shardable: false, deployed: 'by hand', snapshots: false },
  repair: {
    name: 'repair',
    actions: ['repair', 'quarantine', 'delete_orphan'],
    access: { configmaps: ['get', 'list', 'create', 'update', 'patch', 'delete'] },
    lock: true,
    shardable: true,
    deployed: 'cronjob',
    snapshots: true,
  },
  snapshot: { name: 'snapshot', actions: ['snapshot', 'delete_snapshot'], access: { configmaps: ['list'] }, lock: true, shardable: false, deployed: 'cronjob', snapshots: true },
  metrics: { name: 'metrics', actions: [], access: { configmaps: ['list'] }, lock: false, shardable: false, deployed: 'cronjob', snapshots: false },
  restore: { name: 'restore', actions: ['create', 'overwrite'], access: { configmaps: ['get', 'list', 'create', 'update'] }, lock: true, shardable: false, deployed: 'job', snapshots: true },
} as const satisfies Record<string, JobDescriptor>;

/** What every job needs: its Lease, and its Events. */
export const EVERY_JOB_ACCESS = { 'leases.coordination.k8s.io': ['get', 'create', 'update', 'delete'], events: ['create'] } as const satisfies Access;

/** What `metrics --with-feedback` needs besides the metrics job's own access: one read per state. */
export const METRICS_WITH_FEEDBACK_ACCESS = { configmaps: ['get'] } as const satisfies Access;

/** Every job, in table order. */
export const ALL_JOBS: readonly JobDescriptor[] = Object.values(JOBS);

/** The jobs the chart deploys (each with its own RBAC), in table order. */
export const DEPLOYED_JOBS: readonly JobDescriptor[] = ALL_JOBS.filter((job) => job.deployed !== 'by hand');
