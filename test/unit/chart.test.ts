// The Helm chart, checked without Helm: values against values.schema.json, every value a template
// reads declared (and every declared value read), YAML structure around the template directives,
// the restricted Pod Security fields, the RBAC verb table, the Job pod failure policy against the
// API server's validation, every emitted field against the Kubernetes versions Chart.yaml declares, and the
// alert rule files against the PrometheusRule template that fills them in.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parse, parseAllDocuments } from 'yaml';
import { DEPLOYED_JOBS, EVERY_JOB_ACCESS, METRICS_WITH_FEEDBACK_ACCESS } from '../../src/job/descriptors.js';
import { ExitCode } from '../../src/exit.js';
import { WORKLOAD_ENV } from '../../src/job/deletion-summary.js';
import { ALERT_FILES, GROUP_PLACEHOLDERS, JOB_PLACEHOLDERS, mergeValues, placeholdersIn } from '../support/alert-rules.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const chart = join(repo, 'charts/cmstate');
const templatesDir = join(chart, 'templates');

type Values = Record<string, unknown>;

const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);
const readYaml = (path: string): unknown => parse(readFileSync(path, 'utf8'));
const defaults = readYaml(join(chart, 'values.yaml')) as Values;
const ciFiles = readdirSync(join(chart, 'ci'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}
const templates = new Map(listFiles(templatesDir).map((p) => [relative(templatesDir, p), readFileSync(p, 'utf8')]));
/** Every partial (`_*.tpl`): the defines the templates include, wherever each lives. */
const helpers = [...templates]
  .filter(([name]) => name.startsWith('_') && name.endsWith('.tpl'))
  .map(([, text]) => text)
  .join('\n');

/** A deep copy of `values` with `value` at a dotted path. */
function withValue(values: Values, path: string, value: unknown): Values {
  const copy = structuredClone(values);
  const keys = path.split('.');
  const last = keys.pop() ?? '';
  let node = copy;
  for (const key of keys) {
    const next = node[key];
    if (!isMap(next)) throw new Error(`no map at ${key} in ${path}`);
    node = next;
  }
  node[last] = value;
  return copy;
}

/** The body of a `{{- define "name" -}} ... {{- end }}` block that holds plain YAML (no directives). */
function defineBody(name: string): string {
  const match = new RegExp(`\\{\\{-?\\s*define\\s+"${name}"\\s*-?\\}\\}([\\s\\S]*?)\\{\\{-?\\s*end\\s*-?\\}\\}`).exec(helpers);
  assert.ok(match?.[1], `define "${name}" in a partial`);
  assert.doesNotMatch(match[1], /\{\{/, `define "${name}" must be plain YAML for this test to read it`);
  return match[1];
}

/** The text of a define in the partials, up to the next define (directives included). */
function defineText(name: string): string {
  const start = helpers.indexOf(`{{- define "${name}" -}}`);
  assert.ok(start >= 0, `define "${name}" in a partial`);
  const next = helpers.indexOf('{{- define "', start + 1);
  return helpers.slice(start, next < 0 ? undefined : next);
}

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats.default(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8')) as object);

describe('values.schema.json', () => {
  const cases: [string, Values][] = [['values.yaml', defaults], ...ciFiles.map((f): [string, Values] => [`ci/${f}`, mergeValues(defaults, readYaml(join(chart, 'ci', f)) as Values)])];
  for (const [name, values] of cases) {
    test(`accepts ${name}`, () => {
      assert.equal(validate(values), true, ajv.errorsText(validate.errors));
    });
  }

  test('accepts the global values an umbrella chart passes to every subchart', () => {
    const values = mergeValues(defaults, { global: { imageRegistry: 'registry.example.com', storageClass: 'fast' } });
    assert.equal(validate(values), true, ajv.errorsText(validate.errors));
  });

  test('ci/ covers the renders a review runs: every job, allNamespaces, sharding, restore, tuned alerts', () => {
    for (const f of ['all-jobs-values.yaml', 'all-namespaces-values.yaml', 'sharded-values.yaml', 'restore-values.yaml', 'tuned-alerts-values.yaml']) {
      assert.ok(ciFiles.includes(f), f);
    }
  });

  // Each case changes the defaults at dotted paths and names where the schema must object.
  const rejected: { why: string; set: Record<string, unknown>; at: string; keyword: string }[] = [
    { why: 'unknown top-level key', set: { replicas: 1 }, at: '', keyword: 'additionalProperties' },
    { why: 'global that is not a map', set: { global: 'registry.example.com' }, at: '/global', keyword: 'type' },
    { why: 'typo in a job key', set: { 'jobs.sweep.shedule': '0 * * * *' }, at: '/jobs/sweep', keyword: 'additionalProperties' },
    { why: 'a job the CLI does not have', set: { 'jobs.compact': { enabled: true } }, at: '/jobs', keyword: 'additionalProperties' },
    { why: 'shards on a job that cannot be sharded', set: { 'jobs.repair.shards': 2 }, at: '/jobs/repair', keyword: 'additionalProperties' },
    { why: 'unknown key in restore', set: { 'restore.form': '/var/lib/cmstate/snapshots/x' }, at: '/restore', keyword: 'additionalProperties' },
    { why: 'unknown key in image', set: { 'image.digest': 'sha256:0' }, at: '/image', keyword: 'additionalProperties' },
    { why: 'schedule as a number', set: { 'jobs.sweep.schedule': 5 }, at: '/jobs/sweep/schedule', keyword: 'type' },
    { why: 'schedule with a TZ= prefix', set: { 'jobs.sweep.schedule': 'TZ=UTC 0 * * * *' }, at: '/jobs/sweep/schedule', keyword: 'pattern' },
    { why: 'history limit as a string', set: { 'jobs.snapshot.successfulJobsHistoryLimit': '3' }, at: '/jobs/snapshot/successfulJobsHistoryLimit', keyword: 'type' },
    { why: 'negative history limit', set: { 'jobs.sweep.failedJobsHistoryLimit': -1 }, at: '/jobs/sweep/failedJobsHistoryLimit', keyword: 'minimum' },
    { why: 'fractional backoffLimit', set: { 'jobs.metrics.backoffLimit': 1.5 }, at: '/jobs/metrics/backoffLimit', keyword: 'type' },
    { why: 'boolean as a string', set: { allNamespaces: 'yes' }, at: '/allNamespaces', keyword: 'type' },
    { why: 'unknown concurrencyPolicy', set: { 'jobs.sweep.concurrencyPolicy': 'Sometimes' }, at: '/jobs/sweep/concurrencyPolicy', keyword: 'enum' },
    { why: 'unknown restore mode', set: { 'restore.mode': 'merge' }, at: '/restore/mode', keyword: 'enum' },
    { why: 'numeric extra arg (args must be strings)', set: { 'jobs.sweep.extraArgs': ['--max-delete', 500] }, at: '/jobs/sweep/extraArgs/1', keyword: 'type' },
    { why: 'env entry without a name', set: { env: [{ value: 'x' }] }, at: '/env/0', keyword: 'required' },
    { why: 'namespace that is not a DNS label', set: { namespaces: ['Team_A'] }, at: '/namespaces/0', keyword: 'pattern' },
    { why: 'restore from outside the snapshot volume', set: { 'restore.from': '/etc/passwd' }, at: '/restore/from', keyword: 'pattern' },
    { why: 'metrics without a Pushgateway', set: { 'jobs.metrics.enabled': true }, at: '/pushgateway/url', keyword: 'minLength' },
    { why: 'restore without a snapshot', set: { 'restore.enabled': true }, at: '/restore/from', keyword: 'minLength' },
    { why: 'allNamespaces with a namespace list', set: { allNamespaces: true, namespaces: ['a'] }, at: '/namespaces', keyword: 'maxItems' },
    { why: 'a stuckFor Prometheus does not parse', set: { 'prometheusRule.stuckFor': '1.5h' }, at: '/prometheusRule/stuckFor', keyword: 'pattern' },
    { why: 'a stuckFor with its units out of order (the CRD refuses it)', set: { 'prometheusRule.stuckFor': '30m1h' }, at: '/prometheusRule/stuckFor', keyword: 'pattern' },
    { why: 'a give-up share above 1', set: { 'prometheusRule.gaveUpRatio': 1.5 }, at: '/prometheusRule/gaveUpRatio', keyword: 'maximum' },
    { why: 'fractional hours (for: takes whole hours)', set: { 'prometheusRule.maxHoursWithoutSuccess.sweep': 1.5 }, at: '/prometheusRule/maxHoursWithoutSuccess/sweep', keyword: 'type' },
    { why: 'hours for a job that is not scheduled', set: { 'prometheusRule.maxHoursWithoutSuccess.restore': 2 }, at: '/prometheusRule/maxHoursWithoutSuccess', keyword: 'additionalProperties' },
    { why: 'a dashboard namespace that is not a DNS label', set: { 'grafanaDashboard.namespace': 'Monitoring' }, at: '/grafanaDashboard/namespace', keyword: 'pattern' },
  ];
  for (const { why, set, at, keyword } of rejected) {
    test(`rejects ${why}`, () => {
      const values = Object.entries(set).reduce((v, [path, value]) => withValue(v, path, value), defaults);
      assert.equal(validate(values), false, `${JSON.stringify(set)} was accepted`);
      const errors = validate.errors ?? [];
      assert.ok(
        errors.some((e) => e.instancePath === at && e.keyword === keyword),
        `expected ${keyword} at "${at}", got ${ajv.errorsText(errors)}`,
      );
    });
  }
});

describe('values used by the templates', () => {
  const allTemplateText = [...templates.values()].join('\n');
  const jobs = defaults.jobs as Record<string, Values>;
  // The values entries each helper is handed as `job`: every key it reads must be in each of them.
  const jobSpecOwners: Record<string, Values> = { ...jobs, restore: defaults.restore as Values };
  const podSpecOwners: Record<string, Values> = { ...jobSpecOwners, test: defaults.test as Values };

  const referenced = (text: string, prefix: string): Set<string> =>
    new Set([...text.matchAll(new RegExp(`${prefix.replace(/[.$]/g, '\\$&')}((?:\\.[A-Za-z0-9_]+)+)`, 'g'))].map((m) => (m[1] ?? '').slice(1)));
  const valuesPaths = referenced(allTemplateText, '.Values');
  const jobKeys = referenced(templates.get('cronjobs.yaml') ?? '', '$job');
  const podOwnerKeys = referenced(helpers, '.job');
  const jobSpecKeys = referenced(defineText('cmstate.jobSpec'), '.job');
  const podSpecKeys = referenced(defineText('cmstate.podSpec') + defineText('cmstate.env'), '.job');
  const optionalJobKeys = new Set([...allTemplateText.matchAll(/dig "([A-Za-z0-9_]+)" [^ ]+ \$job\b/g)].map((m) => m[1] ?? ''));

  const has = (values: Values, path: string): boolean => {
    let node: unknown = values;
    for (const key of path.split('.')) {
      if (!isMap(node) || !(key in node)) return false;
      node = node[key];
    }
    return true;
  };

  test('the templates read values through .Values, $job and .job', () => {
    assert.ok(valuesPaths.size > 20, [...valuesPaths].join(' '));
    assert.ok(jobKeys.has('schedule') && podOwnerKeys.has('resources'), 'range and helper accessors found');
    assert.match(templates.get('cronjobs.yaml') ?? '', /range \$name, \$job := \.Values\.jobs/);
  });

  test('every .Values path a template reads is declared in values.yaml', () => {
    const missing = [...valuesPaths].filter((p) => !has(defaults, p));
    assert.deepEqual(missing, []);
  });

  test('every $job.<key> the CronJob template reads is declared by every job', () => {
    for (const key of jobKeys) {
      for (const [name, job] of Object.entries(jobs)) assert.ok(key in job, `jobs.${name}.${key}`);
    }
  });

  test('keys read with dig (only some jobs have them) are declared by at least one job', () => {
    assert.deepEqual([...optionalJobKeys].sort(), ['readFeedback', 'shards']);
    assert.ok('shards' in (jobs.sweep ?? {}), 'jobs.sweep.shards');
    assert.ok('readFeedback' in (jobs.metrics ?? {}), 'jobs.metrics.readFeedback');
  });

  test('every .job.<key> the pod and Job helpers read is declared by every entry they are given', () => {
    assert.deepEqual([...podOwnerKeys].sort(), [...new Set([...jobSpecKeys, ...podSpecKeys])].sort(), 'only these helpers read .job');
    const checks: [Set<string>, Record<string, Values>][] = [
      [jobSpecKeys, jobSpecOwners],
      [podSpecKeys, podSpecOwners],
    ];
    for (const [keys, owners] of checks) {
      for (const key of keys) {
        for (const [name, owner] of Object.entries(owners)) assert.ok(key in owner, `${name}.${key}`);
      }
    }
  });

  test('every value declared in values.yaml is read by a template', () => {
    // A value is read when a template reads it, an ancestor of it (toYaml of a whole map), or, for the
    // entries of jobs, restore and test, through $job / .job / dig.
    const readPaths = [...valuesPaths];
    const isRead = (path: string): boolean => readPaths.some((p) => p === path || path.startsWith(`${p}.`) || p.startsWith(`${path}.`));
    const unread: string[] = [];
    for (const [key, value] of Object.entries(defaults)) {
      const owners = key === 'jobs' ? jobs : key === 'restore' || key === 'test' ? { [key]: value as Values } : null;
      if (!owners) {
        if (isMap(value))
          for (const child of Object.keys(value)) {
            if (!isRead(`${key}.${child}`)) unread.push(`${key}.${child}`);
          }
        else if (!isRead(key)) unread.push(key);
        continue;
      }
      for (const [name, owner] of Object.entries(owners)) {
        const prefix = key === 'jobs' ? `jobs.${name}` : key;
        for (const child of Object.keys(owner)) {
          const viaAccessor = podOwnerKeys.has(child) || (key === 'jobs' && (jobKeys.has(child) || optionalJobKeys.has(child)));
          if (!viaAccessor && !isRead(`${prefix}.${child}`)) unread.push(`${prefix}.${child}`);
        }
      }
    }
    assert.deepEqual(unread, []);
  });
});

/**
 * Template text to parseable YAML, structure kept: comments dropped, lines holding only directives
 * dropped (they render nothing or an indented block), each inline directive replaced by a scalar.
 */
function templateToYaml(text: string): string {
  return text
    .replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '')
    .split('\n')
    .filter((line) => line.replace(/\{\{[\s\S]*?\}\}/g, '').trim() !== '' || !line.includes('{{'))
    .map((line) => line.replace(/\{\{[\s\S]*?\}\}/g, 'x'))
    .join('\n');
}

describe('YAML around the template directives', () => {
  test('the line transform keeps structure and exposes broken indentation', () => {
    const ok = 'metadata:\n  name: {{ include "x" . }}-{{ .name }}\n  labels:\n    {{- include "l" . | nindent 4 }}\n    a: b\n';
    assert.deepEqual(parse(templateToYaml(ok)), { metadata: { name: 'x-x', labels: { a: 'b' } } });
    const broken = 'spec:\n  a: {{ .x }}\n b: {{ .y }}\n';
    assert.ok(parseAllDocuments(templateToYaml(broken)).some((d) => d.errors.length > 0));
  });

  const manifests = [...templates.keys()].filter((name) => name.endsWith('.yaml'));
  test('every manifest template is checked', () => {
    for (const name of ['cronjobs.yaml', 'restore-job.yaml', 'serviceaccount.yaml', 'rbac.yaml', 'pvc.yaml', 'tests/test-doctor.yaml', 'prometheusrule.yaml', 'pushgateway-cleanup-job.yaml']) {
      assert.ok(manifests.includes(name), name);
    }
  });
  for (const name of manifests) {
    test(`${name} is well-formed YAML with apiVersion and kind`, () => {
      const docs = parseAllDocuments(templateToYaml(templates.get(name) ?? ''));
      const objects = docs
        .map((doc) => {
          assert.deepEqual(doc.errors.map(String), [], name);
          return doc.toJS() as unknown;
        })
        .filter((o) => o !== null);
      assert.ok(objects.length > 0, `${name} has a manifest`);
      for (const o of objects) {
        assert.ok(isMap(o) && typeof o.apiVersion === 'string' && typeof o.kind === 'string', `${name}: ${JSON.stringify(o).slice(0, 80)}`);
      }
    });
  }
});

describe('alert rules: files/alerts/ filled in by templates/prometheusrule.yaml', () => {
  const template = templates.get('prometheusrule.yaml') ?? '';
  const jobRuleFiles = readdirSync(join(chart, 'files/alerts/jobs')).sort();
  const readAlerts = (path: string): string => readFileSync(join(chart, path), 'utf8');
  const jobScoped = [...jobRuleFiles.map((f) => `files/alerts/jobs/${f}`), ALERT_FILES.neverSucceeded];
  const groupScoped = [ALERT_FILES.states, ALERT_FILES.feedback];

  /** The `replace "${name}" <argument>` calls of one template line, as name → argument. */
  const replacements = (line: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const m of line.matchAll(/replace "\$\{([A-Za-z]+)\}" /g)) {
      const start = (m.index ?? 0) + m[0].length;
      let end = start;
      if (line[start] === '(') {
        for (let depth = 0; end < line.length; end++) {
          depth += line[end] === '(' ? 1 : line[end] === ')' ? -1 : 0;
          if (depth === 0) break;
        }
        end++;
      } else {
        while (end < line.length && !/\s/.test(line[end] ?? ' ')) end++;
      }
      out[m[1] ?? ''] = line.slice(start, end);
    }
    return out;
  };
  const pipeline = (marker: string): string => template.split('\n').find((line) => line.includes(marker)) ?? '';
  const expressions = (table: Record<string, { template: string }>): Record<string, string> => Object.fromEntries(Object.entries(table).map(([name, p]) => [name, p.template]));

  test('the template replaces each placeholder with what the promtool rendering substitutes', () => {
    assert.deepEqual(replacements(pipeline('$rules | replace')), expressions(JOB_PLACEHOLDERS), 'per job, namespace and shard');
    assert.deepEqual(replacements(pipeline('.rules | replace')), expressions(GROUP_PLACEHOLDERS), 'per group');
    assert.equal(template.match(/replace "\$\{/g)?.length, Object.keys({ ...JOB_PLACEHOLDERS, ...GROUP_PLACEHOLDERS }).length, 'no other replace');
  });

  test('the files use exactly the placeholders the template replaces, the per-job ones only in job rules', () => {
    const used = (files: string[]): string[] => [...new Set(files.flatMap((f) => placeholdersIn(readAlerts(f))))].sort();
    const group = Object.keys(GROUP_PLACEHOLDERS);
    assert.deepEqual(
      used(groupScoped).filter((name) => !group.includes(name)),
      [],
      'the state rules are not per job',
    );
    assert.deepEqual([...new Set([...used(jobScoped), ...used(groupScoped)])].sort(), [...Object.keys(JOB_PLACEHOLDERS), ...group].sort());
  });

  test('the template reads exactly the files the promtool rendering reads, with .Files.Get and not tpl', () => {
    const read = [...template.matchAll(/Files\.Get (?:\(printf )?"([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(read)].sort(), Object.values(ALERT_FILES).sort());
    assert.doesNotMatch(template, /\btpl\b/);
  });

  test('every CronJob job has its rule file and its maxHoursWithoutSuccess, and nothing else does', () => {
    const jobNames = Object.keys(defaults.jobs as Values).sort();
    assert.deepEqual(
      jobRuleFiles.map((f) => f.replace(/\.yaml$/, '')),
      jobNames,
    );
    assert.deepEqual(Object.keys((defaults.prometheusRule as Values).maxHoursWithoutSuccess as Values).sort(), jobNames);
  });

  test('every rule is an alert with a for, the chart severity, a summary and a description', () => {
    const names: string[] = [];
    for (const file of [...jobScoped, ...groupScoped]) {
      const rules = parse(readAlerts(file)) as Values[];
      assert.ok(Array.isArray(rules) && rules.length > 0, file);
      for (const rule of rules) {
        assert.match(String(rule.alert), /^Cmstate[A-Z][A-Za-z]+$/, file);
        names.push(String(rule.alert));
        assert.equal(typeof rule.expr, 'string', `${file}: ${String(rule.alert)}`);
        assert.equal(typeof rule.for, 'string', `${file}: ${String(rule.alert)}`);
        assert.equal((rule.labels as Values).severity, '${severity}', `${file}: ${String(rule.alert)}`);
        const annotations = rule.annotations as Values;
        assert.deepEqual(Object.keys(annotations).sort(), ['description', 'summary'], `${file}: ${String(rule.alert)}`);
      }
    }
    assert.ok(names.includes('CmstateSweepNotSucceeding'), 'the sweep alert keeps its name');
  });

  test('a job rule is per grouping key: job, namespace and shard in its selector and in its labels', () => {
    // Static labels make the copies for each namespace and shard distinct rules (promtool lints duplicates).
    for (const file of jobScoped) {
      for (const rule of parse(readAlerts(file)) as Values[]) {
        assert.match(String(rule.expr), /\{job="cmstate-[^"]+",namespace="\$\{namespace\}",shard="\$\{shard\}"\}/, file);
        assert.deepEqual(Object.keys(rule.labels as Values).sort(), ['job', 'namespace', 'severity', 'shard'], file);
      }
    }
  });
});

test('Chart.yaml appVersion is the package version', () => {
  const chartYaml = readYaml(join(chart, 'Chart.yaml')) as Values;
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
  assert.equal(chartYaml.apiVersion, 'v2');
  assert.equal(chartYaml.name, 'cmstate');
  assert.equal(chartYaml.appVersion, pkg.version);
});

describe('restricted Pod Security Standard', () => {
  const pod = parse(defineBody('cmstate.podSecurityContext')) as Values;
  const container = parse(defineBody('cmstate.containerSecurityContext')) as Values;

  test('the container security context has every restricted field', () => {
    assert.equal(container.allowPrivilegeEscalation, false);
    assert.deepEqual(container.capabilities, { drop: ['ALL'] });
    assert.equal(container.runAsNonRoot, true);
    assert.equal(container.readOnlyRootFilesystem, true);
    assert.equal(container.privileged, false);
    assert.deepEqual(container.seccompProfile, { type: 'RuntimeDefault' });
    assert.ok(typeof container.runAsUser === 'number' && container.runAsUser > 0);
  });

  test('the pod security context is non-root with RuntimeDefault seccomp', () => {
    assert.equal(pod.runAsNonRoot, true);
    assert.deepEqual(pod.seccompProfile, { type: 'RuntimeDefault' });
    assert.equal(pod.runAsUser, container.runAsUser);
  });

  test('every pod uses both contexts and a writable /tmp', () => {
    assert.match(helpers, /securityContext:\n\s+\{\{- include "cmstate.podSecurityContext"/);
    assert.match(helpers, /securityContext:\n\s+\{\{- include "cmstate.containerSecurityContext"/);
    assert.match(helpers, /- name: tmp\n\s+mountPath: \/tmp/);
    assert.match(helpers, /- name: tmp\n\s+emptyDir:/);
    for (const [name, text] of templates) {
      if (/kind: (Pod|Job|CronJob)\b/.test(text)) assert.match(text, /include "cmstate\.(podSpec|jobSpec)"/, name);
    }
  });

  test('the image runs as the UID the chart declares', () => {
    const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, new RegExp(`^USER ${String(container.runAsUser)}:${String(container.runAsGroup)}$`, 'm'));
  });
});

describe('RBAC', () => {
  // What each job may do, as doctor checks it; the chart grants the union over the enabled jobs and nothing else.
  const table = parse(defineBody('cmstate.rbacVerbs')) as Values;

  test('the chart grants exactly the verbs of the job descriptors (what doctor checks)', () => {
    const descriptors = { ...Object.fromEntries(DEPLOYED_JOBS.map((job) => [job.name, job.access])), metricsFeedback: METRICS_WITH_FEEDBACK_ACCESS, everyJob: EVERY_JOB_ACCESS };
    assert.deepEqual(table, JSON.parse(JSON.stringify(descriptors)));
  });

  test("the jobs that mount the snapshot volume are one list, the descriptors' (snapshots: true)", () => {
    assert.deepEqual(
      defineBody('cmstate.snapshotJobs').trim().split(' ').sort(),
      DEPLOYED_JOBS.filter((job) => job.snapshots)
        .map((job) => job.name)
        .sort(),
    );
    for (const name of ['cronjobs.yaml', 'restore-job.yaml']) assert.match(templates.get(name) ?? '', /"snapshots" \(has [^)]*\(splitList " " \(include "cmstate\.snapshotJobs" \$\)\)\)/, name);
    assert.match(helpers, /range \$name := splitList " " \(include "cmstate\.snapshotJobs" \$\)/, 'cmstate.usesSnapshots reads the list');
  });

  test('the chart deploys exactly the jobs the descriptors say: its CronJobs, and the restore Job', () => {
    assert.deepEqual(
      Object.keys(defaults.jobs as Values).sort(),
      DEPLOYED_JOBS.filter((job) => job.deployed === 'cronjob')
        .map((job) => job.name)
        .sort(),
    );
    assert.deepEqual(
      DEPLOYED_JOBS.filter((job) => job.deployed === 'job').map((job) => job.name),
      ['restore'],
    );
    for (const job of DEPLOYED_JOBS) assert.ok(job.name in table, job.name);
  });

  test('the rules are built from the table, for enabled jobs only', () => {
    assert.match(helpers, /include "cmstate\.rbacVerbs" \. \| fromYaml/);
    assert.match(helpers, /if \$job\.enabled \}\}\n\{\{- \$grants = append \$grants \$name/);
    assert.match(templates.get('rbac.yaml') ?? '', /include "cmstate\.rbacRules"/);
    assert.doesNotMatch(templates.get('rbac.yaml') ?? '', /"\*"|\[\*\]/);
  });
});

describe('downward API env', () => {
  type EnvVar = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } };
  const env = parse(templateToYaml(defineText('cmstate.env'))) as EnvVar[];
  const fieldRefs = Object.fromEntries(env.filter((e) => e.valueFrom?.fieldRef).map((e) => [e.name, e.valueFrom!.fieldRef!.fieldPath]));

  test("every pod gets its own and its Job's identity, the names the runner reads", () => {
    assert.deepEqual(fieldRefs, {
      [WORKLOAD_ENV.podNamespace]: 'metadata.namespace',
      [WORKLOAD_ENV.podName]: 'metadata.name',
      [WORKLOAD_ENV.podUid]: 'metadata.uid',
      // Set by the Job controller on its pods since Kubernetes 1.27, the chart's floor.
      [WORKLOAD_ENV.jobName]: "metadata.labels['batch.kubernetes.io/job-name']",
      [WORKLOAD_ENV.jobUid]: "metadata.labels['batch.kubernetes.io/controller-uid']",
    });
  });

  test('the names are outside the CMSTATE_ prefix, which the CLI reads as options', () => {
    assert.ok(
      Object.keys(fieldRefs).every((name) => !name.startsWith('CMSTATE_')),
      Object.keys(fieldRefs).join(', '),
    );
  });

  test('the CronJob pod template passes it: cronjobs → jobSpec → podSpec → env', () => {
    assert.match(templates.get('cronjobs.yaml') ?? '', /include "cmstate\.jobSpec" \$ctx/);
    assert.match(defineText('cmstate.jobSpec'), /include "cmstate\.podSpec" \./);
    assert.match(defineText('cmstate.podSpec'), /with include "cmstate\.env" \. \| trim \}\}\n\s+env:/);
  });
});

describe('Job pod failure policy', () => {
  // The policy holds no directives, so the line transform gives its values exactly.
  const jobSpec = parse(templateToYaml(defineText('cmstate.jobSpec'))) as Values;
  const podSpec = parse(templateToYaml(defineText('cmstate.podSpec'))) as Values;
  const rules = (jobSpec.podFailurePolicy as { rules: Values[] }).rules;
  const containerNames = (podSpec.containers as Values[]).map((c) => c.name);
  // The tests restate the API server's validation of a batch/v1 PodFailurePolicy
  // (pkg/apis/batch/validation); a condition type is a qualified name, like a label key.
  const qualifiedName = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

  test('every onPodConditions pattern has a type and a status True, False or Unknown', () => {
    const patterns = rules.flatMap((rule) => (rule.onPodConditions ?? []) as Values[]);
    assert.ok(patterns.length > 0);
    for (const pattern of patterns) {
      assert.match(String(pattern.type), qualifiedName);
      assert.ok(['True', 'False', 'Unknown'].includes(pattern.status as string), `status ${JSON.stringify(pattern.status)} of ${String(pattern.type)}`);
    }
  });

  test('every rule has an action valid without backoffLimitPerIndex and exactly one requirement', () => {
    for (const rule of rules) {
      // FailIndex would need backoffLimitPerIndex, which the chart does not set.
      assert.ok(['FailJob', 'Ignore', 'Count'].includes(rule.action as string), String(rule.action));
      assert.ok((rule.onExitCodes === undefined) !== (rule.onPodConditions === undefined), JSON.stringify(rule));
    }
  });

  test("onExitCodes names the pod's container and lists ordered, distinct, non-zero codes", () => {
    for (const { onExitCodes } of rules.filter((rule) => rule.onExitCodes !== undefined) as { onExitCodes: Values }[]) {
      assert.ok(['In', 'NotIn'].includes(onExitCodes.operator as string));
      assert.ok(containerNames.includes(onExitCodes.containerName), String(onExitCodes.containerName));
      const codes = onExitCodes.values as number[];
      assert.ok(codes.length > 0 && codes.length <= 255 && codes.every(Number.isInteger));
      assert.ok(
        codes.every((code, i) => i === 0 || (codes[i - 1] ?? code) < code),
        `${codes.join(',')} must be ordered and distinct`,
      );
      if (onExitCodes.operator === 'In') assert.ok(!codes.includes(0));
    }
    assert.equal(podSpec.restartPolicy, 'Never', 'a pod failure policy requires restartPolicy Never');
  });

  test('fails the Job on the usage and refusal exit codes and ignores disruptions', () => {
    assert.deepEqual(rules, [
      { action: 'FailJob', onExitCodes: { containerName: 'cmstate', operator: 'In', values: [ExitCode.usage, ExitCode.refused] } },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    ]);
  });
});

describe('supported Kubernetes versions', () => {
  const chartText = readFileSync(join(chart, 'Chart.yaml'), 'utf8');
  const kubeVersion = (parse(chartText) as Values).kubeVersion;
  const floor = Number(/^>=1\.(\d+)\.0-0$/.exec(String(kubeVersion))?.[1]);
  // `helm template` without --kube-version checks kubeVersion against the Kubernetes version helm was
  // built for: v1.30.0 for helm 3.15 releases (client-go v0.30).
  const helmTemplateDefault = 30;

  // The minor version from which each field the chart emits is GA in the API reference ("21": in 1.21
  // or earlier; batch/v1 CronJob, the newest API the chart uses, went GA in 1.21). metadata,
  // apiVersion and kind are left out, and so is the PrometheusRule CRD.
  const gaSince: Record<number, string> = {
    21: `CronJob.spec.schedule CronJob.spec.suspend CronJob.spec.concurrencyPolicy
      CronJob.spec.startingDeadlineSeconds CronJob.spec.successfulJobsHistoryLimit
      CronJob.spec.failedJobsHistoryLimit CronJob.spec.jobTemplate.spec Job.spec Pod.spec
      JobSpec.backoffLimit JobSpec.activeDeadlineSeconds JobSpec.completions JobSpec.parallelism JobSpec.template.spec
      PodSpec.restartPolicy PodSpec.automountServiceAccountToken PodSpec.serviceAccountName PodSpec.securityContext
      PodSpec.imagePullSecrets PodSpec.nodeSelector PodSpec.tolerations PodSpec.affinity
      PodSpec.containers.name PodSpec.containers.image PodSpec.containers.imagePullPolicy PodSpec.containers.args
      PodSpec.containers.env PodSpec.containers.resources PodSpec.containers.securityContext
      PodSpec.containers.volumeMounts.name PodSpec.containers.volumeMounts.mountPath
      PodSpec.volumes.name PodSpec.volumes.persistentVolumeClaim.claimName
      PodSecurityContext.runAsNonRoot PodSecurityContext.runAsUser PodSecurityContext.runAsGroup
      PodSecurityContext.fsGroup PodSecurityContext.seccompProfile.type
      SecurityContext.runAsNonRoot SecurityContext.runAsUser SecurityContext.runAsGroup SecurityContext.privileged
      SecurityContext.allowPrivilegeEscalation SecurityContext.readOnlyRootFilesystem
      SecurityContext.capabilities.drop SecurityContext.seccompProfile.type EnvVar.name EnvVar.value
      EnvVar.valueFrom.fieldRef.fieldPath
      PersistentVolumeClaim.spec.accessModes PersistentVolumeClaim.spec.storageClassName
      PersistentVolumeClaim.spec.resources.requests.storage
      Role.rules ClusterRole.rules PolicyRule.apiGroups PolicyRule.resources PolicyRule.verbs
      Role.rules.apiGroups Role.rules.resources Role.rules.verbs
      RoleBinding.roleRef.apiGroup RoleBinding.roleRef.kind RoleBinding.roleRef.name
      RoleBinding.subjects.kind RoleBinding.subjects.name RoleBinding.subjects.namespace
      ClusterRoleBinding.roleRef.apiGroup ClusterRoleBinding.roleRef.kind ClusterRoleBinding.roleRef.name
      ClusterRoleBinding.subjects.kind ClusterRoleBinding.subjects.name ClusterRoleBinding.subjects.namespace
      ConfigMap.data`,
    23: 'JobSpec.ttlSecondsAfterFinished PodSecurityContext.fsGroupChangePolicy',
    24: 'JobSpec.completionMode',
    // The field is older; the limit is enforced since LocalStorageCapacityIsolation went GA.
    25: 'PodSpec.volumes.emptyDir.sizeLimit',
    27: 'CronJob.spec.timeZone',
    // Matching DisruptionTarget also needs the PodDisruptionConditions gate, GA in 1.31 too.
    31: `JobSpec.podFailurePolicy.rules.action JobSpec.podFailurePolicy.rules.onExitCodes.containerName
      JobSpec.podFailurePolicy.rules.onExitCodes.operator JobSpec.podFailurePolicy.rules.onExitCodes.values
      JobSpec.podFailurePolicy.rules.onPodConditions.type JobSpec.podFailurePolicy.rules.onPodConditions.status`,
  };
  const minorOf = new Map(
    Object.entries(gaSince).flatMap(([minor, fields]) =>
      fields
        .split(/\s+/)
        .filter(Boolean)
        .map((f) => [f, Number(minor)] as const),
    ),
  );

  // A key right under `if semverCompare ">=1.N.0-0" ...KubeVersion.Version` is renamed key@N, so the
  // paths below carry the version each field is gated on.
  const gate = /^[ \t]*\{\{-?\s*if semverCompare ">=1\.(\d+)\.0-0" \S*\.Capabilities\.KubeVersion\.Version\s*-?\}\}\n([ \t]*)([A-Za-z]+):/gm;
  // Maps whose keys are the user's data, not API fields: one field each.
  const opaque = new Set(['ConfigMap.data']);
  const leafPaths = (node: unknown, path: string): string[] => {
    const maps = (Array.isArray(node) ? node : [node]).filter(isMap);
    if (maps.length === 0 || opaque.has(path)) return [path];
    return maps.flatMap((m) =>
      Object.entries(m)
        .filter(([key]) => key !== 'metadata')
        .flatMap(([key, value]) => leafPaths(value, `${path}.${key}`)),
    );
  };
  /** The leaf fields a template text emits, each prefixed by `type` or else by its document's kind. */
  const emitted = (text: string, type?: string): string[] =>
    parseAllDocuments(templateToYaml(text.replace(gate, '$2$3@$1:'))).flatMap((doc) => {
      const object = doc.toJS() as unknown;
      if (type) return object === null ? [] : leafPaths(object, type);
      if (!isMap(object) || object.kind === 'PrometheusRule') return [];
      const { apiVersion: _apiVersion, kind, ...fields } = object;
      return leafPaths(fields, String(kind));
    });
  // The helpers that emit API fields, by the API type they emit; the others emit names and labels.
  const fieldHelpers: Record<string, string> = {
    'cmstate.jobSpec': 'JobSpec',
    'cmstate.podSpec': 'PodSpec',
    'cmstate.podSecurityContext': 'PodSecurityContext',
    'cmstate.containerSecurityContext': 'SecurityContext',
    'cmstate.env': 'EnvVar',
    'cmstate.rbacRules': 'PolicyRule',
  };
  const otherHelpers = [
    'name',
    'fullname',
    'chart',
    'labels',
    'selectorLabels',
    'serviceAccountName',
    'image',
    'scopes',
    'resourceName',
    'snapshotJobs',
    'usesSnapshots',
    'snapshotsClaimName',
    'rbacVerbs',
  ].map((n) => `cmstate.${n}`);
  const fields = [
    ...Object.entries(fieldHelpers).flatMap(([name, type]) => emitted(defineText(name), type)),
    ...[...templates].filter(([name]) => name.endsWith('.yaml')).flatMap(([, text]) => emitted(text)),
  ];
  const unmarked = (path: string): string => path.replace(/@\d+/g, '');
  const gatedAt = (path: string): number => Math.max(0, ...[...path.matchAll(/@(\d+)/g)].map((m) => Number(m[1])));

  test('Chart.yaml declares kubeVersion ">=1.N.0-0", a floor plain `helm template` admits', () => {
    // A pre-release version (v1.32.13-gke.1200, v1.31.7-eks-4096722) satisfies a helm range only if
    // the range has a pre-release too: hence "-0".
    assert.ok(floor > 0, `kubeVersion ${JSON.stringify(kubeVersion)}`);
    assert.ok(floor <= helmTemplateDefault, `1.${floor} is above helm 3.15's default v1.${helmTemplateDefault}.0`);
  });

  test('the Chart.yaml comment states the same floor', () => {
    assert.match(chartText, new RegExp(`^# Kubernetes 1\\.${floor}\\+`, 'm'));
  });

  test('every helper is classified as emitting API fields or not', () => {
    const defines = [...helpers.matchAll(/\{\{- define "([^"]+)" -\}\}/g)].map((m) => m[1]);
    assert.deepEqual(defines.sort(), [...Object.keys(fieldHelpers), ...otherHelpers].sort());
  });

  test('every field the chart emits has a GA version, and the table lists no other', () => {
    assert.deepEqual([...new Set(fields.map(unmarked))].sort(), [...minorOf.keys()].sort());
  });

  test('a field newer than the floor is rendered only behind a version gate for it', () => {
    const ungated = fields.filter((f) => (minorOf.get(unmarked(f)) ?? 0) > Math.max(floor, gatedAt(f)));
    assert.deepEqual(ungated, [], `GA after 1.${floor}: raise kubeVersion or gate them`);
  });

  test('no version gate is at or below the floor (it would always be true)', () => {
    const gates = [...fields.join(' ').matchAll(/@(\d+)/g)].map((m) => Number(m[1]));
    assert.ok(
      gates.every((minor) => minor > floor),
      gates.join(','),
    );
  });

  test('every semverCompare gates on the cluster version with a range that admits vendor builds', () => {
    const all = [...templates.values()].join('\n');
    const compares = all.match(/semverCompare/g) ?? [];
    const gates = all.match(/semverCompare ">=1\.\d+\.0-0" \S*\.Capabilities\.KubeVersion\.Version/g) ?? [];
    assert.equal(gates.length, compares.length);
  });

  test('the PrometheusRule (a CRD) is rendered only where the cluster serves it', () => {
    assert.match(templates.get('prometheusrule.yaml') ?? '', /^\{\{- if and \.Values\.prometheusRule\.enabled \(\.Capabilities\.APIVersions\.Has "monitoring\.coreos\.com\/v1"\) \}\}/);
  });
});
