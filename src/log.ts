// pino to stderr (stdout carries results and the summary): JSON in the cluster, readable on a TTY.

import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export function createLogger(level: LevelWithSilent, options: { pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const destination = options.destination ?? process.stderr;
  const readable = options.pretty ?? Boolean((destination as NodeJS.WriteStream).isTTY);
  if (readable) {
    return pino({ level, base: undefined }, pretty({ destination, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss', sync: true }));
  }
  return pino({ level, base: { app: 'cmstate' }, timestamp: pino.stdTimeFunctions.isoTime }, options.destination ?? pino.destination({ dest: 2, sync: true }));
}
