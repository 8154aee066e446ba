// The CLI as the image ships it: what the Dockerfile's runtime stage holds (the compiled dist/ and
// bin/ beside `npm ci --omit=dev --ignore-scripts`), run by the image's Node major from a
// directory that can resolve nothing from the repo. Every other test runs with the repo's
// node_modules, where the dev dependencies are too, so a runtime import of one passes there and
// fails only here — and in the image.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CliResult } from '../support/cli.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';

const root = path.resolve(import.meta.dirname, '../..');
/** The `node` dev dependency: the image's Node major (the machine's own node may be older). */
const runtimeNode = realpathSync(path.join(root, 'node_modules/.bin/node'));
/** Packages only the build and the tests use: the install must not be able to find them. */
const DEV_ONLY = ['typescript', 'tsx', 'eslint'];

let dir: string;
let cluster: TestCluster;

/**
 * What the image gives the CLI: NODE_ENV=production, and nothing that points Node or npm at the
 * repo (NODE_PATH, NODE_OPTIONS with `--import tsx`, the npm_* variables of an enclosing
 * `npm test`) or changes what a command does (a developer's CMSTATE_* variables).
 */
function runtimeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', PATH: `${path.dirname(runtimeNode)}${path.delimiter}${process.env.PATH ?? ''}` };
  for (const name of Object.keys(env)) {
    const lower = name.toLowerCase();
    const npmVariable = lower.startsWith('npm_') && lower !== 'npm_config_cache';
    if (npmVariable || name === 'NODE_PATH' || name === 'NODE_OPTIONS' || name.startsWith('CMSTATE_')) delete env[name];
  }
  return env;
}

