import type { Timer } from '../../src/util/timer.js';

/** A timer whose clock only moves when someone sleeps on it: deterministic tests, no waiting. */
export class FakeTimer implements Timer {
  readonly sleeps: number[] = [];
  constructor(private current = 0) {}
  now(): number {
    return this.current;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.current += Math.max(0, ms);
  }
}
