import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Process role, e.g. `worker`; on every line as `service`. */
  service: string;
  level: LevelWithSilent;
  /** Where lines go; stdout when omitted. */
  destination?: DestinationStream;
}

/** A JSON-lines logger: one object per event, ISO timestamps, level names not numbers. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export type { Logger };
