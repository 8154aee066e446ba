// Runs the CLI in-process (fast, for integration tests) or as a separate process (end-to-end),
// capturing stdout lines, stderr and the exit code.

import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { commands } from '../../cli/commands.js';

export interface CliResult {
  code: number;
  stdout: string[];
  stderr: string;
  /** The last stdout line parsed as JSON (the summary with --output json). */
  json<T = Record<string, unknown>>(): T;
}

function result(code: number, stdout: string[], stderr: string): CliResult {
  return {
    code,
    stdout,
    stderr,
    json: <T>() => {
      const last = stdout.filter((l) => l.trim()).at(-1);
      if (last === undefined) throw new Error(`no stdout; stderr: ${stderr}`);
      return JSON.parse(last) as T;
    },
  };
}

/** `onStdout` and `onStderr` see the output as it is written, for a test that waits for a command to get somewhere. */
export async function cli(args: string[], options: { signal?: AbortSignal; onStdout?: (line: string) => void; onStderr?: (text: string) => void } = {}): Promise<CliResult> {
  const stdout: string[] = [];
  let stderr = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      stderr += String(chunk);
      options.onStderr?.(String(chunk));
      done();
    },
  });
  const print = (line: string) => {
    stdout.push(...line.split('\n'));
    options.onStdout?.(line);
  };
  const code = await runCli(args, commands, { stdout: print, stderr: sink, signal: options.signal ?? new AbortController().signal });
  return result(code, stdout, stderr);
}

const root = path.resolve(import.meta.dirname, '../..');

/** The CLI as users run it: a separate Node process. */
export function cliProcess(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'cli/main.ts'), ...args],
      { cwd: root, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve(
          result(
            code,
            stdout.split('\n').filter((l) => l.length),
            stderr,
          ),
        );
      },
    );
  });
}
