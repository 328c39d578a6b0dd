import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from '../../config/config.js';
import { createLogger } from '../log.js';
import { createLogFileSink, type LogFileSink } from './log-file-sink.js';

/**
 * The logger of a long-running flowguard (serve, worker): JSON lines on stdout and, when `logFile` is set, the
 * same lines (one logger: the same redaction and scrubbing) in a rotated, expiring file.
 */
export function createAppLogger(
  config: Pick<Config, 'logLevel' | 'logFile'>,
  opts: { stdout?: DestinationStream; clock?: () => Date } = {},
): { logger: Logger; sink: LogFileSink | undefined; close(): void } {
  if (!config.logFile) {
    return { logger: createLogger(config.logLevel, opts.stdout), sink: undefined, close() {} };
  }
  const sink = createLogFileSink(config.logFile, opts.clock);
  // Each stream takes every level: the logger's own level decides what is written.
  const streams = pino.multistream([
    { level: 'trace', stream: opts.stdout ?? pino.destination(1) },
    { level: 'trace', stream: sink },
  ]);
  return { logger: createLogger(config.logLevel, streams), sink, close: () => sink.close() };
}
