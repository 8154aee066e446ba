// `cmstate schema`: the JSON Schema of the wire format, generated from the zod schemas, for
// controllers written in other languages.

import { defineCommand } from '../../src/command.js';
import { jsonSchema } from '../../src/state/schema.js';

export const schemaCommand = defineCommand({
  command: 'schema',
  describe: 'Print the JSON Schema of the task state wire format',
  offline: true,
  handler: async (_args, ctx) => {
    ctx.print(JSON.stringify(jsonSchema(), null, 2));
  },
});
