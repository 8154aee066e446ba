// `kubectl cmstate …`: the CLI as the kubectl plugin it installs as, run by the real kubectl against
// the API server, and the shell completion it prints, sourced in the real bash (and zsh, where
// installed). The PATH holds what `npm install -g cmstate` puts on it: cmstate and kubectl-cmstate
// (here the CLI's source under tsx, by those names), and bin/kubectl_complete-cmstate itself.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { cli } from '../support/cli.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { KUBECTL } from '../support/kubectl.js';

const root = path.resolve(import.meta.dirname, '../..');
const tsx = import.meta.resolve('tsx');
const recorder = path.join(root, 'test/support/record-resolutions.ts');
const skip = KUBECTL ? false : 'needs kubectl on PATH';

let cluster: TestCluster;
let dir: string;
let bin: string;
let other: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment kubectl and the shells get: our bin first on PATH, a HOME of the test's own
 * (kubectl's cache), and nothing of the developer's or the test runner's that picks a cluster, an
 * option or a Node flag (KUBECONFIG, CMSTATE_*, NODE_OPTIONS) unless the test sets it.
 */
function testEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, HOME: path.join(dir, 'home') };
  for (const name of Object.keys(env)) if (name.startsWith('CMSTATE_') || name === 'KUBECONFIG' || name === 'NODE_OPTIONS') delete env[name];
  return { ...env, ...extra };
}

function run(file: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: testEnv(extraEnv), timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const kubectl = (args: string[], env: Record<string, string> = {}) => run(KUBECTL as string, args, env);

/** A shell script that runs a Node entry with the test's Node and tsx, as npm's bin link runs bin/*.js. */
async function nodeBin(name: string, entry: string): Promise<void> {
  await writeFile(path.join(bin, name), `#!/bin/sh\nexec "${process.execPath}" --import "${tsx}" "${entry}" "$@"\n`, { mode: 0o755 });
}

/** A kubeconfig with the test cluster's server and credentials under the given contexts (kubectl's JSON form). */
async function kubeconfigWith(file: string, contexts: { name: string; namespace?: string }[], currentContext?: string): Promise<string> {
  const view = await kubectl(['config', 'view', '--flatten', '--minify', '-o', 'json', '--kubeconfig', cluster.kubeconfig]);
  assert.equal(view.code, 0, view.stderr);
  const base = JSON.parse(view.stdout) as { clusters: { name: string }[]; users: { name: string }[] };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: base.clusters,
    users: base.users,
    contexts: contexts.map(({ name, namespace }) => ({ name, context: { cluster: base.clusters[0]!.name, user: base.users[0]!.name, ...(namespace ? { namespace } : {}) } })),
    ...(currentContext ? { 'current-context': currentContext } : {}),
  };
  const target = path.join(dir, file);
  await writeFile(target, JSON.stringify(config, null, 2));
  return target;
}

