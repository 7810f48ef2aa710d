import { createLogger, formatOptionsHelp } from '@infermesh/shared';
import { createWorker, versionSource, WORKER_OPTIONS, type WorkerConfig } from '@infermesh/worker';
import { Registry } from 'prom-client';
import { EXIT_USAGE, type Command } from './command.js';
import { loadServerConfig } from './load-server-config.js';
import { serveUntilSignal } from './serve-until-signal.js';
import { CLI_VERSION } from '../cli-version.js';

/** `infermesh worker`: serve one model version over gRPC. */
export const workerCommand: Command = {
  help: () =>
    [
      'Usage: infermesh worker --model NAME --deployment D (--consul URL | --registry-dir DIR) [--register] [options]',
      '       infermesh worker --model NAME --version V --artifact URI --sha256 HEX [options]',
      '',
      'Serves a model over gRPC (inference.GRPCInferenceService and grpc.health.v1). With --deployment it',
      'follows models/NAME/deployments/D in the registry and hot-swaps each version promoted there (a bad',
      'version is rejected and the current one keeps serving); otherwise it serves one fixed artifact.',
      'Health is NOT_SERVING until a verified version is loaded. SIGTERM drains in-flight calls.',
      '',
      'Options (flag, else environment variable, else --config file):',
      formatOptionsHelp(WORKER_OPTIONS),
    ].join('\n'),
  async run(argv, env) {
    const config = loadServerConfig<WorkerConfig>('worker', WORKER_OPTIONS, { argv, env }, versionSource);
    if (config === undefined) return EXIT_USAGE;
    const logger = createLogger({ service: 'worker', level: config.logLevel });
    let started: { port: number } | undefined;
    return serveUntilSignal(
      'worker',
      logger,
      async () => (started = await createWorker(config, { logger, registry: new Registry(), serverVersion: CLI_VERSION })),
      () => logger.info({ port: started?.port }, 'worker serving'),
    );
  },
};
