// One measured process: wall time, peak RSS and, inside a memory cgroup, the cgroup's peak
// charge and its working set's peak (sampled); its stdout counted and its last line kept (a job's JSON summary), its stderr's tail
// kept for error messages.

import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { MemoryCgroup } from './cmstate-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TIME = '/usr/bin/time';
/** Without GNU time, a Node process reports its own maxRSS at exit through this preload. */
const RSS_PRELOAD = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\ncmstate-bench-maxrss-kib="+process.resourceUsage().maxRSS+"\\n"))';

/** How often the working set of a cgroup is sampled: shorter peaks are missed. */
export const WORKING_SET_SAMPLE_MS = 50;
/** Where peak RSS figures come from on this machine, for notes. */
export const RSS_SOURCE = existsSync(TIME) ? 'GNU time %M' : "the process's maxRSS at exit (no GNU time)";

export interface Measured {
  code: number;
  wallSeconds: number;
  /** Peak RSS in KiB: the process's, or for a pipeline the largest of its processes. */
  maxRssKiB: number | undefined;
  /** Run in a memory cgroup: the most memory ever charged to it. */
  cgroupPeakBytes: number | undefined;
  /** Run in a memory cgroup: the largest working set sampled (MemoryCgroup.workingSetBytes). */
  workingSetPeakBytes: number | undefined;
  stdoutLines: number;
  lastLine: string;
  stderrTail: string;
}

/**
 * Runs a command and measures it from spawn to exit. Peak RSS comes from GNU time (%M: the largest
 * resident set of the process and its waited-for descendants); without it, a Node process reports
 * its own maxRSS at exit through a preload, and a pipeline has none. With `cgroup`, the command
 * runs inside it, its working set is sampled meanwhile, and its peak charge is read afterwards.
 */
export async function measure(command: string, args: string[], env: NodeJS.ProcessEnv, dir: string, nodePreload: boolean, cgroup?: MemoryCgroup): Promise<Measured> {
  const rssFile = path.join(dir, `rss-${randomBytes(4).toString('hex')}`);
  const useTime = existsSync(TIME);
  const [timed, timedArgs] = useTime ? [TIME, ['-f', '%M', '-o', rssFile, command, ...args]] : [command, nodePreload ? ['--import', RSS_PRELOAD, ...args] : args];
  const [cmd, argv] = cgroup ? cgroup.wrap(timed, timedArgs) : [timed, timedArgs];
  const started = performance.now();
  const child = spawn(cmd, argv, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let workingSetPeakBytes: number | undefined;
  const sampler =
    cgroup &&
    setInterval(() => {
      void cgroup.workingSetBytes().then((bytes) => {
        if (bytes !== undefined) workingSetPeakBytes = Math.max(workingSetPeakBytes ?? 0, bytes);
      });
    }, WORKING_SET_SAMPLE_MS);
  let stderrTail = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-8000);
  });
  let stdoutLines = 0;
  let lastLine = '';
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    stdoutLines++;
    lastLine = line;
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  clearInterval(sampler);
  const wallSeconds = (performance.now() - started) / 1000;
  let maxRssKiB: number | undefined;
  if (useTime) maxRssKiB = Number((await readFile(rssFile, 'utf8').catch(() => '')).trim().split('\n').at(-1)) || undefined;
  else maxRssKiB = Number(/cmstate-bench-maxrss-kib=(\d+)/.exec(stderrTail)?.[1] ?? NaN) || undefined;
  const cgroupPeakBytes = await cgroup?.peakBytes();
  return { code, wallSeconds, maxRssKiB, cgroupPeakBytes, workingSetPeakBytes, stdoutLines, lastLine, stderrTail };
}
