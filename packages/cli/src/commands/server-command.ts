import { createLogger, formatOptionsHelp, type Logger, type LoggerOptions, type OptionSpec } from '@infermesh/shared';
import { Registry } from 'prom-client';
import { EXIT_USAGE, type Command } from './command.js';
import { loadServerConfig } from './load-server-config.js';
import { serveUntilSignal, type ServerProcess } from './serve-until-signal.js';

/** What a long-running server command is made of (`gateway`, `worker`, `aggregate`). */
export interface ServerCommandSpec<C extends { logLevel: LoggerOptions['level'] }, S extends ServerProcess> {
  /** The subcommand, as its error messages name it. */
  readonly name: string;
  /** The `service` of its log lines. */
  readonly service: string;
  /** The help's usage and description lines; the options' table follows them. */
  readonly about: readonly string[];
  readonly options: readonly OptionSpec[];
  /** Checks the loaded configuration before anything starts; throws what the operator must fix. */
  readonly check: (config: C) => unknown;
  /** Builds the server with the process's logger and a metrics registry of its own. */
  readonly start: (config: C, dependencies: { logger: Logger; registry: Registry }) => Promise<S>;
  /** Called once the server serves. */
  readonly onReady?: (server: S, logger: Logger) => void;
}

/** A command that loads and checks its configuration (exit 2 if it is wrong), then serves until SIGTERM or SIGINT. */
export function serverCommand<C extends { logLevel: LoggerOptions['level'] }, S extends ServerProcess>(spec: ServerCommandSpec<C, S>): Command {
  return {
    help: () => [...spec.about, '', 'Options (flag, else environment variable, else --config file):', formatOptionsHelp(spec.options)].join('\n'),
    async run(argv, env) {
      const config = loadServerConfig<C>(spec.name, spec.options, { argv, env }, spec.check);
      if (config === undefined) return EXIT_USAGE;
      const logger = createLogger({ service: spec.service, level: config.logLevel });
      let server: S | undefined;
      const onReady = spec.onReady === undefined ? undefined : () => spec.onReady?.(server!, logger);
      return serveUntilSignal(spec.name, logger, async () => (server = await spec.start(config, { logger, registry: new Registry() })), onReady);
    },
  };
}
