import { InfermeshError, type Logger } from '@infermesh/shared';
import { EXIT_FAILURE } from './command.js';

/**
 * Milliseconds a process that could not start may take to wind down before it is ended. The
 * server releases what it started; this bounds the damage if some handle was missed, so a
 * failed process never lingers half-alive (watching configs, holding pools) without serving.
 */
export const FAILED_START_EXIT_MS = 2_000;

/** A long-running server as the CLI runs it. */
export interface ServerProcess {
  /** Resolves once it serves; rejects if it cannot start. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a server, runs it until SIGTERM or SIGINT, stops it gracefully and returns the exit
 * code; a start-up failure is logged (JSON) and told to the operator on stderr (exit 1).
 * Signals are honoured from the moment the server exists: a worker still waiting for its
 * first version stops gracefully (deregistering, draining) instead of being killed outright.
 */
export async function serveUntilSignal(name: string, logger: Logger, start: () => Promise<ServerProcess>, onReady?: () => void): Promise<number> {
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  let server: ServerProcess | undefined;
  try {
    server = await start();
    const first = await Promise.race([server.ready.then(() => 'ready' as const), signalled]);
    if (first === 'ready') onReady?.();
    const signal = first === 'ready' ? await signalled : first;
    logger.info({ signal }, 'shutting down');
    await server.stop();
    logger.flush();
    return 0;
  } catch (error) {
    await server?.stop().catch(() => undefined);
    const typed = InfermeshError.from(error);
    logger.fatal({ code: typed.code, err: error }, `${name} cannot start`);
    logger.flush();
    process.stderr.write(`infermesh ${name}: cannot start: [${typed.code}] ${typed.message}\n`);
    setTimeout(() => process.exit(EXIT_FAILURE), FAILED_START_EXIT_MS).unref();
    return EXIT_FAILURE;
  }
}
