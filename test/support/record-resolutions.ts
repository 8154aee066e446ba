// Preloaded into a CLI process (`node --import tsx --import <this file>`): records every module
// the process resolves, for tests of what a command loads. The list goes to the file named by
// RECORD_RESOLUTIONS_TO when the process exits. With FAIL_RESOLVING set, resolving that specifier
// fails as a package missing from the install would.

import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const out = process.env.RECORD_RESOLUTIONS_TO;
const failing = process.env.FAIL_RESOLVING;
const resolved = new Set<string>();

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === failing) {
      throw Object.assign(new Error(`Cannot find package '${specifier}' imported from ${context.parentURL ?? 'the command line'}`), { code: 'ERR_MODULE_NOT_FOUND' });
    }
    const result = nextResolve(specifier, context);
    resolved.add(result.url);
    return result;
  },
});

if (out) process.once('exit', () => writeFileSync(out, JSON.stringify([...resolved])));
