// The repair job's decisions: for each observed task state or archive, its findings and what to
// do about them, with the reasons. Pure: the object, an index of the other observed objects,
// the options and `now` come in; the plan goes out.
//
// A repaired state is written by the real codec (`encodeState` with the original as `base`:
// unknown keys, other labels and annotations, owner references and the resourceVersion are kept),
// and is checked against every invariant before it is planned, so a second run finds nothing.
// A quarantined object is left alone (findings not even computed) until a person removes the
// `cmstate.io/quarantined` annotation.

import type { DateTime } from 'luxon';
import type { ConfigMap } from '../../src/kube/types.js';
import { decodeStateLenient, type LenientDecode } from '../../src/state/decode.js';
import { encodeState } from '../../src/state/encode.js';
import { StateEncodeError } from '../../src/state/errors.js';
import { type Finding, type RuleId, RULE_IDS } from '../../src/state/findings.js';
import { checkInvariants } from '../../src/state/invariants.js';
import { ANNOTATION_QUARANTINED, DATA_KEYS, FEEDBACK_GZ_KEY, LABEL_STATE, STATE_VALUE_ARCHIVE, ownerConfigMapName, taskOfArchive } from '../../src/state/labels.js';
import { configMapSize } from '../../src/state/size.js';
import type { ObservedIndex } from './observed-index.js';
import { reconcileState } from './reconcile.js';

/** The invariant rules, plus `orphan-archive`: an archive whose task state was not observed. */
export const REPAIR_RULES = [...RULE_IDS, 'orphan-archive'] as const;
export type RepairRule = RuleId | 'orphan-archive';

export interface RepairFinding extends Omit<Finding, 'rule'> {
  rule: RepairRule;
}

export type RepairAction = 'replace' | 'delete-orphan' | 'quarantine' | 'none';

export interface RepairPlan {
  /** The object as observed: what goes to the snapshot store, and whose resourceVersion is the write's precondition. */
  object: ConfigMap;
  findings: RepairFinding[];
  action: RepairAction;
  /** replace: the object to write; quarantine: the object as the annotation patch leaves it. */
  repaired?: ConfigMap;
  /** replace: archive ConfigMaps to create before the write (feedback moved out of an oversize state). */
  newArchives?: ConfigMap[];
  /** quarantine: the value of the `cmstate.io/quarantined` annotation. */
  quarantineReason?: string;
  /** Already quarantined by an earlier run: left alone. */
  quarantined: boolean;
  /** What the action does and why, one line each. */
  reasons: string[];
}

export interface RepairOptions {
  /** The writers' size budget (default 900 KiB). */
  budgetBytes?: number;
  /** Above this the feedback is written gzipped (default 64 KiB). */
  compressionThreshold?: number;
}

/** Annotation values are kept to this length; the Event and the log carry the full reasons. */
const QUARANTINE_REASON_MAX = 1000;

/** Plans one observed object; `index` knows the other observed objects by name. */
export function planObject(cm: ConfigMap, index: ObservedIndex, now: DateTime, options: RepairOptions = {}): RepairPlan {
  const already = cm.metadata.annotations?.[ANNOTATION_QUARANTINED];
  if (already !== undefined) {
    return { object: cm, findings: [], action: 'none', quarantined: true, reasons: [`quarantined earlier (${already}): left alone until the ${ANNOTATION_QUARANTINED} annotation is removed`] };
  }
  return cm.metadata.labels?.[LABEL_STATE] === STATE_VALUE_ARCHIVE ? planArchive(cm, index, now, options) : planTask(cm, index, now, options);
}

function planTask(cm: ConfigMap, index: ObservedIndex, now: DateTime, options: RepairOptions): RepairPlan {
  const findings = checkInvariants(cm, now, { budgetBytes: options.budgetBytes });
  if (findings.length === 0) return { object: cm, findings, action: 'none', quarantined: false, reasons: [] };
  const decoded = decodeStateLenient(cm);
  const reconciled = reconcileState(cm, decoded, now);
  if (!reconciled.ok) return quarantine(cm, findings, reconciled.reason);

  const namespace = cm.metadata.namespace ?? '';
  let encoded;
  try {
    encoded = encodeState(reconciled.state, {
      namespace,
      base: cm,
      budgetBytes: options.budgetBytes,
      compressionThreshold: options.compressionThreshold,
      existingArchiveCount: index.highestArchiveIndex(namespace, cm.metadata.name),
    });
  } catch (err) {
    if (err instanceof StateEncodeError) return quarantine(cm, findings, `cannot be written back: ${err.message}`);
    throw err;
  }
  const reasons = [...encodingReasons(cm, encoded.configMap, encoded.archives, findings, decoded), ...reconciled.reasons];
  // The repair is only planned when it is complete: otherwise the next run would repair again.
  const left = checkInvariants(encoded.configMap, now, { budgetBytes: options.budgetBytes });
  if (left.length > 0) return quarantine(cm, findings, `a repair would still break a rule: ${left.map((f) => f.message).join('; ')}`);
  const plan: RepairPlan = { object: cm, findings, action: 'replace', repaired: encoded.configMap, quarantined: false, reasons };
  if (encoded.archives.length > 0) plan.newArchives = encoded.archives;
  return plan;
}

