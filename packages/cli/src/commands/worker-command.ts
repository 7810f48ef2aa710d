import { createWorker, versionSource, WORKER_OPTIONS } from '@infermesh/worker';
import { serverCommand } from './server-command.js';
import { CLI_VERSION } from '../cli-version.js';

/** `infermesh worker`: serve one model version over gRPC. */
export const workerCommand = serverCommand({
  name: 'worker',
  service: 'worker',
  about: [
    'Usage: infermesh worker --model NAME --deployment D (--consul URL | --registry-dir DIR) [--register] [options]',
    '       infermesh worker --model NAME --version V --artifact URI --sha256 HEX [options]',
    '',
    'Serves a model over gRPC (inference.GRPCInferenceService and grpc.health.v1). With --deployment it',
    'follows models/NAME/deployments/D in the registry and hot-swaps each version promoted there (a bad',
    'version is rejected and the current one keeps serving); otherwise it serves one fixed artifact.',
    'Health is NOT_SERVING until a verified version is loaded. SIGTERM drains in-flight calls.',
  ],
  options: WORKER_OPTIONS,
  check: versionSource,
  start: (config, { logger, registry }) => createWorker(config, { logger, registry, serverVersion: CLI_VERSION }),
  onReady: (worker, logger) => logger.info({ port: worker.port }, 'worker serving'),
});
