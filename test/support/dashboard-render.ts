// The chart's Grafana dashboard drawn from real query results, for the README's picture: an SVG laid
// out on the dashboard's own grid (rows, stat, bar gauge and time series panels, Grafana's dark
// colours), rasterized by resvg. What Grafana does to a query's answer before drawing it (legend
// templates, the heatmap format's de-accumulated buckets, value mappings, thresholds, units) is done
// here the same way, so the picture shows what the dashboard would.
import { Resvg } from '@resvg/resvg-js';
import type { InstantSeries, RangeSeries } from './prometheus.js';

export interface DashboardTarget {
  refId: string;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  /** "heatmap": Prometheus histogram buckets, cumulative, turned into one count per bucket. */
  format?: string;
}

interface ThresholdStep {
  color: string;
  value: number | null;
}

interface ValueMapping {
  type: string;
  options: Record<string, { text?: string; color?: string }>;
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: DashboardTarget[];
  fieldConfig?: { defaults?: { unit?: string; min?: number; max?: number; thresholds?: { steps: ThresholdStep[] }; mappings?: ValueMapping[] } };
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: { name: string; label?: string; type: string; query?: unknown; definition?: string; datasource?: unknown }[] };
}

/** One drawn series: its legend, its value now (stat, bar gauge) and, for time series, its points. */
export interface PanelSeries {
  name: string;
  value: number;
  points?: [number, number][];
}

/** The series Grafana draws for one target's instant result: legend applied, heatmap buckets de-accumulated. */
export function instantSeries(target: DashboardTarget, result: readonly InstantSeries[]): PanelSeries[] {
  const named = result.map((s) => ({ name: legend(target, s.labels), value: s.value, le: s.labels.le }));
  if (target.format !== 'heatmap') return named.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  const buckets = named.sort((a, b) => bound(a.le) - bound(b.le));
  return buckets.map((b, i) => ({ name: b.name, value: b.value - (i > 0 ? (buckets[i - 1]?.value ?? 0) : 0) }));
}

