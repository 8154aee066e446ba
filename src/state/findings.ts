// What a check of the wire format can find wrong with a ConfigMap: the rules of STATE-FORMAT.md
// (each with the invariant it belongs to) and the finding that names one. The codec reports what
// it cannot decode as findings; ./invariants.ts checks the rest.

export type InvariantNumber = 1 | 2 | 3 | 4 | 5 | 6 | 7;

export const RULE_IDS = [
  'mirror-mismatch',
  'iteration-out-of-bounds',
  'iteration-history-mismatch',
  'feedback-iteration-ahead',
  'feedback-duplicate-id',
  'last-update-in-future',
  'last-update-before-entry',
  'status-unknown',
  'status-inconsistent',
  'field-invalid',
  'compressed-invalid',
  'both-feedback-forms',
  'over-budget',
  'legacy-version',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

export const RULES: Readonly<Record<RuleId, { invariant: InvariantNumber | null; description: string }>> = {
  'mirror-mismatch': { invariant: 1, description: 'task_id differs from the name, or a label/annotation does not mirror the data' },
  'iteration-out-of-bounds': { invariant: 2, description: 'iteration is above max_iterations' },
  'iteration-history-mismatch': { invariant: 2, description: 'iteration_history is not exactly one entry per iteration 1..iteration, ascending' },
  'feedback-iteration-ahead': { invariant: 3, description: 'a feedback entry belongs to an iteration above the current one' },
  'feedback-duplicate-id': { invariant: 3, description: 'two feedback entries share an id' },
  'last-update-in-future': { invariant: 4, description: 'last_update is more than 5 minutes ahead of the clock' },
  'last-update-before-entry': { invariant: 4, description: 'last_update is before a feedback or history entry' },
  'status-unknown': { invariant: 5, description: 'status is not one of the known values' },
  'status-inconsistent': { invariant: 5, description: 'status contradicts iteration (max_iterations_reached below the max; pending after iterating, a warning)' },
  'field-invalid': { invariant: 6, description: 'a data key is missing, does not parse or does not validate' },
  'compressed-invalid': { invariant: 6, description: 'binaryData feedback_history.json.gz is not valid base64 gzip' },
  'both-feedback-forms': { invariant: 6, description: 'plain feedback_history and its gzip form are both present' },
  'over-budget': { invariant: 7, description: 'the ConfigMap is larger than the size budget' },
  'legacy-version': { invariant: null, description: 'no data.version: legacy version 0, to migrate' },
};

export interface Finding {
  rule: RuleId;
  invariant: InvariantNumber | null;
  severity: 'error' | 'warning';
  /** The ConfigMap's name. */
  object: string;
  /** The field it is about, when it is one key: `data.<key>` or `binaryData.<key>`. */
  key?: string;
  /** What is wrong, without the name. */
  detail: string;
  /** One line, naming the ConfigMap: `<object>: <detail>`. */
  message: string;
}

/** A finding of `rule` about the ConfigMap `object`. */
export function finding(rule: RuleId, object: string, detail: string, options: { key?: string; severity?: Finding['severity'] } = {}): Finding {
  const found: Finding = { rule, invariant: RULES[rule].invariant, severity: options.severity ?? 'error', object, detail, message: `${object}: ${detail}` };
  if (options.key !== undefined) found.key = options.key;
  return found;
}
