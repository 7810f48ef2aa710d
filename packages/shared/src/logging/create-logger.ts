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
  const settings = {
    level: options.level,
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (options.destination !== undefined) return pino(settings, options.destination);
  const stdout = pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES });
  // A flush is due only after something was logged: a quiet process makes no writes and no wake-ups
  // (sonic-boom's own periodicFlush writes every interval, logged or not).
  let flushTimer: NodeJS.Timeout | undefined;
  let loggedSinceFlush = false;
  const flush = (): void => {
    flushTimer = undefined;
    stdout.flush();
    // A flush during a write in flight does nothing, and lines logged meanwhile stay buffered: look once more.
    if (loggedSinceFlush) {
      loggedSinceFlush = false;
      flushTimer = setTimeout(flush, LOG_FLUSH_INTERVAL_MS).unref();
    }
  };
  const flushSoon = (line: string): string => {
    loggedSinceFlush = true;
    flushTimer ??= setTimeout(flush, LOG_FLUSH_INTERVAL_MS).unref();
    return line;
  };
  return pino({ ...settings, hooks: { streamWrite: flushSoon } }, stdout);
}

export type { Logger };
