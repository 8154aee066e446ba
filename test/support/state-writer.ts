// A controller in another process, for the watch tests: it reads one write per stdin line (JSON)
// and does it through the StateManager, answering "ok" or "error <message>" on stdout, so a test
// scripts the writes and knows when each has landed.
//
//   node --import tsx test/support/state-writer.ts <kubeconfig> <namespace>
//   {"op":"init","id":"a"} {"op":"incr","id":"a"} {"op":"status","id":"a","to":"failed"}
//   {"op":"feedback","id":"a","entry":"f1"} {"op":"delete","id":"a"}

import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { StateManager } from '../../src/state/manager.js';
import type { TaskStatus } from '../../src/state/schema.js';

export interface Write {
  op: 'init' | 'incr' | 'status' | 'feedback' | 'delete';
  id: string;
  to?: TaskStatus;
  entry?: string;
  /** A feedback description of this many incompressible bytes (default: the entry id). */
  bytes?: number;
}

const [kubeconfig, namespace] = process.argv.slice(2);
if (!kubeconfig || !namespace) throw new Error('usage: state-writer.ts <kubeconfig> <namespace>');
const manager = new StateManager({ client: new KubeClient(loadKubeConfig({ kubeconfig }).kubeConfig, { qps: 1000 }), namespace });

async function apply(write: Write): Promise<void> {
  switch (write.op) {
    case 'init':
      await manager.getOrCreate(write.id);
      return;
    case 'incr':
      await manager.incrementIteration(write.id);
      return;
    case 'status':
      await manager.setStatus(write.id, write.to ?? 'failed', `scripted ${write.to}`);
      return;
    case 'feedback': {
      const { iteration } = await manager.get(write.id);
      const entry = write.entry ?? 'entry';
      // Random text: the StateManager gzips feedback past 64 KiB, and padding would shrink to nothing.
      const description = write.bytes ? `${entry} ${randomBytes(write.bytes).toString('base64').slice(0, write.bytes)}` : entry;
      await manager.appendFeedback(write.id, { id: entry, timestamp: new Date().toISOString(), iteration, author: 'writer', severity: 'low', issue_type: 'lint', description, resolved: false });
      return;
    }
    case 'delete':
      await manager.delete(write.id);
      return;
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  try {
    await apply(JSON.parse(line) as Write);
    process.stdout.write('ok\n');
  } catch (err) {
    process.stdout.write(`error ${(err as Error).message.replace(/\n/g, ' ')}\n`);
  }
}