/** The series Grafana draws for one target's range result; the value is the last point's. */
export function rangeSeries(target: DashboardTarget, result: readonly RangeSeries[]): PanelSeries[] {
  return result.map((s) => ({ name: legend(target, s.labels), value: s.points.at(-1)?.[1] ?? NaN, points: s.points })).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

function bound(le: string | undefined): number {
  return le === '+Inf' ? Infinity : Number(le);
}

function legend(target: DashboardTarget, labels: Record<string, string>): string {
  if (!target.legendFormat) return Object.keys(labels).length ? `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`)}}` : target.expr;
  return target.legendFormat.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => labels[name] ?? '');
}

export interface RenderOptions {
  /** A line under the title: where the data came from. */
  subtitle: string;
  /** The variables' values, shown as Grafana shows them above the panels. */
  variables: Record<string, string>;
  /** The time range of the time series panels (unix seconds). */
  from: number;
  to: number;
}

const WIDTH = 1800;
const PAD = 16;
const HEADER = 92;
const CELL_W = (WIDTH - 2 * PAD) / 24;
const CELL_H = 34;
const GAP = 8;
const FONT = 'DejaVu Sans';

const COLORS = {
  background: '#111217',
  panel: '#181b1f',
  border: '#2c3235',
  text: '#ccccdc',
  dim: '#8e8e99',
  unfilled: '#22252b',
  grid: '#2a2d33',
  green: '#73bf69',
  red: '#f2495c',
  orange: '#ff9830',
  yellow: '#fade2a',
  blue: '#5794f2',
  purple: '#b877d9',
} as const;
const PALETTE = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#705da0', '#37872d', '#fade2a'];

/** The dashboard as an SVG, every panel drawn from `data` (series by panel id). */
export function renderDashboard(dashboard: Dashboard, data: ReadonlyMap<number, PanelSeries[]>, options: RenderOptions): string {
  const bottom = Math.max(...dashboard.panels.map((p) => p.gridPos.y + p.gridPos.h));
  const height = HEADER + bottom * CELL_H + PAD;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}">`,
    `<rect width="${WIDTH}" height="${height}" fill="${COLORS.background}"/>`,
    text(PAD, 36, dashboard.title, { size: 24, weight: 'bold' }),
    text(PAD + 120, 36, options.subtitle, { size: 14, fill: COLORS.dim }),
    ...Object.entries(options.variables).map(([name, value], i) => {
      const label = dashboard.templating.list.find((v) => v.name === name)?.label ?? name;
      return variableBox(PAD + i * 300, 52, label, value);
    }),
  ];
  for (const panel of dashboard.panels) {
    const box = {
      x: PAD + panel.gridPos.x * CELL_W,
      y: HEADER + panel.gridPos.y * CELL_H,
      w: panel.gridPos.w * CELL_W - GAP,
      h: panel.gridPos.h * CELL_H - GAP,
    };
    if (panel.type === 'row') {
      parts.push(text(box.x, box.y + 24, `⌄ ${panel.title}`, { size: 17, weight: 'bold' }));
      continue;
    }
    parts.push(`<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" rx="3" fill="${COLORS.panel}" stroke="${COLORS.border}"/>`);
    parts.push(text(box.x + 10, box.y + 22, fit(panel.title, box.w - 20, 14), { size: 14, weight: 'bold' }));
    const body = { x: box.x + 10, y: box.y + 34, w: box.w - 20, h: box.h - 42 };
    const series = data.get(panel.id) ?? [];
    if (series.length === 0) parts.push(text(body.x + body.w / 2, body.y + body.h / 2, 'No data', { size: 16, fill: COLORS.dim, anchor: 'middle' }));
    else if (panel.type === 'stat') parts.push(...stat(panel, series, body));
    else if (panel.type === 'bargauge') parts.push(...barGauge(panel, series, body));
    else if (panel.type === 'timeseries') parts.push(...timeSeries(panel, series, body, options));
    else throw new Error(`panel "${panel.title}": cannot draw a ${panel.type} panel`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** The SVG as a PNG, text in the system's DejaVu Sans. */
export function renderPng(svg: string): Buffer {
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: FONT }, background: COLORS.background }).render().asPng();
}

type Box = { x: number; y: number; w: number; h: number };

function variableBox(x: number, y: number, label: string, value: string): string {
  const labelWidth = label.length * 8 + 20;
  return [
    `<rect x="${x}" y="${y}" width="${labelWidth}" height="28" fill="${COLORS.panel}" stroke="${COLORS.border}"/>`,
    text(x + 10, y + 19, label, { size: 13, fill: COLORS.blue }),
    `<rect x="${x + labelWidth}" y="${y}" width="${270 - labelWidth}" height="28" fill="${COLORS.background}" stroke="${COLORS.border}"/>`,
    text(x + labelWidth + 10, y + 19, value, { size: 13 }),
  ].join('\n');
}

function stat(panel: DashboardPanel, series: PanelSeries[], box: Box): string[] {
  const cols = Math.max(1, Math.min(series.length, Math.round(Math.sqrt((series.length * box.w) / box.h))));
  const rows = Math.ceil(series.length / cols);
  const tileW = box.w / cols;
  const tileH = box.h / rows;
  return series.map((s, i) => {
    const x = box.x + (i % cols) * tileW;
    const y = box.y + Math.floor(i / cols) * tileH;
    const { text: shown, color } = display(panel, s.value);
    const named = series.length > 1;
    const size = Math.min((tileH - (named ? 18 : 0)) * 0.6, (tileW * 0.9) / (shown.length * 0.62), 56);
    const valueY = y + (named ? tileH * 0.5 : tileH * 0.5 + size * 0.35);
    const out = [text(x + tileW / 2, valueY, shown, { size, weight: 'bold', fill: color, anchor: 'middle' })];
    const nameSize = Math.max(9, Math.min(12, (tileW - 8) / (s.name.length * 0.6)));
    if (named) out.push(text(x + tileW / 2, valueY + 22, fit(s.name, tileW - 8, nameSize), { size: nameSize, fill: COLORS.dim, anchor: 'middle' }));
    return out.join('\n');
  });
}

