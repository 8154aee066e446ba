// Client-side QPS limit shared by every request of a run (GCRA: a steady rate with a burst),
// so a big sweep does not flood the API server; the server's own 429s are handled by retry.

import { realTimer, type Timer } from '../util/timer.js';

export class QpsLimiter {
  private readonly intervalMs: number;
  private theoreticalArrival = 0;

  constructor(
    readonly qps: number,
    readonly burst: number = Math.max(1, Math.ceil(qps)),
    private readonly timer: Timer = realTimer,
  ) {
    if (!(qps > 0)) throw new RangeError(`qps must be > 0, got ${qps}`);
    this.intervalMs = 1000 / qps;
  }

  /** Waits until one more request fits the rate; reservations are made in call order. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const now = this.timer.now();
    const arrival = Math.max(this.theoreticalArrival, now);
    const wait = arrival - now - (this.burst - 1) * this.intervalMs;
    this.theoreticalArrival = arrival + this.intervalMs;
    if (wait > 0) await this.timer.sleep(wait, signal);
  }
}
