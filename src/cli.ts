// The yargs parser: global options, one module per command, strict. Exported for tests; only
// src/main.ts runs it against process.argv.

import yargs from 'yargs';
import { globalOptions } from './config.js';
import type { CommandIo } from './command.js';
import { ExitCode, oneLine } from './exit.js';
import { commands } from './commands.js';
import { version } from './version.js';

export async function runCli(argv: string[], overrides: Partial<CommandIo> = {}): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const io: CommandIo = {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: process.stderr,
    signal: new AbortController().signal,
    exit: (code) => {
      exitCode = code;
    },
    ...overrides,
  };
  const parser = globalOptions(yargs(argv))
    .scriptName('cmstate')
    .usage('cmstate <command> [options]\n\nKeeps task-state ConfigMaps (task-{id}-state) healthy: TTL sweeps, repair, snapshots, metrics, and the state operations of one task.')
    .command(commands.map((make) => make(io)))
    .demandCommand(1, 'Name a command; `cmstate --help` lists them.')
    .recommendCommands()
    .strict()
    .env('CMSTATE')
    .epilogue('Every option can also be set as CMSTATE_<OPTION> (e.g. CMSTATE_NAMESPACE, CMSTATE_DRY_RUN).\nExit codes: 0 done, 1 failed, 2 usage, 3 refused by a safety rule.')
    .version(version)
    .help()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((message, err) => {
      io.stderr.write(`cmstate: ${message ?? oneLine(err)}\nRun "cmstate --help" for usage.\n`);
      exitCode = ExitCode.usage;
    });
  await parser.parseAsync();
  return exitCode;
}
