// A real Prometheus Pushgateway for tests: Debian's `prometheus-pushgateway`, started as our
// own process on a free 127.0.0.1 port with persistence off (never the package's systemd
// service), and a small exposition-text parser for assertions on its /metrics.
import { isReady, stopDaemon } from './daemons.js';
import { freePort } from './ports.js';
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';

export const PUSHGATEWAY_BINARY = '/usr/bin/prometheus-pushgateway';
/** The skip message when the binary is absent (outside CI). */
export const PUSHGATEWAY_MISSING = 'prometheus-pushgateway not installed';

export interface PushgatewayProcess {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The gateway's /metrics as exposition text. */
  scrape(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a Pushgateway, or returns undefined when it is not installed so the caller can skip
 * with PUSHGATEWAY_MISSING. In CI (`CI` set) a missing binary throws: those tests must run.
 */
export async function startPushgateway(): Promise<PushgatewayProcess | undefined> {
  try {
    await access(PUSHGATEWAY_BINARY, constants.X_OK);
  } catch {
    if (process.env.CI) {
      throw new Error(`${PUSHGATEWAY_MISSING} (${PUSHGATEWAY_BINARY}) but CI is set: install it (apt-get install prometheus-pushgateway) so the Pushgateway tests run`);
    }
    return undefined;
  }
  // The free port can be taken between probing and binding: try again with another.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(await freePort());
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function launch(port: number): Promise<PushgatewayProcess> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(PUSHGATEWAY_BINARY, [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await isReady(url)) {
      return {
        url,
        scrape: async () => {
          const response = await fetch(`${url}/metrics`);
          if (!response.ok) throw new Error(`scrape of ${url}/metrics answered HTTP ${response.status}`);
          return response.text();
        },
        stop: () => stopDaemon(child, exited),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await stopDaemon(child, exited);
  throw new Error(`prometheus-pushgateway on ${url} did not become ready: ${stderr.trim() || 'no output'}`);
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Samples of Prometheus exposition text (format 0.0.4); comments and timestamps are dropped. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line);
    if (!match) throw new Error(`not an exposition sample line: ${line}`);
    const [, name = '', labelText, valueText = ''] = match;
    samples.push({ name, labels: parseLabels(labelText ?? ''), value: parseValue(valueText) });
  }
  return samples;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pair = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y;
  let position = 0;
  for (let match = pair.exec(text); match; match = pair.exec(text)) {
    const [, name = '', raw = ''] = match;
    labels[name] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    position = pair.lastIndex;
  }
  if (text.slice(position).trim() !== '') throw new Error(`bad label set: {${text}}`);
  return labels;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`bad sample value: ${text}`);
  return value;
}

/** The samples named `name` whose labels include every one of `labels`. */
export function findSamples(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The single matching sample's value; throws when none or several match. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = findSamples(samples, name, labels);
  if (found.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return (found[0] as Sample).value;
}
