// A real Prometheus for tests: Debian's `prometheus`, started as our own process on a free
// 127.0.0.1 port with a throwaway TSDB (never the package's systemd service), scraping the given
// targets every second with honor_labels (how cmstate's Pushgateway must be scraped), and its HTTP
// API's instant and range queries.
import { isReady, stopDaemon } from './daemons.js';
import { freePort } from './ports.js';
import { spawn } from 'node:child_process';
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';
/** The skip message when the binary is absent (outside CI). */
export const PROMETHEUS_MISSING = 'prometheus not installed';

/** One series of an instant query; a scalar result is one series without labels. */
export interface InstantSeries {
  labels: Record<string, string>;
  value: number;
}

/** One series of a range query: [unix seconds, value] points. */
export interface RangeSeries {
  labels: Record<string, string>;
  points: [number, number][];
}

export interface PrometheusProcess {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** `/api/v1/query` at `time` (unix seconds; default: now). */
  query(expr: string, time?: number): Promise<InstantSeries[]>;
  /** `/api/v1/query_range` from `start` to `end` (unix seconds) every `step` seconds. */
  queryRange(expr: string, start: number, end: number, step: number): Promise<RangeSeries[]>;
  /** `/api/v1/label/<name>/values`, limited to the series `match` selects: Grafana's label_values(). */
  labelValues(name: string, match: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts Prometheus scraping `targets` (host:port) every second, or returns undefined when it is not
 * installed so the caller can skip with PROMETHEUS_MISSING. In CI (`CI` set) a missing binary
 * throws: those tests must run.
 */
export async function startPrometheus(targets: string[]): Promise<PrometheusProcess | undefined> {
  try {
    await access(PROMETHEUS_BINARY, constants.X_OK);
  } catch {
    if (process.env.CI) {
      throw new Error(`${PROMETHEUS_MISSING} (${PROMETHEUS_BINARY}) but CI is set: install it (apt-get install prometheus) so the Prometheus tests run`);
    }
    return undefined;
  }
  // The free port can be taken between probing and binding: try again with another.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(await freePort(), targets);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

/** The scrape config: the Pushgateway's grouping labels (job, namespace) kept as pushed. */
function config(targets: string[]): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: pushgateway',
    '    honor_labels: true',
    '    static_configs:',
    `      - targets: ${JSON.stringify(targets)}`,
    '',
  ].join('\n');
}

async function launch(port: number, targets: string[]): Promise<PrometheusProcess> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cmstate-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(configFile, config(targets));
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(PROMETHEUS_BINARY, [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stopAndClean = async () => {
    await stopDaemon(child, exited);
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await isReady(url)) {
      return {
        url,
        query: async (expr, time) => instant(await api(url, 'query', { query: expr, ...(time === undefined ? {} : { time: String(time) }) })),
        queryRange: async (expr, start, end, step) => range(await api(url, 'query_range', { query: expr, start: String(start), end: String(end), step: String(step) })),
        labelValues: async (name, match) => (await api(url, `label/${encodeURIComponent(name)}/values`, { 'match[]': match })) as string[],
        stop: stopAndClean,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stopAndClean();
  throw new Error(`prometheus on ${url} did not become ready: ${stderr.trim() || 'no output'}`);
}

interface ApiResponse {
  status: 'success' | 'error';
  data?: unknown;
  errorType?: string;
  error?: string;
}

/** A GET of the HTTP API; an error answer throws with its message. */
async function api(url: string, endpoint: string, params: Record<string, string>): Promise<unknown> {
  const response = await fetch(`${url}/api/v1/${endpoint}?${new URLSearchParams(params)}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as ApiResponse;
  if (body.status !== 'success') throw new Error(`prometheus ${endpoint} ${JSON.stringify(params)}: ${body.errorType ?? response.status}: ${body.error ?? 'no error message'}`);
  return body.data;
}

type Value = [number, string];
type QueryData = { resultType: 'vector'; result: { metric: Record<string, string>; value: Value }[] } | { resultType: 'scalar'; result: Value } | { resultType: 'matrix' | 'string'; result: unknown };

function instant(data: unknown): InstantSeries[] {
  const typed = data as QueryData;
  if (typed.resultType === 'vector') return typed.result.map((s) => ({ labels: s.metric, value: parseValue(s.value[1]) }));
  if (typed.resultType === 'scalar') return [{ labels: {}, value: parseValue(typed.result[1]) }];
  throw new Error(`an instant query answered a ${typed.resultType}`);
}

function range(data: unknown): RangeSeries[] {
  const typed = data as { resultType: string; result: { metric: Record<string, string>; values: Value[] }[] };
  if (typed.resultType !== 'matrix') throw new Error(`a range query answered a ${typed.resultType}`);
  return typed.result.map((s) => ({ labels: s.metric, points: s.values.map(([t, v]) => [t, parseValue(v)]) }));
}

/** Sample values come as strings: "+Inf", "-Inf" and "NaN" included. */
function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}
