/**
 * What one job run did: the runner builds it, `--output json` prints it as the last line of
 * stdout, and the run metrics are derived from it. The field names are DESIGN.md's CLI
 * contract (snake_case, like the wire format); scripts depend on them, so change on purpose.
 */
export interface JobSummary {
  /** The entrypoint's name: `sweep`, `repair`, `snapshot`, `restore`, `metrics`. */
  job: string;
  dry_run: boolean;
  /** Objects the run observed (listed), in its namespace(s) and shard. */
  observed: number;
  /** Actions planned, by the job's own action name (`mark`, `delete`, …). */
  planned: Record<string, number>;
  /** Actions carried out, by the same action names. */
  applied: Record<string, number>;
  /** Actions not carried out, by reason (`conflict`, `circuit_breaker`, …). */
  skipped: Record<string, number>;
  /** Objects the run failed to handle. */
  failed: number;
  duration_ms: number;
}
