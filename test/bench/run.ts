// `npm run bench [-- --only api,state,sweep,snapshot,repair,jobs] [--scale small|full] [--json] [--kubeconfig FILE]`:
// runs the benchmarks one after another and prints their tables (Markdown), or with --json one
// JSON document with every table. Progress goes to stderr. With --kubeconfig, the benchmarks that
// can run on any cluster (ANY_CLUSTER) run there instead of on the embedded API server; the
// others are skipped.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchApi } from './api.js';
import { benchJobs } from './jobs.js';
import { benchState } from './state.js';
import { benchSweep } from './sweep.js';
import { formatSection, type BenchOptions, type BenchSection, type Scale } from './table.js';

type Bench = (options: BenchOptions) => Promise<BenchSection | BenchSection[]>;

const here = path.dirname(fileURLToPath(import.meta.url));

/** Benchmarks of jobs written elsewhere: loaded when their module exists, else skipped with a note. */
async function optional(file: string, exported: string): Promise<Bench | string> {
  if (!existsSync(path.join(here, `${file}.ts`))) return `test/bench/${file}.ts does not exist yet`;
  const module = (await import(`./${file}.js`)) as Record<string, unknown>;
  const fn = module[exported];
  return typeof fn === 'function' ? (fn as Bench) : `test/bench/${file}.ts does not export ${exported}()`;
}

const BENCHES: Record<string, () => Promise<Bench | string>> = {
  api: async () => benchApi,
  state: async () => benchState,
  sweep: async () => benchSweep,
  snapshot: () => optional('snapshot', 'benchSnapshot'),
  repair: () => optional('repair', 'benchRepair'),
  jobs: async () => benchJobs,
};

/** Benchmarks that take BenchOptions.kubeconfig; the rest measure the embedded server or need its request log. */
const ANY_CLUSTER = new Set(['jobs', 'state', 'sweep']);

/** A section as another module returned it, checked enough to print. */
function asSections(value: unknown, name: string): BenchSection[] {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  return list.map((s) => {
    const section = s as Partial<BenchSection>;
    if (typeof section?.title === 'string' && Array.isArray(section.columns) && Array.isArray(section.rows)) return section as BenchSection;
    return { title: name, columns: ['result'], rows: [[JSON.stringify(s)]] };
  });
}

const argv = await yargs(hideBin(process.argv))
  .scriptName('npm run bench --')
  .option('only', { type: 'string', describe: `Comma-separated benchmarks to run (${Object.keys(BENCHES).join(', ')})` })
  .option('scale', { choices: ['small', 'full'] as const, default: 'full' as Scale, describe: "small: a quick smoke run (~1k objects); full: the issues' sizes (several minutes)" })
  .option('json', { type: 'boolean', default: false, describe: 'Print one JSON document instead of tables' })
  .option('kubeconfig', {
    type: 'string',
    describe: `Run against this existing cluster instead of the embedded API server, in namespaces of the bench's own (deleted at the end); only ${[...ANY_CLUSTER].join(', ')}`,
  })
  .strict()
  .help()
  .parseAsync();

async function main(): Promise<number> {
  const selected = argv.only
    ? argv.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : Object.keys(BENCHES);
  const unknown = selected.filter((name) => !(name in BENCHES));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`);
    return 2;
  }

  const options: BenchOptions = { scale: argv.scale, progress: (line) => process.stderr.write(`[bench] ${line}\n`), kubeconfig: argv.kubeconfig };
  const sections: BenchSection[] = [];
  const skipped: string[] = [];
  let failed = false;
  const started = performance.now();
  const loadBefore = os.loadavg()[0] as number;
  for (const name of selected) {
    const bench = argv.kubeconfig && !ANY_CLUSTER.has(name) ? 'needs the embedded server' : await (BENCHES[name] as () => Promise<Bench | string>)();
    if (typeof bench === 'string') {
      skipped.push(`${name}: skipped, ${bench}`);
      options.progress(`${name}: skipped, ${bench}`);
      continue;
    }
    const t0 = performance.now();
    try {
      const result = asSections(await bench(options), name);
      sections.push(...result);
      if (result.some((section) => section.failed)) failed = true;
      options.progress(`${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      if (!argv.json) process.stdout.write(`${result.map(formatSection).join('\n\n')}\n\n`);
    } catch (err) {
      failed = true;
      const message = `${name}: FAILED: ${(err as Error).stack ?? String(err)}`;
      skipped.push(message);
      options.progress(message);
    }
  }

  const totalSeconds = (performance.now() - started) / 1000;
  const machine = { cpus: os.availableParallelism(), loadAverage: [loadBefore, os.loadavg()[0] as number] };
  if (argv.json) {
    process.stdout.write(`${JSON.stringify({ scale: argv.scale, node: process.version, machine, totalSeconds, sections, skipped }, null, 2)}\n`);
  } else {
    for (const line of skipped) process.stdout.write(`- ${line}\n`);
    const load = machine.loadAverage.map((l) => l.toFixed(1)).join(' -> ');
    const where = argv.kubeconfig ? `, cluster of ${argv.kubeconfig}` : '';
    process.stdout.write(`(scale ${argv.scale}${where}, ${process.version}, ${machine.cpus} CPUs, 1-minute load average ${load}, ${totalSeconds.toFixed(0)} s in all)\n`);
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
