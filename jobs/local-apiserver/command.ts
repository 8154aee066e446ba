// `cmstate local-apiserver`: the embedded API server on 127.0.0.1 until stopped, for trying
// cmstate and kubectl without a cluster.

import { z } from 'zod';
import { defineCommand } from '../../src/command.js';
import { validate } from '../../src/config.js';

export const localApiServerCommand = defineCommand({
  command: 'local-apiserver',
  describe: 'Serve the embedded Kubernetes API server on 127.0.0.1 until stopped',
  builder: (yargs) =>
    yargs
      .option('port', { type: 'number', default: 8001, describe: 'Port on 127.0.0.1 (0: any free port)' })
      .option('data', { type: 'string', describe: 'Persist objects to this JSON file (loaded at start)' })
      .option('write-kubeconfig', { type: 'string', describe: 'Write a kubeconfig pointing at the server here (with an admin token)' })
      .option('token-auth-file', {
        type: 'string',
        describe: 'Bearer tokens and their users, as kube-apiserver\'s --token-auth-file (token,user,uid,"group1,group2"); default: one admin token',
      })
      .option('seed', { type: 'number', default: 0, describe: 'Create this many sample task states in the namespace' }),
  handler: async (args, ctx) => {
    const opts = validate(z.object({ port: z.number().int().min(0).max(65535), seed: z.number().int().min(0).max(1_000_000) }), args);
    const [{ LocalApiServer }, { sampleStates }] = await Promise.all([import('../../src/local-apiserver/index.js'), import('../../src/state/samples.js')]);
    const server = await LocalApiServer.start({ port: opts.port, dataFile: args.data, tokenAuthFile: args.tokenAuthFile });
    const namespace = ctx.config.namespace ?? 'default';
    if (opts.seed > 0) server.seed(sampleStates(opts.seed, namespace, ctx.now().startOf('second')));
    if (args.writeKubeconfig) await server.writeKubeconfig(args.writeKubeconfig, namespace);
    ctx.log.info({ url: server.url, data: args.data, kubeconfig: args.writeKubeconfig, seeded: opts.seed }, `local API server listening on ${server.url}`);
    ctx.print(args.writeKubeconfig ? `serving ${server.url}; try: kubectl --kubeconfig ${args.writeKubeconfig} get configmaps` : `serving ${server.url}`);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.close();
  },
});
