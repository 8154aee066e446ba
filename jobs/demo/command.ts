// `cmstate demo` (what `npm start` runs): the embedded API server with sample data, and the
// jobs run against it exactly as a user would run them, each command shown before its output.

import { defineCommand } from '../../src/command.js';

export const demoCommand = defineCommand({
  command: 'demo',
  describe: 'Run every job against the embedded API server with sample data',
  handler: async (_args, ctx) => (await import('./run.js')).demo(ctx),
});
