// The chart's Grafana dashboard, checked without Grafana: the JSON's structure, every query on the
// chosen data source and on metrics the README documents, and the ConfigMap that ships it. That
// every query returns data is test/integration/dashboard.test.ts's part, on a real Prometheus.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import type { Dashboard } from '../support/dashboard-render.js';

const repo = path.resolve(import.meta.dirname, '../..');
const chart = path.join(repo, 'charts/cmstate');
const json = readFileSync(path.join(chart, 'files/grafana-dashboard.json'), 'utf8');
const dashboard = JSON.parse(json) as Dashboard;
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const targets = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** The metrics the README's "## Metrics" tables document, and which of them are histograms. */
function documentedMetrics(): { names: Set<string>; histograms: Set<string> } {
  const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
  const section = /^## Metrics\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
  const rows = [...section.matchAll(/^\| `(cmstate_[a-z0-9_]+)`.*$/gm)];
  return {
    names: new Set(rows.map((row) => row[1]!)),
    histograms: new Set(rows.filter((row) => /histogram/i.test(row[0])).map((row) => row[1]!)),
  };
}

describe('the Grafana dashboard JSON', () => {
  test('is the cmstate dashboard, in a schema version current Grafana reads', () => {
    assert.equal(dashboard.uid, 'cmstate');
    assert.equal(dashboard.title, 'cmstate');
    assert.ok(dashboard.schemaVersion >= 39, String(dashboard.schemaVersion));
    assert.equal((dashboard as { id?: unknown }).id, null, 'no id: Grafana assigns one on import');
  });

  test('panel ids are unique, and refIds within each panel', () => {
    const ids = dashboard.panels.map((p) => p.id);
    assert.deepEqual(ids, [...new Set(ids)]);
    for (const panel of panels) {
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      assert.deepEqual(refIds, [...new Set(refIds)], panel.title);
    }
  });

  test('panels fit the 24-column grid without overlapping', () => {
    const cells = new Map<string, string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      assert.ok(x >= 0 && w > 0 && h > 0 && x + w <= 24, `${panel.title}: ${JSON.stringify(panel.gridPos)}`);
      for (let row = y; row < y + h; row++) {
        for (let column = x; column < x + w; column++) {
          const other = cells.get(`${column},${row}`);
          assert.equal(other, undefined, `"${panel.title}" overlaps "${other}"`);
          cells.set(`${column},${row}`, panel.title);
        }
      }
    }
  });

  test('a data source variable for Prometheus, and a namespace variable from the state gauges', () => {
    const [datasource, namespace] = dashboard.templating.list as Record<string, unknown>[];
    assert.deepEqual([datasource?.name, datasource?.type, datasource?.query], ['datasource', 'datasource', 'prometheus']);
    assert.deepEqual([namespace?.name, namespace?.type, namespace?.definition], ['namespace', 'query', 'label_values(cmstate_task_states, namespace)']);
    assert.deepEqual([namespace?.multi, namespace?.includeAll, namespace?.allValue], [true, true, '.*']);
    assert.deepEqual(namespace?.datasource, DATASOURCE);
  });

  test('every panel queries ${datasource} and has a target with an expression', () => {
    assert.ok(panels.length >= 20, String(panels.length));
    for (const panel of panels) {
      assert.deepEqual(panel.datasource, DATASOURCE, panel.title);
      assert.ok((panel.targets ?? []).length > 0, `${panel.title}: no target`);
      for (const target of panel.targets ?? []) {
        assert.deepEqual((target as { datasource?: unknown }).datasource, DATASOURCE, `${panel.title} ${target.refId}`);
        assert.ok(target.expr.trim(), `${panel.title} ${target.refId}: empty expr`);
        assert.ok(target.instant !== target.range, `${panel.title} ${target.refId}: instant or range`);
      }
    }
  });

  test('every query filters on the namespace variable', () => {
    for (const { panel, target } of targets) {
      for (const selector of target.expr.matchAll(/\bcmstate_[a-z0-9_]+(\{[^}]*\})?/g)) {
        assert.match(selector[1] ?? '', /namespace=~"\$namespace(\|_all)?"/, `${panel.title} ${target.refId}: ${selector[0]}`);
      }
    }
  });

  test('the job panels include the run metrics of --all-namespaces runs (namespace="_all"); the state panels have none', () => {
    for (const { panel, target } of targets) {
      const runMetric = /\bcmstate_job_/.test(target.expr);
      assert.equal(target.expr.includes('$namespace|_all'), runMetric, `${panel.title}: ${target.expr}`);
    }
  });

  test('every metric a query uses is one the README documents (histograms with _bucket, _sum, _count)', () => {
    const { names, histograms } = documentedMetrics();
    assert.ok(names.has('cmstate_task_states') && names.has('cmstate_job_actions'), `README tables not found: ${[...names].join(' ')}`);
    const unknown = targets.flatMap(({ panel, target }) =>
      [...target.expr.matchAll(/\bcmstate_[a-z0-9_]+/g)]
        .map((m) => m[0])
        .filter((name) => !names.has(name) && !histograms.has(name.replace(/_(bucket|sum|count)$/, '')))
        .map((name) => `${panel.title}: ${name}`),
    );
    assert.deepEqual(unknown, []);
  });

  test('no rate() or increase(): the pushed metrics describe the last run or the current states, they are not counters', () => {
    for (const { panel, target } of targets) assert.doesNotMatch(target.expr, /\b(i?rate|increase|delta|idelta)\(/, `${panel.title}: ${target.expr}`);
  });

  test('legends name their series by label', () => {
    for (const { panel, target } of targets) {
      const grouped = /\b(?:by|without) \(([^)]*)\)/.exec(target.expr)?.[1];
      if (grouped && grouped.split(',').some((l) => l.trim() !== 'le')) assert.match(target.legendFormat ?? '', /\{\{\w+\}\}/, `${panel.title} ${target.refId}`);
    }
  });
});

describe('the dashboard ConfigMap template', () => {
  const template = readFileSync(path.join(chart, 'templates/grafana-dashboard.yaml'), 'utf8');

  test('is off unless grafanaDashboard.enabled, and inserts the JSON untemplated', () => {
    assert.match(template, /^\{\{- if \.Values\.grafanaDashboard\.enabled \}\}\n/);
    // .Files.Get, never tpl: the legends' {{job}} are Grafana's, not Helm's.
    assert.match(template, /^ {2}cmstate\.json: \|-\n {4}\{\{- \.Files\.Get "files\/grafana-dashboard\.json" \| nindent 4 \}\}$/m);
    assert.doesNotMatch(template, /\btpl\b/);
  });

  test('values.yaml ships it off, with the sidecar label', () => {
    const values = parse(readFileSync(path.join(chart, 'values.yaml'), 'utf8')) as { grafanaDashboard?: Record<string, unknown> };
    assert.deepEqual(values.grafanaDashboard, { enabled: false, namespace: '', labels: { grafana_dashboard: '1' }, annotations: {} });
  });

  test('the rendered ConfigMap stays well under the 1 MiB object limit', () => {
    // The JSON indented by four spaces per line, plus metadata (names, labels, annotations: a few KiB).
    const data = json.split('\n').reduce((bytes, line) => bytes + Buffer.byteLength(line) + 5, 0);
    assert.ok(data + 16 * 1024 < 1024 * 1024, `${data} bytes of data`);
    assert.ok(data < 512 * 1024, `${data} bytes: past half the limit, consider splitting the dashboard`);
  });
});
