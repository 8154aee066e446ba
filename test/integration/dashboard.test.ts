// The chart's Grafana dashboard against real data: `cmstate demo --pushgateway` runs every job
// against the embedded API server and pushes to a real Pushgateway, a real Prometheus scrapes it
// (honor_labels, as the README asks), and every query of every panel must return data through
// Prometheus's HTTP API. The same answers are drawn into the README's picture (docs/dashboard.png,
// rewritten with CMSTATE_UPDATE_DASHBOARD_PNG=1).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli } from '../support/cli.js';
import { eventually } from '../support/cluster.js';
import { instantSeries, rangeSeries, renderDashboard, renderPng, type Dashboard, type DashboardTarget, type PanelSeries } from '../support/dashboard-render.js';
import { PROMETHEUS_MISSING, startPrometheus, type PrometheusProcess } from '../support/prometheus.js';
import { findSamples, parseExposition, PUSHGATEWAY_MISSING, startPushgateway, type PushgatewayProcess } from '../support/pushgateway.js';

const repo = path.resolve(import.meta.dirname, '../..');
const dashboard = JSON.parse(readFileSync(path.join(repo, 'charts/cmstate/files/grafana-dashboard.json'), 'utf8')) as Dashboard;
const panels = dashboard.panels.filter((p) => p.type !== 'row');
/** The namespace `cmstate demo` seeds and works in. */
const NAMESPACE = 'demo';

const gateway = await startPushgateway();
const prometheus = gateway ? await startPrometheus([new URL(gateway.url).host]) : undefined;
after(async () => {
  await prometheus?.stop();
  await gateway?.stop();
});

/** The query Grafana sends with the namespace variable set to the demo's namespace. */
function interpolate(expr: string): string {
  return expr.replace(/\$\{namespace\}|\$namespace\b|\[\[namespace\]\]/g, NAMESPACE);
}

describe('the Grafana dashboard on a real Prometheus', { skip: !gateway ? PUSHGATEWAY_MISSING : !prometheus ? PROMETHEUS_MISSING : false }, () => {
  const pushgateway = gateway as PushgatewayProcess;
  const server = prometheus as PrometheusProcess;
  /** The time range the panels show: from the demo's start to `at`, when every query is asked. */
  let from = 0;
  let at = 0;

  before(async () => {
    from = Math.floor(Date.now() / 1000);
    const demo = await cli(['demo', '--pushgateway', pushgateway.url]);
    assert.equal(demo.code, 0, demo.stderr);
    await scrapedAsPushed(pushgateway, server);
    // A few more scrapes, so the time series panels draw lines rather than points.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    at = Math.floor(Date.now() / 1000);
  });

  test('the namespace variable lists the demo namespace', async () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'namespace');
    const match = /^label_values\((\w+), (\w+)\)$/.exec(variable?.definition ?? '');
    assert.ok(match, `label_values(metric, label), not ${variable?.definition}`);
    assert.ok((await server.labelValues(match[2]!, match[1]!)).includes(NAMESPACE));
  });

  for (const panel of panels) {
    for (const target of panel.targets ?? []) {
      test(`panel "${panel.title}" ${target.refId} has data: ${target.expr}`, async () => {
        const series = await query(server, target, from, at);
        assert.ok(series.length > 0, `panel "${panel.title}" ${target.refId}: no series for ${interpolate(target.expr)}`);
        assert.ok(
          series.some((s) => Number.isFinite(s.value)),
          `panel "${panel.title}" ${target.refId}: only NaN (histogram_quantile of empty buckets) for ${interpolate(target.expr)}: ${JSON.stringify(series)}`,
        );
      });
    }
  }

  test('draws the panels from the same answers (docs/dashboard.png with CMSTATE_UPDATE_DASHBOARD_PNG=1)', async (t) => {
    const data = new Map<number, PanelSeries[]>();
    for (const panel of panels) data.set(panel.id, (await Promise.all((panel.targets ?? []).map((target) => query(server, target, from, at)))).flat());
    const svg = renderDashboard(dashboard, data, {
      subtitle: `cmstate demo --pushgateway: every job pushed to a Pushgateway, scraped by Prometheus; ${new Date(at * 1000).toISOString().slice(0, 16)}Z`,
      variables: { datasource: 'Prometheus', namespace: NAMESPACE },
      from,
      to: at,
    });
    const png = renderPng(svg);
    assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
    // One fixed place, overwritten by every run: the last picture is always there to look at.
    const dir = path.join(tmpdir(), 'cmstate-dashboard');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'dashboard.svg'), svg);
    await writeFile(path.join(dir, 'dashboard.png'), png);
    t.diagnostic(`dashboard picture: ${path.join(dir, 'dashboard.png')}`);
    if (process.env.CMSTATE_UPDATE_DASHBOARD_PNG === '1') {
      await mkdir(path.join(repo, 'docs'), { recursive: true });
      await writeFile(path.join(repo, 'docs/dashboard.png'), png);
      t.diagnostic('wrote docs/dashboard.png');
    }
  });
});

/**
 * What a panel draws for one target: an instant query at `at` (stat, bar gauge), or a range query
 * over [from, at] every second for the time series panels.
 */
async function query(server: PrometheusProcess, target: DashboardTarget, from: number, at: number): Promise<PanelSeries[]> {
  const expr = interpolate(target.expr);
  if (target.range) return rangeSeries(target, await server.queryRange(expr, from, at, 1));
  return instantSeries(target, await server.query(expr, at));
}

/** Waits until Prometheus holds every group as last pushed (its push_time_seconds scraped). */
async function scrapedAsPushed(pushgateway: PushgatewayProcess, server: PrometheusProcess): Promise<void> {
  const group = (labels: Record<string, string>) =>
    JSON.stringify(
      Object.entries(labels)
        .filter(([name, value]) => name !== '__name__' && value !== '')
        .sort(),
    );
  const pushed = findSamples(parseExposition(await pushgateway.scrape()), 'push_time_seconds');
  assert.ok(pushed.length > 0, 'the demo pushed nothing');
  await eventually(
    'Prometheus to scrape the last pushes',
    async () => {
      const scraped = new Map((await server.query('push_time_seconds')).map((s) => [group(s.labels), s.value]));
      return pushed.every((p) => Math.abs((scraped.get(group(p.labels)) ?? 0) - p.value) < 1e-3) ? true : undefined;
    },
    20_000,
  );
}