/** What re-encoding changed that the reconcile step does not describe. */
function encodingReasons(before: ConfigMap, after: ConfigMap, archives: ConfigMap[], findings: Finding[], decoded: LenientDecode): string[] {
  const reasons: string[] = [];
  if (decoded.legacy) {
    const defaulted = Object.entries(decoded.fields)
      .filter(([key, outcome]) => outcome === 'defaulted' && key !== 'version')
      .map(([key]) => key);
    const padded = decoded.state.iteration_history?.some((e) => e.recovered === true) ? '; iteration_history padded with recovered entries' : '';
    reasons.push(`migrated from version 0 to version 1 (defaults for ${defaulted.length > 0 ? defaulted.join(', ') : 'nothing'}${padded}); data keys the format does not know are kept as they were`);
  }
  if (findings.some((f) => f.rule === 'mirror-mismatch')) reasons.push('labels and annotations rebuilt from the data');
  const wasGzip = before.binaryData?.[FEEDBACK_GZ_KEY] !== undefined && before.data?.[DATA_KEYS.feedback_history] === undefined;
  const isGzip = after.binaryData?.[FEEDBACK_GZ_KEY] !== undefined;
  if (isGzip && !wasGzip) reasons.push('feedback_history compressed into binaryData');
  if (!isGzip && wasGzip) reasons.push('feedback_history written plain: it is below the compression threshold');
  if (archives.length > 0) {
    const names = archives.map((a) => a.metadata.name);
    const moved = Number(after.data?.[DATA_KEYS.feedback_archived] ?? 0) - Number(before.data?.[DATA_KEYS.feedback_archived] ?? 0);
    reasons.push(`${moved} feedback entries moved to new archive${names.length > 1 ? 's' : ''} ${names.join(', ')}`);
  }
  if (findings.some((f) => f.rule === 'over-budget')) reasons.push(`size ${configMapSize(before)} → ${configMapSize(after)} bytes`);
  return reasons;
}

function planArchive(cm: ConfigMap, index: ObservedIndex, now: DateTime, options: RepairOptions): RepairPlan {
  const findings: RepairFinding[] = checkInvariants(cm, now, { budgetBytes: options.budgetBytes });
  const namespace = cm.metadata.namespace ?? '';
  const parent = taskOfArchive({ ...cm.metadata, ownerName: ownerConfigMapName(cm.metadata) });
  if (parent === undefined || !index.hasTask(namespace, parent)) {
    const why = parent === undefined ? 'names no task (no owner reference, task-id label or archive name)' : `belongs to ${parent}, which does not exist`;
    findings.push({ rule: 'orphan-archive', invariant: null, severity: 'error', object: cm.metadata.name, detail: `archive ${why}`, message: `${cm.metadata.name}: archive ${why}` });
    return { object: cm, findings, action: 'delete-orphan', quarantined: false, reasons: [`orphan archive: it ${why}; deleted once it is saved in the snapshot store`] };
  }
  if (findings.length === 0) return { object: cm, findings, action: 'none', quarantined: false, reasons: [] };
  return quarantine(cm, findings, `archive of ${parent} is unreadable and holds the only copy of its entries: ${findings[0]?.detail}`);
}

function quarantine(cm: ConfigMap, findings: RepairFinding[], reason: string): RepairPlan {
  const value = reason.length > QUARANTINE_REASON_MAX ? `${reason.slice(0, QUARANTINE_REASON_MAX - 1)}…` : reason;
  const repaired: ConfigMap = { ...cm, metadata: { ...cm.metadata, annotations: { ...cm.metadata.annotations, [ANNOTATION_QUARANTINED]: value } } };
  return { object: cm, findings, action: 'quarantine', repaired, quarantineReason: value, quarantined: false, reasons: [`quarantined: ${reason}`] };
}