function barGauge(panel: DashboardPanel, series: PanelSeries[], box: Box): string[] {
  const finite = series.map((s) => s.value).filter(Number.isFinite);
  const min = panel.fieldConfig?.defaults?.min ?? Math.min(0, ...finite);
  const max = panel.fieldConfig?.defaults?.max ?? Math.max(min + 1, ...finite);
  const rowH = Math.min(30, box.h / series.length);
  const barH = Math.max(4, rowH - 6);
  const size = Math.min(13, Math.max(9, rowH - 8));
  const shown = series.map((s) => display(panel, s.value));
  // Names get what they need up to 60% of the width, values what the longest needs.
  const nameW = Math.min(box.w * 0.6, Math.max(...series.map((s) => s.name.length)) * size * 0.6 + 10);
  const valueW = Math.max(...shown.map((d) => d.text.length)) * size * 0.65 + 8;
  const barW = box.w - nameW - valueW;
  return series.map((s, i) => {
    const y = box.y + i * rowH;
    const { text: value, color } = shown[i]!;
    const fraction = Number.isFinite(s.value) ? Math.max(0, Math.min(1, (s.value - min) / (max - min))) : 0;
    return [
      text(box.x, y + barH / 2 + size * 0.36, fit(s.name, nameW - 8, size), { size, fill: COLORS.text }),
      `<rect x="${box.x + nameW}" y="${y}" width="${barW}" height="${barH}" fill="${COLORS.unfilled}"/>`,
      `<rect x="${box.x + nameW}" y="${y}" width="${(barW * fraction).toFixed(1)}" height="${barH}" fill="${color}" fill-opacity="0.85"/>`,
      text(box.x + box.w, y + barH / 2 + size * 0.36, value, { size, weight: 'bold', fill: color, anchor: 'end' }),
    ].join('\n');
  });
}

function timeSeries(panel: DashboardPanel, series: PanelSeries[], box: Box, options: RenderOptions): string[] {
  const unit = panel.fieldConfig?.defaults?.unit;
  const legendH = Math.ceil(series.length / 3) * 18 + 6;
  const plot = { x: box.x + 70, y: box.y + 4, w: box.w - 74, h: box.h - legendH - 24 };
  const values = series.flatMap((s) => (s.points ?? []).map(([, v]) => v)).filter(Number.isFinite);
  const top = niceCeiling(Math.max(1, ...values));
  const out: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const y = plot.y + plot.h - (plot.h * i) / 4;
    out.push(`<line x1="${plot.x}" y1="${y}" x2="${plot.x + plot.w}" y2="${y}" stroke="${COLORS.grid}"/>`);
    out.push(text(plot.x - 6, y + 4, format((top * i) / 4, unit), { size: 11, fill: COLORS.dim, anchor: 'end' }));
  }
  const span = Math.max(1, options.to - options.from);
  const xOf = (t: number) => plot.x + ((t - options.from) / span) * plot.w;
  const yOf = (v: number) => plot.y + plot.h - (v / top) * plot.h;
  for (let i = 0; i <= 4; i++) {
    const t = options.from + (span * i) / 4;
    const anchor = i === 0 ? 'start' : i === 4 ? 'end' : 'middle';
    out.push(text(xOf(t), plot.y + plot.h + 16, new Date(t * 1000).toISOString().slice(11, 19), { size: 11, fill: COLORS.dim, anchor }));
  }
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    // A step line (lineInterpolation stepAfter), broken where scrapes are missing (spanNulls false).
    const points = (s.points ?? []).filter(([, v]) => Number.isFinite(v));
    let path = '';
    points.forEach(([t, v], j) => {
      const previous = points[j - 1];
      if (!previous || t - previous[0] > 2) path += `M${xOf(t).toFixed(1)},${yOf(v).toFixed(1)}`;
      else path += `H${xOf(t).toFixed(1)}V${yOf(v).toFixed(1)}`;
    });
    if (path) out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    const lx = box.x + (i % 3) * (box.w / 3);
    const ly = box.y + box.h - legendH + 14 + Math.floor(i / 3) * 18;
    out.push(`<rect x="${lx}" y="${ly - 8}" width="14" height="4" fill="${color}"/>`);
    out.push(text(lx + 20, ly - 2, fit(`${s.name}  ${format(s.value, unit)}`, box.w / 3 - 24, 12), { size: 12, fill: COLORS.text }));
  });
  return out;
}

