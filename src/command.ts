// What every command handler gets: validated global config, a logger, stdout, the clock (or
// --now), a stop signal for SIGTERM, and a way to connect that builds the KubeConfig only when
// the handler runs. One wrapper turns whatever a handler throws into one line and an exit code.
//
// Start-up: the parser builds every command, so a command module imports only what its options
// need; its handler imports the rest (the job's run module, the runner) when it runs, and the
// wrapper loads the Kubernetes client only for a command that may reach a cluster.

import { DateTime } from 'luxon';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { globalConfigSchema, validate, type GlobalConfig } from './config.js';
import { ExitCode, exitCodeFor, oneLine } from './exit.js';
import type { Connection } from './connect.js';
import type { KubeClientOptions } from './kube/client.js';
import type { Logger } from './log.js';

export interface CommandIo {
  stdout: (line: string) => void;
  stderr: NodeJS.WritableStream;
  /** Aborted on SIGTERM/SIGINT: stop starting new work, finish and report. */
  signal: AbortSignal;
  /** Where the exit code goes; the entry file sets process.exitCode from it. */
  exit: (code: number) => void;
  /** Runs another command of the same CLI in-process with its own io; its exit code. */
  run: (args: string[], io: Partial<CommandIo>) => Promise<number>;
}

export interface CommandContext {
  config: GlobalConfig;
  log: Logger;
  print: (line: string) => void;
  /** --now when given, else the wall clock; the only clock a command decides by (run metrics' timestamps are the wall clock's). */
  now: () => DateTime;
  signal: AbortSignal;
  connect: (options?: KubeClientOptions) => Connection;
  /** Runs another command of the same CLI in-process (CommandIo.run). */
  runCommand: CommandIo['run'];
}

export type Handler<A> = (args: ArgumentsCamelCase<A>, ctx: CommandContext) => Promise<number | void>;

/** A command bound to its io; the registry and parent commands hold these. */
export type CommandFactory = (io: CommandIo) => CommandModule;

export function defineCommand<A>(spec: {
  command: string | string[];
  describe: string;
  /** Gets the io too, so a command can nest subcommands. */
  builder?: (yargs: Argv, io: CommandIo) => Argv<A>;
  /** Touches no cluster: ctx.connect throws, and the Kubernetes client is never loaded. */
  offline?: boolean;
  handler: Handler<A>;
}): CommandFactory {
  const make = (io: CommandIo): CommandModule<object, A> => ({
    command: spec.command,
    describe: spec.describe,
    builder: (spec.builder ? (yargs: Argv) => spec.builder!(yargs, io) : undefined) as CommandModule<object, A>['builder'],
    handler: async (args) => {
      let log: Logger | undefined;
      let debug = false;
      try {
        const config = validate(globalConfigSchema, args);
        debug = config.debug;
        const { createLogger } = await import('./log.js');
        log = createLogger(config.logLevel, { destination: io.stderr });
        const connect = spec.offline ? offline : (await import('./connect.js')).connector(config, log);
        const ctx = makeContext(config, log, io, connect);
        io.exit((await spec.handler(args, ctx)) ?? ExitCode.ok);
      } catch (err) {
        const line = oneLine(err);
        if (log) log.error({ err: debug ? err : undefined }, line);
        else io.stderr.write(`cmstate: ${line}\n`);
        if (debug && err instanceof Error && err.stack && !log) io.stderr.write(`${err.stack}\n`);
        io.exit(exitCodeFor(err));
      }
    },
  });
  return make as unknown as CommandFactory;
}

function makeContext(config: GlobalConfig, log: Logger, io: CommandIo, connect: CommandContext['connect']): CommandContext {
  const fixedNow = config.now;
  return {
    config,
    log,
    print: io.stdout,
    now: () => fixedNow ?? DateTime.utc(),
    signal: io.signal,
    connect,
    runCommand: io.run,
  };
}

/** ctx.connect of an offline command: a handler that calls it contradicts its definition. */
const offline: CommandContext['connect'] = () => {
  throw new Error('an offline command cannot connect to a cluster');
};