before(async () => {
  cluster = await startTestCluster();
  other = await cluster.extraNamespace();
  dir = await mkdtemp(path.join(tmpdir(), 'cmstate-kubectl-plugin-'));
  bin = path.join(dir, 'bin');
  await mkdir(bin);
  await mkdir(path.join(dir, 'home'));
  // kubectl-cmstate runs an entry file of that name, as the installed bin/kubectl-cmstate.js is:
  // the CLI knows from it to call itself `kubectl cmstate`.
  const entry = path.join(dir, 'entry', 'kubectl-cmstate.mjs');
  await mkdir(path.dirname(entry));
  await writeFile(entry, `import ${JSON.stringify(pathToFileURL(path.join(root, 'cli/main.ts')).href)};\n`);
  await nodeBin('kubectl-cmstate', entry);
  await nodeBin('cmstate', path.join(root, 'cli/main.ts'));
  await symlink(path.join(root, 'bin/kubectl_complete-cmstate'), path.join(bin, 'kubectl_complete-cmstate'));
  for (const namespace of [cluster.namespace, other]) {
    const init = await cli(['state', 'init', 'plugin-task', '--max-iterations', namespace === other ? '7' : '5', '--kubeconfig', cluster.kubeconfig, '-n', namespace, '--log-level', 'warn']);
    assert.equal(init.code, 0, init.stderr);
  }
});
after(async () => {
  await cluster?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The "where" of `state get`'s text: the namespace the state was read from. */
const readFrom = (run: Run) => /^task plugin-task {2}\(([^/]+)\/task-plugin-task-state\)$/m.exec(run.stdout)?.[1];

describe('kubectl cmstate: the real kubectl runs the plugin', { skip }, () => {
  test('kubectl plugin list finds kubectl-cmstate; `kubectl cmstate state get` reads the state with --kubeconfig and -n after the plugin name', async () => {
    const [list, got] = await Promise.all([
      // Only our directory on PATH: a developer's other plugins cannot make the listing warn.
      run(KUBECTL as string, ['plugin', 'list'], { PATH: bin }),
      kubectl(['cmstate', 'state', 'get', 'plugin-task', '--kubeconfig', cluster.kubeconfig, '-n', other]),
    ]);
    assert.equal(list.code, 0, list.stderr);
    assert.ok(list.stdout.split('\n').includes(path.join(bin, 'kubectl-cmstate')), list.stdout);
    assert.ok(!list.stdout.includes('kubectl_complete'), 'the completion helper is not a plugin');

    assert.equal(got.code, 0, got.stderr);
    assert.equal(readFrom(got), other, got.stdout);
    assert.match(got.stdout, /^ {2}status {7}pending$/m);
    assert.match(got.stdout, /^ {2}iteration {4}0 \/ 7$/m);
  });

  test('--context picks a context of the kubeconfig, its namespace applies, and -n overrides it', async () => {
    const kubeconfig = await kubeconfigWith('two-contexts.json', [{ name: 'plain' }, { name: 'tasks', namespace: cluster.namespace }], 'plain');
    const get = (...args: string[]) => kubectl(['cmstate', 'state', 'get', 'plugin-task', '--kubeconfig', kubeconfig, ...args]);
    const [tasks, tasksOther] = await Promise.all([get('--context', 'tasks'), get('--context=tasks', '-n', other)]);
    // The current context, plain, has no namespace: read from the test namespace, the state came through the named context.
    assert.equal(readFrom(tasks), cluster.namespace, tasks.stderr);
    assert.equal(readFrom(tasksOther), other, tasksOther.stderr);
  });

  /** tasks.json (current context `tasks`, the test namespace) and a file with only a context `elsewhere` (the other namespace) on tasks.json's cluster and user. */
  async function kubeconfigFiles(): Promise<{ tasks: string; elsewhere: string }> {
    const tasks = await kubeconfigWith('tasks.json', [{ name: 'tasks', namespace: cluster.namespace }], 'tasks');
    const view = JSON.parse(await readFile(tasks, 'utf8')) as { contexts: { context: { cluster: string; user: string } }[] };
    const elsewhere = path.join(dir, 'elsewhere.json');
    await writeFile(elsewhere, JSON.stringify({ apiVersion: 'v1', kind: 'Config', contexts: [{ name: 'elsewhere', context: { ...view.contexts[0]!.context, namespace: other } }] }));
    return { tasks, elsewhere };
  }

  test('KUBECONFIG as a list of files merged into one kubeconfig', async () => {
    const { tasks, elsewhere } = await kubeconfigFiles();
    const KUBECONFIG = [tasks, elsewhere].join(path.delimiter);
    // A context of the second file on the cluster and user of the first: found only merged.
    const byContext = await kubectl(['cmstate', 'state', 'get', 'plugin-task', '--context', 'elsewhere'], { KUBECONFIG });
    assert.equal(readFrom(byContext), other, byContext.stderr);
  });

  test('KUBECONFIG merged by kubectl’s rules: missing and empty files are skipped, the first current-context and the first of two same-named entries win', async () => {
    const { tasks, elsewhere } = await kubeconfigFiles();
    // The second file also names a current context, and repeats the first file's cluster and user.
    const second = path.join(dir, 'second.json');
    const first = JSON.parse(await readFile(tasks, 'utf8')) as Record<string, unknown>;
    const extra = JSON.parse(await readFile(elsewhere, 'utf8')) as Record<string, unknown>;
    await writeFile(second, JSON.stringify({ ...extra, clusters: first.clusters, users: first.users, 'current-context': 'elsewhere' }));
    const empty = path.join(dir, 'empty.yaml');
    await writeFile(empty, '');
    const KUBECONFIG = [path.join(dir, 'missing.json'), empty, tasks, second].join(path.delimiter);
    const [kubectlContext, got] = await Promise.all([kubectl(['config', 'current-context'], { KUBECONFIG }), kubectl(['cmstate', 'state', 'get', 'plugin-task'], { KUBECONFIG })]);
    assert.equal(kubectlContext.stdout.trim(), 'tasks', kubectlContext.stderr);
    assert.equal(readFrom(got), cluster.namespace, got.stderr);
  });

  test('kubectl cmstate --help calls it `kubectl cmstate`; kubectl refuses flags before the plugin name', async () => {
    const [help, unknownOption, flagFirst] = await Promise.all([
      kubectl(['cmstate', '--help']),
      kubectl(['cmstate', 'state', 'get', 'x', '--cluster', 'c']),
      kubectl(['-n', cluster.namespace, 'cmstate', 'state', 'get', 'plugin-task', '--kubeconfig', cluster.kubeconfig]),
    ]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^kubectl cmstate <command> \[options\]$/m);
    assert.match(help.stdout, /^ {2}kubectl cmstate state <command> /m);
    // kubectl's own flags that cmstate has no use for are refused, not ignored.
    assert.equal(unknownOption.code, 2);
    assert.match(unknownOption.stderr, /unknown option: --cluster\nRun "kubectl cmstate --help" for usage\./);
    assert.equal(flagFirst.code, 1);
    assert.match(flagFirst.stderr, /flags cannot be placed before plugin name: -n/);
  });
});

/** `_cmstate_completions` of the bash script for a command line, the last word the one being completed. */
function bashCompletes(script: string, words: string[]): Promise<string[]> {
  const line = words.map((w) => `'${w}'`).join(' ');
  // The login shell says zsh: the script must still get bash's bare words.
  const program = `source '${script}'; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _cmstate_completions; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return run('bash', ['--norc', '--noprofile', '-c', program], { SHELL: '/bin/zsh' }).then((r) => {
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  });
}

describe('shell completion', () => {
  const STATE_COMMANDS = ['init', 'get', 'incr', 'status', 'delete', 'feedback'];
  /** The state subcommands among candidates, in their order (more may come: not pinned here). */
  const stateCommands = (candidates: string[]) => candidates.filter((c) => STATE_COMMANDS.includes(c));

  test('bash: the sourced script registers itself and completes commands, subcommands, option names and choices', async () => {
    const printed = await run(path.join(bin, 'cmstate'), ['completion', 'bash']);
    assert.equal(printed.code, 0, printed.stderr);
    const script = path.join(dir, 'cmstate.bash');
    await writeFile(script, printed.stdout);
    const [registered, command, subcommands, options, choices] = await Promise.all([
      run('bash', ['--norc', '--noprofile', '-c', `source '${script}' && complete -p cmstate`]),
      bashCompletes(script, ['cmstate', 'st']),
      bashCompletes(script, ['cmstate', 'state', '']),
      bashCompletes(script, ['cmstate', 'state', 'get', 'x', '--n']),
      bashCompletes(script, ['cmstate', 'state', 'status', 'x', 'in']),
    ]);
    assert.equal(registered.stdout.trim(), 'complete -o bashdefault -o default -F _cmstate_completions cmstate');
    assert.deepEqual(command, ['state']);
    assert.deepEqual(stateCommands(subcommands), STATE_COMMANDS);
    assert.ok(
      subcommands.every((c) => !c.startsWith('-')),
      'no options where a subcommand is due',
    );
    assert.deepEqual(options, ['--namespace', '--now'], 'no "--n": the one-letter alias is -n');
    assert.deepEqual(choices, ['in_progress']);
  });

  test('zsh: the script hands _describe candidate:description pairs', async () => {
    const printed = await run(path.join(bin, 'cmstate'), ['completion', 'zsh']);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /^#compdef cmstate\n/);
    assert.match(printed.stdout, /SHELL=zsh cmstate --get-yargs-completions "\$\{\(@\)words\[1,CURRENT\]\}"/);
    assert.match(printed.stdout, /compdef _cmstate cmstate/);
    const zsh = await run('sh', ['-c', 'command -v zsh']);
    if (zsh.code !== 0) {
      // No zsh (CI's image): what the script asks the CLI for, and gets.
      const pairs = await run(path.join(bin, 'cmstate'), ['--get-yargs-completions', 'cmstate', 'state', ''], { SHELL: 'zsh' });
      assert.ok(pairs.stdout.split('\n').includes('get:Print the state'), pairs.stdout);
      return;
    }
    const script = path.join(dir, '_cmstate');
    await writeFile(script, printed.stdout);
    // compinit's functions stubbed: what the script hands _describe for `cmstate state get x --n`.
    const program = `compdef() { :; }; _describe() { print -rl -- "\${(@P)2}"; }; _default() { print -r -- '(files)'; }
source '${script}'; words=(cmstate state get x --n); CURRENT=5; _cmstate`;
    const completed = await run(zsh.stdout.trim(), ['-f', '-c', program], { SHELL: '/bin/bash' });
    assert.equal(completed.code, 0, completed.stderr);
    const pairs = completed.stdout.split('\n').filter(Boolean);
    assert.ok(pairs.includes("--namespace:Namespace to work in (default: the context's, in a pod the service account's)"), completed.stdout);
    assert.deepEqual(
      pairs.map((line) => line.split(':')[0]),
      ['--kubeconfig', '--context', '--namespace', '--output', '--log-level', '--dry-run', '--now', '--debug', '--version', '--help'],
      'no "--n": the one-letter alias is -n',
    );
  });

  test('kubectl cmstate <TAB>: kubectl asks kubectl_complete-cmstate, which answers in cobra’s format', { skip }, async () => {
    const [subcommands, options] = await Promise.all([kubectl(['__complete', 'cmstate', 'state', '']), kubectl(['__complete', 'cmstate', 'state', 'get', 'x', '--n'])]);
    const lines = subcommands.stdout.trim().split('\n');
    assert.ok(lines.includes('get\tPrint the state'), subcommands.stdout);
    assert.deepEqual(stateCommands(lines.map((line) => line.split('\t')[0]!)), STATE_COMMANDS);
    assert.equal(lines.at(-1), ':0', 'no directive of its own: the shell completes file names when nothing matches');
    const names = options.stdout
      .trim()
      .split('\n')
      .map((line) => line.split('\t')[0]);
    assert.ok(names.includes('--namespace') && !names.includes('--n'), options.stdout);
  });

  test('completing loads neither the Kubernetes client nor pino', async () => {
    const out = path.join(dir, 'resolved.json');
    const completed = await run(process.execPath, ['--import', tsx, '--import', recorder, path.join(root, 'cli/main.ts'), '--get-yargs-completions', 'cmstate', 'state', 'get', 'x', '--'], {
      RECORD_RESOLUTIONS_TO: out,
    });
    assert.equal(completed.code, 0, completed.stderr);
    assert.ok(completed.stdout.includes('--namespace'));
    const resolved = JSON.parse(await readFile(out, 'utf8')) as string[];
    assert.ok(resolved.some((url) => url.endsWith('/jobs/state/command.ts')));
    assert.deepEqual(
      resolved.filter((url) => /\/node_modules\/(@kubernetes\/client-node|pino)\//.test(url)),
      [],
    );
  });
});
