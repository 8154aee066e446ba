// cmstate as the image runs it, for benchmarks that measure its memory: the compiled CLI (not
// tsx, which adds its compiler and source maps to every figure), inside a memory cgroup with the
// chart's limit for the job. Node sizes its heap from the cgroup limit, so what V8 lets pile up
// before it collects is what it would let pile up in the pod; without a limit it sizes the heap
// from the whole machine and the peak RSS says more about the machine than about cmstate.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseByteQuantity } from '../../src/util/quantity.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Inside node_modules, so the build resolves the project's packages like dist/ does. */
const BUILD_DIR = path.join(root, 'node_modules/.cache/cmstate-bench');

let built: string | undefined;

/**
 * Compiles src/ and jobs/ (tsconfig.build.json, as `npm run build` and the image do) into a
 * directory of the bench's own, so a build of dist/ during a long bench changes nothing it runs.
 * Returns the entrypoint to run with node.
 */
export function builtCli(): string {
  if (built) return built;
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', BUILD_DIR], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building the CLI failed: ${(result.stdout + result.stderr).trim().split('\n').slice(0, 5).join('\n')}`);
  built = path.join(BUILD_DIR, 'cli/main.js');
  return built;
}

/** A Kubernetes memory quantity (`256Mi`, `1G`, `536870912`) in bytes. */
export function quantityBytes(quantity: string): number {
  const bytes = parseByteQuantity(quantity);
  if (bytes === undefined) throw new Error(`"${quantity}" is not a memory quantity like 256Mi`);
  return bytes;
}

export interface MemoryLimit {
  /** As the chart writes it: `256Mi`. */
  quantity: string;
  bytes: number;
}

/** Where the chart mounts the snapshot volume; its jobs' args name this directory. */
const SNAPSHOT_MOUNT = '/var/lib/cmstate/snapshots';

interface ChartContainer {
  args?: string[];
  extraArgs?: string[];
  mode?: string;
  resources?: { limits?: { memory?: string } };
}

/**
 * A job's values in charts/cmstate/values.yaml, with where they are: `jobs.<job>` for the
 * CronJobs, the top-level `restore` for the one-shot restore Job.
 */
async function chartValues(job: string): Promise<{ at: string; values: ChartContainer }> {
  const values = parse(await readFile(path.join(root, 'charts/cmstate/values.yaml'), 'utf8')) as { jobs?: Record<string, ChartContainer>; restore?: ChartContainer };
  const [at, container] = job === 'restore' ? ['restore', values.restore] : [`jobs.${job}`, values.jobs?.[job]];
  if (container === undefined) throw new Error(`charts/cmstate/values.yaml has no ${at}`);
  return { at, values: container };
}

/** The chart's default memory limit for a job (`jobs.<job>.resources.limits.memory`, `restore.resources.limits.memory`). */
export async function chartMemoryLimit(job: string): Promise<MemoryLimit> {
  const { at, values } = await chartValues(job);
  const quantity = values.resources?.limits?.memory;
  if (quantity === undefined) throw new Error(`charts/cmstate/values.yaml sets no ${at}.resources.limits.memory`);
  return { quantity: String(quantity), bytes: quantityBytes(String(quantity)) };
}

/**
 * The job's own flags as the chart's defaults pass them (templates/cronjobs.yaml: args, then
 * extraArgs; templates/restore-job.yaml: --mode and extraArgs after `--from FILE`, which the
 * caller adds), the snapshot volume's path replaced by `snapshotDir`. Not included: what the
 * chart adds from other values (--shard-count from shards, --with-feedback from readFeedback).
 */
export async function chartArgs(job: string, snapshotDir: string): Promise<string[]> {
  const { values } = await chartValues(job);
  const args = job === 'restore' ? ['--mode', values.mode ?? 'create-missing', ...(values.extraArgs ?? [])] : [...(values.args ?? []), ...(values.extraArgs ?? [])];
  return args.map((arg) => arg.replace(SNAPSHOT_MOUNT, snapshotDir));
}

