// `cmstate demo` (what `npm start` runs): the embedded API server with sample data, and the
// jobs run against it exactly as a user would run them, each command shown before its output.

import { z } from 'zod';
import { defineCommand } from '../../src/command.js';
import { validate } from '../../src/config.js';

const demoConfigSchema = z.object({ pushgateway: z.url().optional() });

export const demoCommand = defineCommand({
  command: 'demo',
  describe: 'Run every job against the embedded API server with sample data',
  builder: (yargs) => yargs.option('pushgateway', { type: 'string', describe: "Also push every job's metrics to this Pushgateway (e.g. to feed a dashboard)" }),
  handler: async (args, ctx) => {
    const options = validate(demoConfigSchema, args);
    return (await import('./run.js')).demo(ctx, options);
  },
});
