// The chart's alerts proven with Prometheus' own promtool (Debian's `prometheus` package): every
// test/alerts/<name>.yaml is a `promtool test rules` file run against the rules the chart renders
// with ci/<name>-values.yaml (release "cmstate" in namespace "tasks"), written next to it as
// <name>.rules.yaml by test/support/alert-rules.ts from the chart's own files/alerts/. Every alert
// must fire in some case and stay silent in another.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { access, constants, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ALERT_FILES, CHART_DIR, alertNames, chartValues, renderAlertRules, type Values } from '../support/alert-rules.js';

const PROMTOOL = '/usr/bin/promtool';
const TESTS_DIR = fileURLToPath(new URL('../alerts/', import.meta.url));
const RELEASE = { name: 'cmstate', namespace: 'tasks' };

interface RuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: unknown[];
}
interface TestFile {
  rule_files: string[];
  tests: { name?: string; alert_rule_test?: RuleTest[] }[];
}

const variants = readdirSync(TESTS_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -'.yaml'.length))
  .sort();
const testFiles = new Map(variants.map((v) => [v, parse(readFileSync(join(TESTS_DIR, `${v}.yaml`), 'utf8')) as TestFile]));
const valuesFile = (variant: string): string => join(CHART_DIR, 'ci', `${variant}-values.yaml`);
// The defaults are rendered and checked too, though no test file needs them.
const rendered = new Map(
  ['defaults', ...variants.filter((v) => existsSync(valuesFile(v)))].map((v) => {
    const overrides = v === 'defaults' ? [] : [parse(readFileSync(valuesFile(v), 'utf8')) as Values];
    return [v, renderAlertRules(chartValues(...overrides), RELEASE)];
  }),
);
const renderedAlerts = new Map([...rendered].map(([variant, rules]) => [variant, alertNames(rules)]));
const cases = [...testFiles].flatMap(([variant, file]) => file.tests.flatMap((t) => (t.alert_rule_test ?? []).map((c) => ({ variant, ...c }))));

/** Every alert the chart can render: the alert names in all of files/alerts/. */
function chartAlerts(): string[] {
  const files = [ALERT_FILES.neverSucceeded, ALERT_FILES.states, ALERT_FILES.feedback, ...readdirSync(join(CHART_DIR, 'files/alerts/jobs')).map((f) => `files/alerts/jobs/${f}`)];
  return files.flatMap((f) => (parse(readFileSync(join(CHART_DIR, f), 'utf8')) as { alert: string }[]).map((r) => r.alert)).sort();
}

/** Why promtool tests are skipped, or undefined when it is installed. In CI a missing promtool throws: they must run. */
async function promtoolMissing(): Promise<string | undefined> {
  try {
    await access(PROMTOOL, constants.X_OK);
    return undefined;
  } catch {
    if (process.env.CI) throw new Error(`${PROMTOOL} is missing but CI is set: install it (apt-get install prometheus) so the alert rules are tested`);
    return `${PROMTOOL} not installed (Debian package prometheus)`;
  }
}

async function promtool(cwd: string, ...args: string[]): Promise<void> {
  try {
    await promisify(execFile)(PROMTOOL, args, { cwd });
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    assert.fail(`promtool ${args.join(' ')} failed:\n${stdout}${stderr}`);
  }
}

describe('alert rule tests cover every alert', () => {
  test('each test file runs against the rules of its own ci/<name>-values.yaml', () => {
    assert.ok(variants.length > 0, `no test files in ${TESTS_DIR}`);
    for (const [variant, file] of testFiles) {
      assert.ok(existsSync(valuesFile(variant)), `${variant}.yaml needs ci/${variant}-values.yaml`);
      assert.deepEqual(file.rule_files, [`${variant}.rules.yaml`], variant);
    }
  });

  test('the rendered variants hold every alert of files/alerts/', () => {
    assert.deepEqual([...new Set([...renderedAlerts.values()].flat())].sort(), [...new Set(chartAlerts())].sort());
  });

  test('every case names an alert its rules file has (a silent case of a misspelt alert proves nothing)', () => {
    for (const { variant, alertname, eval_time } of cases) {
      assert.ok(renderedAlerts.get(variant)?.includes(alertname), `${variant}.yaml at ${eval_time}: ${alertname}`);
    }
  });

  test('every alert fires in one case and stays silent in another', () => {
    const missing = [...new Set(chartAlerts())].flatMap((alert) => {
      const own = cases.filter((c) => c.alertname === alert);
      const fires = own.some((c) => (c.exp_alerts ?? []).length > 0);
      const silent = own.some((c) => (c.exp_alerts ?? []).length === 0);
      return [...(fires ? [] : [`${alert} never fires`]), ...(silent ? [] : [`${alert} is never silent`])];
    });
    assert.deepEqual(missing, []);
  });
});

const skip = await promtoolMissing();

test('label values stay strings for any namespace name (2024, no, on and 1e3 are valid namespaces; the CRD wants strings)', () => {
  for (const namespace of ['2024', 'no', 'on', '1e3']) {
    const rules = renderAlertRules(chartValues({ namespaces: [namespace] }), { name: 'cmstate', namespace });
    const { groups } = parse(rules) as { groups: { rules: { labels?: Record<string, unknown> }[] }[] };
    for (const rule of groups.flatMap((g) => g.rules)) {
      for (const [label, value] of Object.entries(rule.labels ?? {})) assert.equal(typeof value, 'string', `${namespace}: label ${label} is ${JSON.stringify(value)}`);
    }
  }
});

describe('promtool', () => {
  let dir = '';

  before(async () => {
    if (skip) return;
    dir = await mkdtemp(join(tmpdir(), 'cmstate-alerts-'));
    for (const [variant, rules] of rendered) await writeFile(join(dir, `${variant}.rules.yaml`), rules);
    for (const variant of variants) await copyFile(join(TESTS_DIR, `${variant}.yaml`), join(dir, `${variant}.yaml`));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const variant of rendered.keys()) {
    test(`check rules: ${variant}.rules.yaml is valid, without duplicate rules`, { skip }, async () => {
      await promtool(dir, 'check', 'rules', '--lint=all', '--lint-fatal', `${variant}.rules.yaml`);
    });
  }

  for (const variant of variants) {
    test(`test rules: test/alerts/${variant}.yaml`, { skip }, async () => {
      await promtool(dir, 'test', 'rules', `${variant}.yaml`);
    });
  }
});
