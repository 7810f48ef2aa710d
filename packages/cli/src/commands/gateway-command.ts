import { createLogger, formatOptionsHelp } from '@infermesh/shared';
import { checkGatewayConfig, createGateway, GATEWAY_OPTIONS, type GatewayConfig } from '@infermesh/gateway';
import { Registry } from 'prom-client';
import { EXIT_USAGE, type Command } from './command.js';
import { loadServerConfig } from './load-server-config.js';
import { serveUntilSignal } from './serve-until-signal.js';
import { CLI_VERSION } from '../cli-version.js';

/** `infermesh gateway`: the HTTP entry point for prediction clients. */
export const gatewayCommand: Command = {
  help: () =>
    [
      'Usage: infermesh gateway [--consul URL | --registry-dir DIR] [options]',
      '',
      'Serves POST /v1/models/{model}/predict and the Open Inference Protocol v2 REST routes for every',
      'model configured at models/{model}/config in the registry (see `infermesh models configure`),',
      'watching the configs and applying changes without restart.',
      '',
      'Options (flag, else environment variable, else --config file):',
      formatOptionsHelp(GATEWAY_OPTIONS),
    ].join('\n'),
  async run(argv, env) {
    const config = loadServerConfig<GatewayConfig>('gateway', GATEWAY_OPTIONS, { argv, env }, checkGatewayConfig);
    if (config === undefined) return EXIT_USAGE;
    const logger = createLogger({ service: 'gateway', level: config.logLevel });
    return serveUntilSignal('gateway', logger, () => createGateway(config, { logger, registry: new Registry(), serverVersion: CLI_VERSION }));
  },
};
