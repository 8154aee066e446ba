// `cmstate verify FILE` or `cmstate verify --dir D`: checks snapshots without touching a cluster
// (so it needs no kubeconfig, lock or API access); ends like every job (src/job/conclusion.ts):
// failures listed, the same exit codes, one summary line last.

import { z } from 'zod';
import { defineCommand } from '../../src/command.js';
import { validate } from '../../src/config.js';
import { concludeRun, printSummary } from '../../src/job/conclusion.js';
import { Tally } from '../../src/job/tally.js';
import { listSnapshots, verifySnapshot } from '../../src/snapshot/reader.js';

const verifyConfigSchema = z
  .object({ file: z.string().min(1).optional(), dir: z.string().min(1).optional() })
  .refine((o) => (o.file === undefined) !== (o.dir === undefined), { message: 'name one snapshot FILE or --dir D, not both or neither', path: ['dir'] });

export const verifyCommand = defineCommand({
  command: 'verify [file]',
  describe: 'Check snapshot files: manifest, checksums, every object a ConfigMap (exit 1 naming the first bad object)',
  builder: (yargs) =>
    yargs.positional('file', { type: 'string', describe: 'A snapshot .ndjson.gz or .manifest.json file' }).option('dir', { type: 'string', describe: 'Verify every snapshot in this directory' }),
  offline: true,
  handler: async (args, ctx) => {
    const options = validate(verifyConfigSchema, args);
    const startedAt = performance.now();
    const tally = new Tally(['verify']);
    const files = options.file !== undefined ? [options.file] : (await listSnapshots(options.dir ?? '')).map((listing) => listing.file);
    if (files.length === 0) tally.fail(options.dir ?? '', `no snapshots in ${options.dir}`);
    for (const file of files) {
      if (ctx.signal.aborted) break;
      tally.observed++;
      tally.plan('verify');
      const result = await verifySnapshot(file);
      if (result.ok) {
        tally.apply('verify');
        const exposed = result.exposed.map((f) => `${f.path} (mode ${f.mode})`);
        if (ctx.config.output === 'json')
          ctx.print(JSON.stringify({ file: result.file, ok: true, objects: result.objects, bytes: result.bytes, createdAt: result.manifest.createdAt, readableByOthers: exposed }));
        else ctx.print(`ok ${result.file}: ${result.objects} objects, ${result.bytes} bytes, taken ${result.manifest.createdAt}`);
        // Intact, but every task's data is open to other users: a warning, not a failure.
        if (exposed.length > 0) {
          const fix = `chmod 600 ${result.exposed.map((f) => f.path).join(' ')}`;
          ctx.log.warn({ file: result.file, readableByOthers: exposed }, `snapshot readable by other users: ${exposed.join(', ')}; ${fix}`);
          if (ctx.config.output !== 'json') ctx.print(`warning ${result.file}: readable by other users: ${exposed.join(', ')}; ${fix}`);
        }
      } else {
        tally.fail(result.file, result.error);
        if (ctx.config.output === 'json') ctx.print(JSON.stringify({ file: result.file, ok: false, error: result.error, object: result.object }));
        else ctx.print(`BAD ${result.file}: ${result.error}`);
      }
    }
    // Ends like every job: failures listed, the same exit codes, the summary last.
    const { summary, exitCode } = concludeRun(ctx.log, ctx.signal, tally, { name: 'verify', dryRun: false, startedAt });
    printSummary(ctx.print, ctx.config.output, summary);
    return exitCode;
  },
});
