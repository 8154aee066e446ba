// `cmstate completion [bash|zsh]`: prints the shell completion script. `kubectl cmstate …`
// completes through kubectl's own completion instead (bin/kubectl_complete-cmstate).

import { defineCommand } from '../../src/command.js';
import { SHELLS, completionScript, defaultShell } from './scripts.js';

export const completionCommand = defineCommand({
  command: 'completion [shell]',
  describe: 'Print the shell completion script: source <(cmstate completion bash), or zsh',
  builder: (yargs) => yargs.positional('shell', { choices: SHELLS, default: defaultShell(process.env.SHELL), defaultDescription: 'from $SHELL, else bash', describe: 'The shell' }),
  offline: true,
  handler: async (args, ctx) => {
    ctx.print(completionScript(args.shell).trimEnd());
  },
});
