import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LINES = 20_000;

// The JSON logger in a process of its own, writing to its real fd 2 (a pipe here, as in a pod).
const CHILD = `
import { createLogger } from ${JSON.stringify(path.join(root, 'src/log.ts'))};
const log = createLogger('info', { pretty: false });
for (let i = 0; i < ${LINES}; i++) log.info({ object: 'ns/task-' + i + '-state', action: 'delete' }, 'delete ns/task-' + i + '-state: expired');
process.stdout.write('logged\\n');
`;

describe('the JSON logger', () => {
  test('a stderr reader that falls behind never stops the process, and every line still arrives by exit', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    // Nobody reads stderr until the child says it is done: its pipe is full long before that
    // (20,000 lines are ~1.7 MB, a pipe holds 64 KiB). A synchronous logger waits for a reader
    // there, so the child would never get to say it.
    child.stderr.pause();
    const deadline = setTimeout(() => child.kill(), 30_000);
    let stdout = '';
    child.stdout.setEncoding('utf8');
    for await (const chunk of child.stdout) {
      stdout += chunk as string;
      if (stdout.includes('logged\n')) break;
    }
    assert.equal(stdout, 'logged\n', 'the child was stopped by its logger (killed after 30 s)');
    const lines: string[] = [];
    let rest = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
    });
    child.stderr.resume();
    const [code] = (await once(child, 'close')) as [number];
    clearTimeout(deadline);
    assert.equal(code, 0);
    assert.equal(rest, '');
    assert.equal(lines.length, LINES);
    assert.equal((JSON.parse(lines.at(-1) as string) as { object: string }).object, `ns/task-${LINES - 1}-state`);
  });
});
