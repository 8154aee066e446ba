// pino to stderr (stdout carries results and the summary): JSON in the cluster, readable on a TTY.
//
// The JSON lines are written asynchronously. In a pod stderr is a pipe the container runtime
// drains, and Node leaves it non-blocking: a synchronous write that finds the pipe full gets
// EAGAIN, and pino's destination then sleeps 100 ms with the whole process frozen before it tries
// again. A sweep logging a line per delete froze that way for most of its run whenever the reader
// fell behind (20,000 lines: 9-11 s synchronous, 0.09 s asynchronous). Asynchronous lines are
// buffered while the pipe is full, and flushed before the process exits.

import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export function createLogger(level: LevelWithSilent, options: { pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const destination = options.destination ?? process.stderr;
  const readable = options.pretty ?? Boolean((destination as NodeJS.WriteStream).isTTY);
  if (readable) {
    return pino({ level, base: undefined }, pretty({ destination, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss', sync: true }));
  }
  return pino({ level, base: { app: 'cmstate' }, timestamp: pino.stdTimeFunctions.isoTime }, options.destination ?? pino.destination({ dest: 2, sync: false }));
}
