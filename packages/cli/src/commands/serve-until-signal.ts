import { InfermeshError, type Logger } from '@infermesh/shared';
import { EXIT_FAILURE } from './command.js';

/** A long-running server as the CLI runs it. */
export interface ServerProcess {
  /** Resolves once it serves; rejects if it cannot start. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a server, runs it until SIGTERM or SIGINT, stops it gracefully and returns the exit
 * code; a start-up failure is logged (JSON) and told to the operator on stderr (exit 1).
 */
export async function serveUntilSignal(name: string, logger: Logger, start: () => Promise<ServerProcess>, onReady?: () => void): Promise<number> {
  try {
    const server = await start();
    await server.ready;
    onReady?.();
    await new Promise<void>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        logger.info({ signal }, 'shutting down');
        server.stop().then(resolve, resolve);
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    });
    logger.flush();
    return 0;
  } catch (error) {
    const typed = InfermeshError.from(error);
    logger.fatal({ code: typed.code, err: error }, `${name} cannot start`);
    logger.flush();
    process.stderr.write(`infermesh ${name}: cannot start: [${typed.code}] ${typed.message}\n`);
    return EXIT_FAILURE;
  }
}
