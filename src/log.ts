// One logger for the whole program; each module takes a child: log.child({ mod: 'vfs' }).
// Logs go to stderr so that CLI output on stdout stays clean for people and scripts.
import { pino } from 'pino';
import { LogStream } from './log-stream.js';

const stream = new LogStream(2);

export const log = pino({ level: process.env.TIERFS_LOG_LEVEL ?? 'info', base: { pid: process.pid } }, stream);

/** Writes out what is logged, now: before a process dies of a signal, which runs no 'exit' handler. */
export function flushLogSync(): void {
  stream.flushSync();
}

export function moduleLogger(mod: string) {
  return log.child({ mod });
}
