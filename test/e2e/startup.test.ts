// What the CLI loads before a command does anything. --help, --version, a command's --help and the
// commands that touch no cluster must not load @kubernetes/client-node (most of the start-up time
// and memory) nor a job's run module; a module that fails to load when a command runs is reported
// like any other failure. The time itself is measured by the bench, not asserted here.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DateTime } from 'luxon';
import { SnapshotWriter } from '../../src/snapshot/writer.js';
import { stateConfigMap } from '../support/states.js';

const root = path.resolve(import.meta.dirname, '../..');
const recorder = path.join(root, 'test/support/record-resolutions.ts');

let dir: string;
let snapshot: string;

interface Run {
  code: number;
  stderr: string;
  /** The URL of every module the process resolved. */
  resolved: string[];
}

/** `cmstate …` as a separate process that records what it resolves. */
function cmstate(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = path.join(dir, `resolved-${Math.random().toString(36).slice(2)}.json`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--import', recorder, path.join(root, 'cli/main.ts'), ...args],
      { cwd: root, env: { ...process.env, ...env, RECORD_RESOLUTIONS_TO: out }, timeout: 60_000 },
      (error, _stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        readFile(out, 'utf8').then((text) => resolve({ code, stderr, resolved: JSON.parse(text) as string[] }), reject);
      },
    );
  });
}

const kubernetesClient = (run: Run) => run.resolved.filter((url) => url.includes('/node_modules/@kubernetes/client-node/'));
const logger = (run: Run) => run.resolved.filter((url) => /\/node_modules\/pino(-pretty)?\//.test(url));
const runModules = (run: Run) => run.resolved.filter((url) => /\/jobs\/[^/]+\/run\.[jt]s$/.test(url) || url.endsWith('/src/job/runner.ts'));

describe('start-up: what a command loads', () => {
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cmstate-startup-'));
    const writer = await SnapshotWriter.create(path.join(dir, 'snapshots'), { namespaces: ['x'], selector: 'cmstate.io/state in (task,archive)', reason: 'snapshot', now: DateTime.utc() });
    await writer.add(stateConfigMap({ id: 'startup', namespace: 'x', lastUpdate: '2026-11-01T00:00:00Z' }));
    snapshot = (await writer.commit()).file;
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("--help, --version, a command's --help, verify and schema load neither the Kubernetes client nor a job's run module", async () => {
    for (const args of [['--help'], ['--version'], ['sweep', '--help'], ['state', 'feedback', 'add', '--help'], ['verify', snapshot], ['schema']]) {
      const run = await cmstate(args);
      const what = `cmstate ${args.join(' ')}`;
      assert.equal(run.code, 0, `${what}: ${run.stderr}`);
      assert.ok(
        run.resolved.some((url) => url.endsWith('/src/cli.ts')),
        `${what}: the recorder saw the CLI load`,
      );
      assert.deepEqual(kubernetesClient(run).slice(0, 3), [], `${what} loads @kubernetes/client-node`);
      assert.deepEqual(runModules(run), [], `${what} loads a job's run module`);
      // The logger is made when a command runs: help and version need no pino.
      if (args.includes('--help') || args.includes('--version')) assert.deepEqual(logger(run).slice(0, 3), [], `${what} loads pino`);
    }
  });

  test('a command that may reach a cluster loads the Kubernetes client when it runs', async () => {
    const run = await cmstate(['state', 'get', 'x', '--kubeconfig', path.join(dir, 'missing-kubeconfig')]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /cannot load kubeconfig/);
    assert.ok(kubernetesClient(run).length > 0, 'state get loads @kubernetes/client-node');
  });

  test('a module that fails to load when a command runs: one line naming it, exit 1, no stack', async () => {
    const run = await cmstate(['state', 'get', 'x', '--kubeconfig', path.join(dir, 'missing-kubeconfig'), '--log-level', 'error'], { FAIL_RESOLVING: '@kubernetes/client-node' });
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(JSON.parse(lines[0]!).msg as string, /^Cannot find package '@kubernetes\/client-node' imported from \S+\/src\/kube\/client\.ts$/);
  });
});