interface Exited {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], options: { cwd: string; timeoutMs: number }): Promise<Exited> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd, env: runtimeEnv(), timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Runs a build or install step; its output is the failure message. */
async function step(what: string, file: string, args: string[], cwd: string): Promise<void> {
  const run = await exec(file, args, { cwd, timeoutMs: 300_000 });
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${(run.stdout + run.stderr).trim().split('\n').slice(0, 30).join('\n')}`);
}

/** The file a compiled module came from, as a developer would look for it. */
function sourceOf(file: string): string {
  const fromDist = path.relative(path.join(dir, 'dist'), file);
  return fromDist.startsWith('..') ? path.relative(dir, file) : fromDist.replace(/\.js$/, '.ts');
}

/** A package the install lacks, named with the module that imports it (ESM and CJS messages). */
function missingModule(stderr: string): string | undefined {
  // Also inside a JSON log line, when a command catches the failed import() and reports it.
  const match = /Cannot find (?:package|module) '([^']+)' imported from ([^\s"'\\]+)/.exec(stderr) ?? /Cannot find module '([^']+)'\s*\nRequire stack:\n- (\S+)/.exec(stderr);
  if (!match) return undefined;
  return (
    `the production install has no '${match[1]}', imported from ${sourceOf(match[2]!)}: runtime code (src/, jobs/, bin/) imports a package ` +
    `that is not in "dependencies" — a dev dependency, or one that only a dev dependency brings. Move it to "dependencies", or keep the import out of runtime code.`
  );
}

/** `cmstate …` from the install, as the image's entrypoint runs it; asserts the exit code. */
async function cmstate(args: string[], expectedCode = 0): Promise<CliResult> {
  const run = await exec(runtimeNode, [path.join(dir, 'bin/cmstate.js'), ...args], { cwd: dir, timeoutMs: 60_000 });
  const what = `cmstate ${args.join(' ')}`;
  const missing = missingModule(run.stderr);
  if (missing) assert.fail(`${what}: ${missing}`);
  assert.equal(run.code, expectedCode, `${what} exited ${run.code}:\n${run.stderr}`);
  const stdout = run.stdout.split('\n').filter((line) => line.length);
  return {
    code: run.code,
    stdout,
    stderr: run.stderr,
    json: <T>() => JSON.parse(stdout.at(-1) ?? 'null') as T,
  };
}

interface Summary {
  job: string;
  dry_run: boolean;
  observed: number;
  planned: Record<string, number>;
  applied: Record<string, number>;
  failed: number;
}

describe('the production install (the image runtime stage: dist/, bin/, npm ci --omit=dev)', () => {
  before(
    async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'cmstate-production-'));
      // Into a directory of its own, so a developer's dist/ is neither used nor overwritten.
      await step(
        'tsc -p tsconfig.build.json (as `npm run build` in the image)',
        runtimeNode,
        [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', path.join(dir, 'dist')],
        root,
      );
      for (const file of ['package.json', 'package-lock.json', 'bin']) await cp(path.join(root, file), path.join(dir, file), { recursive: true });
      await step('npm ci --omit=dev --ignore-scripts', 'npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], dir);
      cluster = await startTestCluster();
    },
    { timeout: 600_000 },
  );
  after(async () => {
    await cluster?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const base = () => ['--kubeconfig', cluster.kubeconfig, '-n', cluster.namespace];

  test('the install resolves its production dependencies from itself, dev dependencies from nowhere, on the image Node major', async () => {
    for (let ancestor = path.dirname(dir); ; ancestor = path.dirname(ancestor)) {
      assert.ok(!existsSync(path.join(ancestor, 'node_modules')), `${ancestor}/node_modules exists: the install under ${dir} could resolve packages from it (set TMPDIR elsewhere)`);
      if (ancestor === path.dirname(ancestor)) break;
    }
    const probe = `
      import { createRequire } from 'node:module';
      const require = createRequire(process.cwd() + '/');
      const where = (resolve) => { try { return resolve(); } catch (err) { return err.code; } };
      const names = ${JSON.stringify(['yargs', ...DEV_ONLY])};
      console.log(JSON.stringify(Object.fromEntries(names.map((n) => [n, { esm: where(() => import.meta.resolve(n)), cjs: where(() => require.resolve(n)) }]))));
    `;
    const run = await exec(runtimeNode, ['--input-type=module', '-e', probe], { cwd: dir, timeoutMs: 30_000 });
    assert.equal(run.code, 0, run.stderr);
    const resolved = JSON.parse(run.stdout) as Record<string, { esm: string; cjs: string }>;
    assert.ok(resolved.yargs?.esm.startsWith(`file://${dir}/node_modules/yargs/`), `yargs resolves inside the install: ${JSON.stringify(resolved.yargs)}`);
    for (const name of DEV_ONLY) assert.deepEqual(resolved[name], { esm: 'ERR_MODULE_NOT_FOUND', cjs: 'MODULE_NOT_FOUND' }, `${name} must not be resolvable from the production install`);

    const dockerfile = await readFile(path.join(root, 'Dockerfile'), 'utf8');
    const imageMajor = /^ARG NODE_IMAGE=node:(\d+)/m.exec(dockerfile)?.[1];
    assert.ok(imageMajor, 'the Dockerfile names its base image as ARG NODE_IMAGE=node:<major>…');
    const version = await exec(runtimeNode, ['--version'], { cwd: dir, timeoutMs: 30_000 });
    assert.equal(version.stdout.trim().split('.')[0], `v${imageMajor}`, `the \`node\` dev dependency (${runtimeNode}) should be the image's Node ${imageMajor}`);
  });

  test('the CLI loads: --help lists every command, --version, schema', async () => {
    const help = await cmstate(['--help']);
    for (const command of ['sweep', 'repair', 'metrics', 'snapshot', 'restore', 'verify', 'state', 'schema', 'doctor', 'local-apiserver', 'demo']) {
      assert.ok(
        help.stdout.some((line) => line.trim().startsWith(`cmstate ${command} `)),
        `--help lists ${command}`,
      );
    }
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual((await cmstate(['--version'])).stdout, [pkg.version]);
    const schema = JSON.parse((await cmstate(['schema'])).stdout.join('\n')) as { $defs: Record<string, unknown> };
    assert.ok(schema.$defs.TaskState);
    // The kubectl plugin's binary, as the package installs it: the same CLI, named for kubectl.
    const plugin = await exec(runtimeNode, [path.join(dir, 'bin/kubectl-cmstate.js'), '--help'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(plugin.code, 0, plugin.stderr);
    assert.match(plugin.stdout, /^\s*kubectl cmstate state /m);
  });

  test('state: init, incr, get, feedback add and list', async () => {
    await cmstate(['state', 'init', 'prod-state', ...base()]);
    assert.equal((await cmstate(['state', 'incr', 'prod-state', ...base()])).stdout.at(-1), '1');
    const state = (await cmstate(['state', 'get', 'prod-state', ...base(), '--output', 'json'])).json<{ task_id: string; iteration: number; status: string }>();
    assert.deepEqual([state.task_id, state.iteration, state.status], ['prod-state', 1, 'in_progress']);
    await cmstate([
      'state',
      'feedback',
      'add',
      'prod-state',
      '--entry-id',
      'e1',
      '--severity',
      'high',
      '--issue-type',
      'bug',
      '--author',
      'ci',
      '--description',
      'from the production install',
      ...base(),
    ]);
    const list = (await cmstate(['state', 'feedback', 'list', 'prod-state', ...base(), '--output', 'json'])).json<{ entries: { id: string }[]; total: number }>();
    assert.deepEqual([list.total, list.entries.map((e) => e.id)], [1, ['e1']]);
    await cmstate(['state', 'delete', 'prod-state', ...base()]);
  });

  test('the jobs: sweep and repair dry runs, metrics, doctor, snapshot, verify, restore', async () => {
    const ns = cluster.namespace;
    await cmstate(['state', 'init', 'prod-job-a', ...base()]);
    await cmstate(['state', 'incr', 'prod-job-a', ...base()]);
    await cmstate(['state', 'init', 'prod-job-b', ...base()]);

    const inAMonth = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const sweep = (await cmstate(['sweep', '--dry-run', '--ttl', '7d', '--now', inAMonth, ...base(), '--output', 'json'])).json<Summary>();
    assert.deepEqual([sweep.job, sweep.dry_run, sweep.observed, sweep.planned.mark, sweep.applied.mark], ['sweep', true, 2, 2, 0]);

    const repair = (await cmstate(['repair', '--dry-run', ...base(), '--output', 'json'])).json<Summary>();
    assert.deepEqual([repair.job, repair.dry_run, repair.observed, repair.failed], ['repair', true, 2, 0]);

    const metrics = (await cmstate(['metrics', ...base()])).stdout;
    assert.ok(metrics.includes(`cmstate_task_states{namespace="${ns}",status="in_progress"} 1`), metrics.join('\n'));
    assert.ok(metrics.includes(`cmstate_task_states{namespace="${ns}",status="pending"} 1`), metrics.join('\n'));

    const doctor = await cmstate(['doctor', ...base()]);
    assert.match(doctor.stdout.at(-1) ?? '', /^doctor: all \d+ checks passed/);

    const snapshots = path.join(dir, 'snapshots');
    const snapshot = (await cmstate(['snapshot', '--dir', snapshots, ...base(), '--output', 'json'])).json<Summary>();
    assert.deepEqual([snapshot.job, snapshot.observed, snapshot.applied.snapshot], ['snapshot', 2, 1]);
    const files = (await readdir(snapshots)).filter((f) => f.endsWith('.ndjson.gz'));
    assert.equal(files.length, 1, files.join(', '));
    const file = path.join(snapshots, files[0]!);
    const verify = await cmstate(['verify', file]);
    assert.match(verify.stdout[0] ?? '', /^ok .*: 2 objects/);

    await cmstate(['state', 'delete', 'prod-job-a', ...base()]);
    await cmstate(['state', 'delete', 'prod-job-b', ...base()]);
    const restore = (await cmstate(['restore', '--dry-run', '--from', file, ...base(), '--output', 'json'])).json<Summary>();
    assert.deepEqual([restore.job, restore.dry_run, restore.planned.create, restore.applied.create], ['restore', true, 2, 0]);
  });

  test('`cmstate local-apiserver` serves seeded states until SIGTERM, then exits 0', async () => {
    const kubeconfig = path.join(dir, 'local-apiserver.kubeconfig');
    const child = spawn(runtimeNode, [path.join(dir, 'bin/cmstate.js'), 'local-apiserver', '--port', '0', '--seed', '3', '-n', 'seeded', '--write-kubeconfig', kubeconfig], {
      cwd: dir,
      env: runtimeEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const serving = await new Promise<boolean>((resolve) => {
        const deadline = setTimeout(() => resolve(false), 30_000);
        const check = () => {
          if (/^serving http:\/\/127\.0\.0\.1:\d+/m.test(stdout)) {
            clearTimeout(deadline);
            resolve(true);
          }
        };
        child.stdout.on('data', check);
        void exited.then(() => {
          clearTimeout(deadline);
          resolve(false);
        });
      });
      const missing = missingModule(stderr);
      if (missing) assert.fail(`cmstate local-apiserver: ${missing}`);
      assert.ok(serving, `cmstate local-apiserver did not start serving:\n${stdout}${stderr}`);

      const sweep = (await cmstate(['sweep', '--dry-run', '--kubeconfig', kubeconfig, '--output', 'json'])).json<Summary>();
      assert.equal(sweep.observed, 3);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  test('the library by its package name: `cmstate` (typed) and `cmstate/local-apiserver`, no deep imports', async () => {
    // A consumer inside the install reaches the package by its own name, through "exports".
    const consumer = `
      import { KubeClient, MaxIterationsError, StateManager, loadKubeConfig, type TaskState } from 'cmstate';
      import { LocalApiServer } from 'cmstate/local-apiserver';
      const server = await LocalApiServer.start({ port: 0 });
      try {
        const file = process.cwd() + '/library-kubeconfig';
        await server.writeKubeconfig(file, 'library');
        server.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'library' } }]);
        const states = new StateManager({ client: new KubeClient(loadKubeConfig({ kubeconfig: file }).kubeConfig), namespace: 'library' });
        await states.getOrCreate('lib-1', { maxIterations: 1 });
        const state: TaskState = await states.incrementIteration('lib-1');
        const refused = await states.incrementIteration('lib-1').then(() => 'incremented', (err: unknown) => (err instanceof MaxIterationsError ? 'refused' : String(err)));
        console.log(JSON.stringify({ iteration: state.iteration, refused }));
      } finally {
        await server.close();
      }
    `;
    await writeFile(path.join(dir, 'consumer.mts'), consumer);
    // Typed: the declarations the build emits, checked as a consumer's compiler would (with Node's types, as any consumer has).
    await step(
      'tsc on a consumer of the package',
      runtimeNode,
      [
        path.join(root, 'node_modules/typescript/bin/tsc'),
        '--rootDir',
        '.',
        '--outDir',
        'consumer-out',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2024',
        '--strict',
        '--skipLibCheck',
        '--typeRoots',
        path.join(root, 'node_modules/@types'),
        '--types',
        'node',
        'consumer.mts',
      ],
      dir,
    );
    const run = await exec(runtimeNode, [path.join(dir, 'consumer-out/consumer.mjs')], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout.trim()), { iteration: 1, refused: 'refused' });
    const deep = await exec(runtimeNode, ['--input-type=module', '-e', "await import('cmstate/dist/src/state/manager.js')"], { cwd: dir, timeoutMs: 30_000 });
    assert.match(deep.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/, 'only the exported entry points resolve');
  });

  test('`cmstate demo` runs the whole cycle against its embedded server', async () => {
    const out = (await cmstate(['demo'])).stdout.join('\n');
    assert.match(out, /sweep: observed \d+ · planned mark \d+/);
    assert.match(out, /repair: observed \d+ · planned repair \d+/);
    assert.match(out, /cmstate_task_states_quarantined\{namespace="demo"\} 1/);
  });
});
