// Per-rule counts of a repair run: how many objects broke each rule, and how many of those were
// repaired (an orphan: deleted) or quarantined. Printed after the plan or the actions, and logged.

import { REPAIR_RULES, type RepairPlan, type RepairRule } from './plan.js';

export interface RuleCount {
  found: number;
  repaired: number;
  quarantined: number;
}

export class RuleCounts {
  private readonly counts = new Map<RepairRule, RuleCount>();

  /** Counts a planned object once per rule it breaks. */
  found(plan: RepairPlan): void {
    for (const rule of rulesOf(plan)) this.entry(rule).found++;
  }

  /** Counts a plan that was carried out. */
  done(plan: RepairPlan): void {
    for (const rule of rulesOf(plan)) {
      if (plan.action === 'quarantine') this.entry(rule).quarantined++;
      else if (plan.action === 'replace' || plan.action === 'delete-orphan') this.entry(rule).repaired++;
    }
  }

  /** Rules with any count, in the order of REPAIR_RULES (snake_case keys, like the summary). */
  toJSON(): Record<string, RuleCount> {
    return Object.fromEntries(REPAIR_RULES.filter((rule) => this.counts.has(rule)).map((rule) => [rule, { ...this.counts.get(rule)! }]));
  }

  /** A small table for people; one line when nothing was found. */
  format(): string[] {
    const rows = Object.entries(this.toJSON());
    if (rows.length === 0) return ['no findings: every state checked passes every rule (quarantined ones are not checked)'];
    const width = Math.max(4, ...rows.map(([rule]) => rule.length));
    const line = (rule: string, found: string, repaired: string, quarantined: string) => `${rule.padEnd(width)}  ${found.padStart(5)}  ${repaired.padStart(8)}  ${quarantined.padStart(11)}`;
    return [line('rule', 'found', 'repaired', 'quarantined'), ...rows.map(([rule, c]) => line(rule, String(c.found), String(c.repaired), String(c.quarantined)))];
  }

  private entry(rule: RepairRule): RuleCount {
    let count = this.counts.get(rule);
    if (count === undefined) {
      count = { found: 0, repaired: 0, quarantined: 0 };
      this.counts.set(rule, count);
    }
    return count;
  }
}

function rulesOf(plan: RepairPlan): Set<RepairRule> {
  return new Set(plan.findings.map((f) => f.rule));
}
