import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Bytes of log lines gathered before one write to stdout: a busy gateway logs a line per request, and a write each costs more than the line. */
export const LOG_BUFFER_BYTES = 4096;
/** Milliseconds a buffered line waits at most before it is written (a quiet process still logs promptly). */
export const LOG_FLUSH_INTERVAL_MS = 200;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Process role, e.g. `worker`; on every line as `service`. */
  service: string;
  level: LevelWithSilent;
  /** Where lines go; stdout when omitted. */
  destination?: DestinationStream;
}

/**
 * A JSON-lines logger: one object per event, ISO timestamps, level names not numbers. On stdout,
 * lines are written in batches (at most {@link LOG_FLUSH_INTERVAL_MS} late); pino flushes them
 * on exit (after a SIGTERM's graceful stop too), on a crash and on a fatal log, so only a SIGKILL
 * or a power cut loses the last moments.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_INTERVAL_MS }),
  );
}

export type { Logger };
