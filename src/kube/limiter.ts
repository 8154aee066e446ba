// Client-side QPS limit shared by every request of a run (GCRA: a steady rate with a burst),
// so a big sweep does not flood the API server; the server's own 429s are handled by retry.
// A qps of 0 is no limit at all: acquire() returns at once.

import { realTimer, type Timer } from '../util/timer.js';

/**
 * How late a caller may come for its slot and still keep the schedule. Timers fire late (1 ms
 * resolution, a busy event loop), and a caller that arrives after its slot would otherwise restart
 * the schedule from its arrival, losing the lateness each time: one caller at burst 1 and 2000/s
 * got 83-85% of the rate. Lateness beyond this is idleness, which refills the burst as before; what
 * a late caller catches up is at most this many milliseconds' worth of requests.
 */
export const LATE_TOLERANCE_MS = 20;

export class QpsLimiter {
  private readonly intervalMs: number;
  private theoreticalArrival = 0;

  constructor(
    readonly qps: number,
    readonly burst: number = Math.max(1, Math.ceil(qps)),
    private readonly timer: Timer = realTimer,
  ) {
    if (!(qps >= 0) || !Number.isFinite(qps)) throw new RangeError(`qps must be >= 0 (0: no limit), got ${qps}`);
    this.intervalMs = qps === 0 ? 0 : 1000 / qps;
  }

  /** True when every request passes at once (qps 0). */
  get unlimited(): boolean {
    return this.qps === 0;
  }

  /** Waits until one more request fits the rate; reservations are made in call order. */
  async acquire(signal?: AbortSignal): Promise<void> {
    if (this.unlimited) return;
    const now = this.timer.now();
    const late = now - this.theoreticalArrival;
    const arrival = late > LATE_TOLERANCE_MS ? now : this.theoreticalArrival;
    const wait = arrival - now - (this.burst - 1) * this.intervalMs;
    this.theoreticalArrival = arrival + this.intervalMs;
    if (wait > 0) await this.timer.sleep(wait, signal);
  }
}