/** Text and colour of a value as Grafana shows it: a value mapping first, else the unit and the thresholds. */
function display(panel: DashboardPanel, value: number): { text: string; color: string } {
  const defaults = panel.fieldConfig?.defaults ?? {};
  const mapped = defaults.mappings?.find((m) => m.type === 'value')?.options[String(value)];
  const steps = defaults.thresholds?.steps ?? [{ color: 'green', value: null }];
  const step = [...steps].reverse().find((s) => s.value === null || value >= s.value) ?? steps[0]!;
  const color = Number.isFinite(value) ? (mapped?.color ?? step.color) : COLORS.dim;
  return { text: mapped?.text ?? format(value, defaults.unit), color: namedColor(color) };
}

/** A threshold or mapping colour: Grafana's name for one of its colours, or a CSS colour. */
function namedColor(color: string): string {
  return (COLORS as Record<string, string | undefined>)[color] ?? color;
}

/** Grafana's units, to three significant digits. */
function format(value: number, unit = 'short'): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  const scaled = (steps: [number, string][]): string => {
    const [size, name] = [...steps].reverse().find(([s]) => abs >= s) ?? steps[0]!;
    return `${sign}${round(abs / size)} ${name}`;
  };
  switch (unit) {
    case 's':
      return scaled([
        [1, 's'],
        [60, 'min'],
        [3600, 'hour'],
        [86_400, 'day'],
      ]);
    case 'bytes':
      return scaled([
        [1, 'B'],
        [1024, 'KiB'],
        [1024 ** 2, 'MiB'],
        [1024 ** 3, 'GiB'],
      ]);
    case 'percentunit':
      return `${round(value * 100)}%`;
    default:
      return abs >= 10_000
        ? scaled([
            [1000, 'K'],
            [1e6, 'Mil'],
          ]).replace(' ', '')
        : `${sign}${round(abs)}`;
  }
}

function round(value: number): string {
  if (value === 0 || Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(3)));
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= value) ?? 10) * magnitude;
}

/** `value` cut with an ellipsis to about `width` pixels at `size` (DejaVu Sans averages 0.6 em a character). */
function fit(value: string, width: number, size: number): string {
  const chars = Math.floor(width / (size * 0.6));
  return value.length <= chars ? value : `${value.slice(0, Math.max(1, chars - 1))}…`;
}

function text(x: number, y: number, content: string, style: { size: number; weight?: string; fill?: string; anchor?: string }): string {
  const attributes = [`x="${x.toFixed(1)}"`, `y="${y.toFixed(1)}"`, `font-size="${style.size.toFixed(1)}"`, `fill="${style.fill ?? COLORS.text}"`];
  if (style.weight) attributes.push(`font-weight="${style.weight}"`);
  if (style.anchor) attributes.push(`text-anchor="${style.anchor}"`);
  return `<text ${attributes.join(' ')}>${escape(content)}</text>`;
}

function escape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
