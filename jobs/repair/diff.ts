// A readable diff of what a repair plan would change, key by key, for --dry-run:
//   - data.iteration: "3"
//   + data.iteration: "5"
// Long values are cut, so a 1 MiB feedback key stays one line.

import type { ConfigMap } from '../../src/kube/types.js';
import { decodeArchive } from '../../src/state/decode.js';
import { configMapSize } from '../../src/state/size.js';
import type { RepairPlan } from './plan.js';

const SHOWN_CHARS = 60;

export function describeChanges(plan: RepairPlan): string[] {
  const { object } = plan;
  switch (plan.action) {
    case 'none':
      return [];
    case 'delete-orphan':
      return [`- ConfigMap ${qualified(object)} (deleted after it is saved in the snapshot store)`];
    case 'quarantine':
    case 'replace': {
      const lines = plan.repaired === undefined ? [] : diffConfigMaps(object, plan.repaired);
      for (const archive of plan.newArchives ?? []) {
        const entries = decodeArchive(archive).entries.length;
        lines.push(`+ ConfigMap ${qualified(archive)} (archive: ${entries} feedback ${entries === 1 ? 'entry' : 'entries'}, ${configMapSize(archive)} bytes)`);
      }
      return lines;
    }
  }
}

/** The keys of labels, annotations, data and binaryData that differ, sorted within each section. */
export function diffConfigMaps(before: ConfigMap, after: ConfigMap): string[] {
  const sections: [string, Record<string, string> | undefined, Record<string, string> | undefined][] = [
    ['metadata.labels', before.metadata.labels, after.metadata.labels],
    ['metadata.annotations', before.metadata.annotations, after.metadata.annotations],
    ['data', before.data, after.data],
    ['binaryData', before.binaryData, after.binaryData],
  ];
  const lines: string[] = [];
  for (const [section, was = {}, is = {}] of sections) {
    const keys = [...new Set([...Object.keys(was), ...Object.keys(is)])].sort();
    for (const key of keys) {
      const [a, b] = [was[key], is[key]];
      if (a === b) continue;
      const show = section === 'binaryData' ? binary : shown;
      if (a !== undefined) lines.push(`- ${section}.${key}: ${show(a)}`);
      if (b !== undefined) lines.push(`+ ${section}.${key}: ${show(b)}`);
    }
  }
  return lines;
}

function shown(value: string): string {
  if (value.length <= SHOWN_CHARS + 20) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, SHOWN_CHARS))}… (${Buffer.byteLength(value, 'utf8')} bytes)`;
}

function binary(base64: string): string {
  return `(${Buffer.byteLength(base64, 'base64')} bytes of binary data)`;
}

function qualified(cm: ConfigMap): string {
  return `${cm.metadata.namespace ?? ''}/${cm.metadata.name}`;
}
