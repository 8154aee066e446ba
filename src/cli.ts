// The yargs parser: global options, one module per command, strict. The commands are handed in
// (cli/commands.ts lists them), so nothing here imports a job. Exported for tests; only
// cli/main.ts runs it against process.argv. The name it shows follows the file Node runs.

import path from 'node:path';
import yargs from 'yargs';
import { globalOptions } from './config.js';
import type { CommandFactory, CommandIo } from './command.js';
import { ExitCode, UsageError, oneLine } from './exit.js';
import { version } from './version.js';

export async function runCli(argv: string[], commands: readonly CommandFactory[], overrides: Partial<CommandIo> = {}): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const io: CommandIo = {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: process.stderr,
    signal: new AbortController().signal,
    exit: (code) => {
      exitCode = code;
    },
    // Another command of the same CLI, for commands that run others (the demo).
    run: (args, io) => runCli(args, commands, io),
    ...overrides,
  };
  const name = programName(process.argv[1]);
  const parser = globalOptions(yargs(argv))
    .scriptName(name)
    .usage(`${name} <command> [options]\n\nKeeps task-state ConfigMaps (task-{id}-state) healthy: TTL sweeps, repair, snapshots, metrics, and the state operations of one task.`)
    .command(commands.map((make) => make(io)))
    .demandCommand(1, `Name a command; \`${name} --help\` lists them.`)
    .recommendCommands()
    .strictCommands()
    // Strict about flags on the command line only: CMSTATE_* variables meant for other commands
    // or tools (CMSTATE_TEST_KUBECONFIG, a chart's shared env) must not break a command.
    .check((_argv, options) => {
      const unknown = unknownFlags(argv, options as unknown as KnownOptions);
      if (unknown.length) throw new UsageError(`unknown option${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
      return true;
    }, true)
    .env('CMSTATE')
    .epilogue('Every option can also be set as CMSTATE_<OPTION> (e.g. CMSTATE_NAMESPACE, CMSTATE_DRY_RUN).\nExit codes: 0 done, 1 failed, 2 usage, 3 refused by a safety rule.')
    .version(version)
    .help()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((message, err) => {
      io.stderr.write(`cmstate: ${message ?? oneLine(err)}\nRun "${name} --help" for usage.\n`);
      // Thrown so that yargs stops here instead of running the handler anyway.
      throw new UsageReported();
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    if (!(err instanceof UsageReported)) throw err;
    exitCode = ExitCode.usage;
  }
  return exitCode;
}

/**
 * The name usage lines show: `kubectl cmstate` when kubectl runs the CLI as its plugin (the file
 * run is kubectl-cmstate, npm's link, or bin/kubectl-cmstate.js where npm wraps bins in .cmd
 * files), else cmstate.
 */
function programName(invokedAs = ''): string {
  return /^kubectl-cmstate(\.[cm]?js)?$/.test(path.basename(invokedAs)) ? 'kubectl cmstate' : 'cmstate';
}

class UsageReported extends Error {
  override name = 'UsageReported';
}

interface KnownOptions {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
}

/** Flags on the command line that no option of the chosen command declares. */
export function unknownFlags(argv: readonly string[], options: KnownOptions): string[] {
  const known = new Set<string>(Object.keys(options.key));
  for (const [name, aliases] of Object.entries(options.alias)) for (const alias of [name, ...aliases]) known.add(alias);
  const unknown: string[] = [];
  for (const token of argv) {
    if (token === '--') break;
    const long = /^--(?:no-)?([^=]+)/.exec(token)?.[1];
    const shorts = long === undefined && /^-[A-Za-z]+$/.test(token) ? [...token.slice(1)] : [];
    for (const name of long === undefined ? shorts : [long]) {
      const camel = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      if (!known.has(name) && !known.has(camel)) unknown.push(long === undefined ? `-${name}` : `--${name}`);
    }
  }
  return unknown;
}
