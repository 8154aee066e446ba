// How every run ends, on a cluster (runJob) or off it (verify): its failures listed, the exit code
// chosen by the same rules, and the summary printed last. Kept apart from the runner so that an
// offline command loads none of the Kubernetes client, the lock or the metrics.

import { ExitCode, exitCodeFor, oneLine } from '../exit.js';
import type { Logger } from '../log.js';
import type { JobSummary } from '../metrics/summary.js';
import { formatSummary, type Tally } from './tally.js';

const MAX_LISTED_FAILURES = 20;

export interface RunEnd {
  /** A safety rule refused the run (exit 3). */
  refusal?: unknown;
  /** The run stopped on an error of its own. */
  fatal?: unknown;
}

export interface Concluded {
  summary: JobSummary;
  exitCode: number;
}

/** Logs what failed and why the run ended; the summary and the exit code: refused, else failed on any failure or a signal, else ok. */
export function concludeRun(log: Logger, signal: AbortSignal, tally: Tally, job: { name: string; dryRun: boolean; startedAt: number }, end: RunEnd = {}): Concluded {
  const summary = tally.summary(job.name, job.dryRun, performance.now() - job.startedAt);
  const interrupted = signal.aborted;
  for (const failure of tally.failures.slice(0, MAX_LISTED_FAILURES)) log.error({ object: failure.object }, failure.message);
  if (tally.failures.length > MAX_LISTED_FAILURES) log.error(`... and ${tally.failures.length - MAX_LISTED_FAILURES} more failures`);
  if (end.refusal) log.error(oneLine(end.refusal));
  if (end.fatal) log.error(oneLine(end.fatal));
  if (interrupted) log.warn(`${job.name} stopped by a signal before it finished: actions not started were left for the next run`);

  let exitCode: number = ExitCode.ok;
  if (end.refusal) exitCode = ExitCode.refused;
  else if (end.fatal || interrupted || tally.failures.length > 0) exitCode = end.fatal ? exitCodeFor(end.fatal) : ExitCode.failed;
  return { summary, exitCode };
}

/** The summary as the last line of stdout: JSON with --output json, else one text line. */
export function printSummary(print: (line: string) => void, output: 'text' | 'json', summary: JobSummary): void {
  print(output === 'json' ? JSON.stringify(summary) : formatSummary(summary));
}
