// The corpus of corrupted ConfigMaps in test/fixtures/repair/ (one JSON file per case), shared by
// the repair planner's unit tests and the repair integration test.

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { RepairAction, RepairOptions, RepairRule } from '../../jobs/repair/plan.js';
import type { ConfigMap } from '../../src/kube/types.js';

export interface RepairFixture {
  /** The file name without `.json`. */
  name: string;
  description: string;
  /** The planner's clock (RFC 3339). */
  now: string;
  options: Required<RepairOptions>;
  /** The ConfigMap under test. */
  object: ConfigMap;
  /** Other objects observed with it (a parent task, existing archives). */
  context: ConfigMap[];
  expected: {
    findings: RepairRule[];
    action: RepairAction;
    reasons: string[];
    repaired?: ConfigMap;
    newArchives?: ConfigMap[];
  };
}

const DIR = path.resolve(import.meta.dirname, '../fixtures/repair');

export function loadRepairCorpus(): RepairFixture[] {
  return readdirSync(DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const raw = JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as Omit<RepairFixture, 'name' | 'context'> & { context?: ConfigMap[] };
      return { ...raw, name: file.slice(0, -'.json'.length), context: raw.context ?? [] };
    });
}

/**
 * What a repair decides about an object, in a form that compares across servers and zlib builds:
 * name, labels, annotations, data, and binaryData gunzipped to text (gzip bytes may differ for
 * the same content). The namespace and server-assigned fields are left out.
 */
export function comparable(cm: ConfigMap): Record<string, unknown> {
  const binary = Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([key, value]) => [key, gunzipText(value)]));
  return { name: cm.metadata.name, labels: cm.metadata.labels ?? {}, annotations: cm.metadata.annotations ?? {}, data: cm.data ?? {}, binaryData: binary };
}

function gunzipText(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  try {
    return gunzipSync(bytes).toString('utf8');
  } catch {
    return `(not gzip) ${base64}`;
  }
}