/** The two layouts of the memory controller: cgroup v2 (unified) and v1. */
const V2 = { version: 'v2', probe: 'cgroup.controllers', limit: 'memory.max', peak: 'memory.peak', usage: 'memory.current', inactiveFile: 'inactive_file' } as const;
const LAYOUTS = [
  { ...V2, root: '/sys/fs/cgroup' },
  { ...V2, root: '/sys/fs/cgroup/unified' },
  {
    version: 'v1',
    root: '/sys/fs/cgroup/memory',
    probe: 'memory.limit_in_bytes',
    limit: 'memory.limit_in_bytes',
    peak: 'memory.max_usage_in_bytes',
    usage: 'memory.usage_in_bytes',
    inactiveFile: 'total_inactive_file',
  },
] as const;

/**
 * Removes the cgroups of benches that were interrupted while a measured process was still in its
 * cgroup: named `cmstate-bench-…-<pid>`, their bench process gone.
 */
async function removeStale(root: string): Promise<void> {
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const pid = Number(/^cmstate-bench-.*-(\d+)$/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) await rmdir(path.join(root, name)).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A memory cgroup of its own for one measured process: the limit a pod's container would have. */
export class MemoryCgroup {
  private constructor(
    private readonly dir: string,
    private readonly layout: (typeof LAYOUTS)[number],
  ) {}

  /** Creates one (needs root and a writable memory controller); a reason when it cannot. */
  static async create(name: string, limitBytes: number): Promise<MemoryCgroup | string> {
    for (const layout of LAYOUTS) {
      if (!existsSync(path.join(layout.root, layout.probe))) continue;
      if (layout.probe === 'cgroup.controllers' && !(await readFile(path.join(layout.root, layout.probe), 'utf8')).split(/\s+/).includes('memory')) continue;
      const dir = path.join(layout.root, `${name}-${process.pid}`);
      try {
        await removeStale(layout.root);
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, layout.limit), String(limitBytes));
        return new MemoryCgroup(dir, layout);
      } catch (err) {
        return `cannot create a memory cgroup under ${layout.root}: ${(err as Error).message}`;
      }
    }
    return 'no memory cgroup controller found under /sys/fs/cgroup';
  }

  /** Which controller and files, for notes: `cgroup v1 (memory.limit_in_bytes, memory.max_usage_in_bytes)`. */
  get description(): string {
    return `cgroup ${this.layout.version} (${this.layout.limit}, ${this.layout.peak})`;
  }

  /** `command args…` run inside the cgroup: a shell joins it, then execs the command. */
  wrap(command: string, args: string[]): [string, string[]] {
    return ['/bin/sh', ['-c', `echo $$ > ${path.join(this.dir, 'cgroup.procs')} && exec "$@"`, 'sh', command, ...args]];
  }

  /** The most memory ever charged to the cgroup (what the kernel compares with the limit). */
  async peakBytes(): Promise<number | undefined> {
    const text = await readFile(path.join(this.dir, this.layout.peak), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : Number(text.trim());
  }

  /**
   * The memory charged now less the inactive file pages, which the kernel reclaims before it
   * OOM-kills: the working set kubelet and `kubectl top` report. The peak charge counts the page
   * cache of every file the process wrote or read; this does not.
   */
  async workingSetBytes(): Promise<number | undefined> {
    const [usage, stat] = await Promise.all([readFile(path.join(this.dir, this.layout.usage), 'utf8'), readFile(path.join(this.dir, 'memory.stat'), 'utf8')]).catch(() => []);
    if (usage === undefined || stat === undefined) return undefined;
    const inactive = Number(new RegExp(`^${this.layout.inactiveFile} (\\d+)$`, 'm').exec(stat)?.[1] ?? 0);
    return Math.max(0, Number(usage.trim()) - inactive);
  }

  async remove(): Promise<void> {
    await rmdir(this.dir).catch(() => undefined);
  }
}
