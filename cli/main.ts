// The entry file: runs the CLI on process.argv and sets the exit code (never process.exit, so
// buffered output and logs are flushed).

import { hideBin } from 'yargs/helpers';
import { runCli } from '../src/cli.js';
import { commands } from './commands.js';

const stop = new AbortController();
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    process.stderr.write(`cmstate: ${signal} received: finishing actions in flight, then reporting\n`);
    stop.abort();
  });
}
process.exitCode = await runCli(hideBin(process.argv), commands, { signal: stop.signal });
