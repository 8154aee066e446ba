// Fault injection in the manner of controller-runtime's interceptor funcs: a rule matches some
// requests and replaces the server's behaviour for them. The first rule that fires wins.

import type { Verb } from './resource-def.js';

export type Fault =
  | { kind: 'latency'; ms: number }
  | { kind: 'status'; code: number; retryAfterSeconds?: number }
  /** Destroys the socket without answering. */
  | { kind: 'drop' }
  /**
   * Carries the request out, then destroys the socket instead of ending the answer: a write that
   * landed although the client saw it fail. A long list, written as it is serialized, may have
   * sent its first bytes by then.
   */
  | { kind: 'lose-response' };

export interface FaultMatch {
  /** HTTP method, case-insensitive. */
  method?: string;
  /** Tested against the request URL (path and query): a RegExp, or a substring. */
  path?: RegExp | string;
  /** The API verb: get, list, watch, create, update, patch, delete (discovery requests are `get`). */
  verb?: Verb;
}

export interface FaultRule {
  match?: FaultMatch;
  fault: Fault;
  /** Probability (0..1) that a matching request is faulted, drawn from the server's random source. */
  rate?: number;
  /** Only the Nth matching request (1-based). */
  nth?: number;
  /** Fire at most this many times. */
  times?: number;
}

export interface FaultHandle {
  /** Requests this rule matched so far. */
  readonly matched: number;
  /** Times it fired. */
  readonly fired: number;
  remove(): void;
}

export interface FaultRequest {
  method: string;
  url: string;
  verb: Verb;
}

class ActiveRule implements FaultHandle {
  matched = 0;
  fired = 0;

  constructor(
    readonly rule: FaultRule,
    readonly remove: () => void,
  ) {}

  /** Counts a matching request and says whether the fault fires for it. */
  consider(req: FaultRequest, random: () => number): boolean {
    const m = this.rule.match ?? {};
    if (m.method && m.method.toUpperCase() !== req.method.toUpperCase()) return false;
    if (m.verb && m.verb !== req.verb) return false;
    if (m.path !== undefined && !(typeof m.path === 'string' ? req.url.includes(m.path) : m.path.test(req.url))) return false;
    this.matched++;
    if (this.rule.nth !== undefined && this.matched !== this.rule.nth) return false;
    if (this.rule.times !== undefined && this.fired >= this.rule.times) return false;
    if (this.rule.rate !== undefined && random() >= this.rule.rate) return false;
    this.fired++;
    return true;
  }
}

export class FaultInjector {
  private rules: ActiveRule[] = [];

  constructor(private readonly random: () => number) {}

  add(rule: FaultRule): FaultHandle {
    const active: ActiveRule = new ActiveRule(rule, () => {
      this.rules = this.rules.filter((r) => r !== active);
    });
    this.rules.push(active);
    return active;
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault to apply to this request, if a rule fires; rules are tried in the order added. */
  pick(req: FaultRequest): Fault | undefined {
    for (const rule of this.rules) {
      if (rule.consider(req, this.random)) return rule.rule.fault;
    }
    return undefined;
  }
}

/** A small deterministic PRNG (mulberry32) so fault rates replay identically in tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
