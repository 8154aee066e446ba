// The chart's alert rules as a Prometheus rules file, for promtool. templates/prometheusrule.yaml
// reads the rule bodies from charts/cmstate/files/alerts/ and replaces their ${name} placeholders;
// this module does the same with the same files, groups and values, so what promtool tests is what
// the chart ships. test/unit/chart.test.ts holds the two together: the template replaces exactly the
// placeholders below, with the template expressions named here, and reads exactly these files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const CHART_DIR = fileURLToPath(new URL('../../charts/cmstate/', import.meta.url));

export type Values = Record<string, unknown>;

const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's coalescing of user values over the chart's: maps merge, anything else replaces, null deletes. */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    if (value === null) delete out[key];
    else out[key] = isMap(current) && isMap(value) ? mergeValues(current, value) : value;
  }
  return out;
}

/** values.yaml with each override coalesced over it in turn, like `helm -f a.yaml -f b.yaml`. */
export function chartValues(...overrides: Values[]): Values {
  const defaults = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Values;
  return overrides.reduce(mergeValues, defaults);
}

/** The files the template reads, relative to the chart (`%s`: the job's name). */
export const ALERT_FILES = {
  job: 'files/alerts/jobs/%s.yaml',
  neverSucceeded: 'files/alerts/never-succeeded.yaml',
  states: 'files/alerts/states.yaml',
  feedback: 'files/alerts/feedback.yaml',
} as const;

export interface Release {
  name: string;
  namespace: string;
}

/** What a placeholder's value is computed from: the values, the release, and for job groups one job, scope and shard. */
interface Scope {
  values: Values;
  release: Release;
  job: string;
  /** A watched namespace; "" for allNamespaces. */
  namespace: string;
  /** The shard index; "" unsharded. */
  shard: string;
}

interface Placeholder {
  /** The argument the template's `replace "${name}"` passes. */
  template: string;
  value(scope: Scope): string;
}

const rule = (scope: Scope): Values => scope.values.prometheusRule as Values;
// Go's %v and sprig's toString print the numbers a values file can hold as JavaScript does.
const toString = (value: unknown): string => String(value);

/** Replaced once per job group, namespace scope and shard. */
export const JOB_PLACEHOLDERS: Record<string, Placeholder> = {
  job: { template: '$name', value: (s) => s.job },
  namespace: { template: '(default "_all" $namespace)', value: (s) => s.namespace || '_all' },
  shard: { template: '(toString $shard)', value: (s) => s.shard },
  maxHoursWithoutSuccess: {
    template: '(toString (index $.Values.prometheusRule.maxHoursWithoutSuccess $name))',
    value: (s) => toString((rule(s).maxHoursWithoutSuccess as Values)[s.job]),
  },
};

/** Replaced in every group's rules. */
export const GROUP_PLACEHOLDERS: Record<string, Placeholder> = {
  // sprig's quote is Go's %q: for the strings a severity holds, a JSON string.
  severity: { template: '(quote $.Values.prometheusRule.severity)', value: (s) => JSON.stringify(rule(s).severity) },
  stuckFor: { template: '$.Values.prometheusRule.stuckFor', value: (s) => toString(rule(s).stuckFor) },
  gaveUpRatio: { template: '(toString $.Values.prometheusRule.gaveUpRatio)', value: (s) => toString(rule(s).gaveUpRatio) },
  gaveUpMinFinished: { template: '(toString $.Values.prometheusRule.gaveUpMinFinished)', value: (s) => toString(rule(s).gaveUpMinFinished) },
  release: { template: '$.Release.Name', value: (s) => s.release.name },
  releaseNamespace: { template: '$.Release.Namespace', value: (s) => s.release.namespace },
};

/** The placeholder names in a text, each once. */
export function placeholdersIn(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z]+)\}/g)].map((m) => m[1] ?? ''))];
}

function substitute(text: string, placeholders: Record<string, Placeholder>, scope: Scope): string {
  return Object.entries(placeholders).reduce((out, [name, p]) => out.replaceAll(`\${${name}}`, p.value(scope)), text);
}

const readChartFile = (path: string): string => readFileSync(join(CHART_DIR, path), 'utf8');

/** cmstate.scopes: the watched namespaces, "" for allNamespaces, the release namespace by default. */
function scopes(values: Values, release: Release): string[] {
  if (values.allNamespaces) return [''];
  const namespaces = values.namespaces as string[];
  return namespaces.length > 0 ? namespaces : [release.namespace];
}

/**
 * The rule groups templates/prometheusrule.yaml puts in spec.groups for these values, as a
 * Prometheus rules file (`groups:`). Throws when a placeholder is left over.
 */
export function renderAlertRules(values: Values, release: Release): string {
  const jobs = values.jobs as Record<string, Values>;
  const base: Scope = { values, release, job: '', namespace: '', shard: '' };
  const groups: { name: string; rules: string }[] = [];
  // Helm ranges over a map in key order.
  for (const job of Object.keys(jobs).sort()) {
    const spec = jobs[job] ?? {};
    if (!spec.enabled) continue;
    const rules = readChartFile(ALERT_FILES.job.replace('%s', job)) + readChartFile(ALERT_FILES.neverSucceeded);
    const shardCount = Number(spec.shards ?? 1);
    const shards = shardCount > 1 ? Array.from({ length: shardCount }, (_, i) => String(i)) : [''];
    let copies = '';
    for (const namespace of scopes(values, release)) {
      for (const shard of shards) copies += substitute(rules, JOB_PLACEHOLDERS, { ...base, job, namespace, shard });
    }
    groups.push({ name: `cmstate-${job}`, rules: copies });
  }
  const metrics = jobs.metrics ?? {};
  if (metrics.enabled) {
    groups.push({ name: 'cmstate-states', rules: readChartFile(ALERT_FILES.states) + (metrics.readFeedback ? readChartFile(ALERT_FILES.feedback) : '') });
  }

  // As the template: each group's rules re-indented under `rules:` (nindent), so the files' block
  // scalars are tested at another indentation too.
  const nindent = (lines: string, spaces: number): string =>
    lines
      .split('\n')
      .map((line) => `\n${' '.repeat(spaces)}${line}`)
      .join('');
  let out = 'groups:';
  for (const group of groups) {
    out += `\n  - name: ${group.name}\n    rules:${nindent(substitute(group.rules, GROUP_PLACEHOLDERS, base).trim(), 6)}`;
  }
  const left = placeholdersIn(out);
  if (left.length > 0) throw new Error(`placeholders not replaced: ${left.join(', ')}`);
  return `${out}\n`;
}

/** The alert names of a rules file. */
export function alertNames(rulesFile: string): string[] {
  const { groups } = parse(rulesFile) as { groups: { rules: { alert?: string }[] }[] };
  return [...new Set(groups.flatMap((g) => g.rules.map((r) => r.alert ?? '')))].filter(Boolean).sort();
}
