import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoneError } from '../../../src/kube/errors.js';
import type { ListOptions, WatchEvent } from '../../../src/kube/client.js';
import type { ConfigMap } from '../../../src/kube/types.js';
import { watchStates, type WatchClient } from '../../../src/state/watch.js';

/** A server whose history is always too short: every watch from the last list's version is 410 at once. */
function alwaysGone(): WatchClient & { lists: number } {
  const client = {
    lists: 0,
    // eslint-disable-next-line require-yield
    async *listConfigMapPages(options: ListOptions): AsyncGenerator<ConfigMap[]> {
      client.lists++;
      options.onSnapshot?.(String(client.lists));
    },
    // eslint-disable-next-line require-yield
    async *watchConfigMaps(): AsyncGenerator<WatchEvent> {
      throw new GoneError('too old resource version', 410, { verb: 'watch', resource: 'configmaps' });
    },
  };
  return client as unknown as WatchClient & { lists: number };
}

test('a watch that is gone before any event lists again only after a pause, doubling: never in a loop', async () => {
  const client = alwaysGone();
  const stop = new AbortController();
  const watching = (async () => {
    for await (const change of watchStates(client, { signal: stop.signal, backoffMs: { initial: 20, max: 80 } })) void change;
  })();
  await new Promise((resolve) => setTimeout(resolve, 500));
  stop.abort();
  await watching;
  // Pauses of 20, 40, 80, 80, ... ms: about 8 lists in 500 ms; without them, thousands.
  assert.ok(client.lists >= 3 && client.lists <= 12, `${client.lists} lists in 500 ms`);
});
