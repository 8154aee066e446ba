import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { ExitCode, RefusedError } from '../../../src/exit.js';
import { concludeRun } from '../../../src/job/conclusion.js';
import { Tally } from '../../../src/job/tally.js';
import { createLogger } from '../../../src/log.js';

function logged() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).trim().split('\n'));
      done();
    },
  });
  return { log: createLogger('info', { destination, pretty: false }), messages: () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

describe('concludeRun: how every run ends', () => {
  const job = { name: 'verify', dryRun: false, startedAt: performance.now() };
  const running = new AbortController().signal;

  test('ok without failures; the summary counts what the tally saw', () => {
    const tally = new Tally(['verify']);
    tally.observed = 2;
    tally.apply('verify', 2);
    const { log } = logged();
    const { summary, exitCode } = concludeRun(log, running, tally, job);
    assert.equal(exitCode, ExitCode.ok);
    assert.deepEqual([summary.job, summary.observed, summary.applied.verify, summary.failed], ['verify', 2, 2, 0]);
  });

  test('failed on any failure, each listed (at most 20, then a count)', () => {
    const tally = new Tally(['verify']);
    for (let i = 0; i < 25; i++) tally.fail(`f${i}`, `f${i} is damaged`);
    const { log, messages } = logged();
    assert.equal(concludeRun(log, running, tally, job).exitCode, ExitCode.failed);
    assert.deepEqual(messages().slice(-2), ['f19 is damaged', '... and 5 more failures']);
  });

  test('refused beats failures; a fatal error chooses its own code; a signal fails the run', () => {
    const tally = new Tally([]);
    tally.fail('x', 'x failed');
    assert.equal(concludeRun(logged().log, running, tally, job, { refusal: new RefusedError('the circuit breaker') }).exitCode, ExitCode.refused);
    assert.equal(concludeRun(logged().log, running, new Tally([]), job, { fatal: new Error('boom') }).exitCode, ExitCode.failed);
    const stopped = new AbortController();
    stopped.abort();
    const { log, messages } = logged();
    assert.equal(concludeRun(log, stopped.signal, new Tally([]), job).exitCode, ExitCode.failed);
    assert.match(messages().at(-1) ?? '', /stopped by a signal/);
  });
});
