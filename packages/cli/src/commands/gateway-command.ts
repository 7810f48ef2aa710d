import { checkGatewayConfig, createGateway, GATEWAY_OPTIONS } from '@infermesh/gateway';
import { serverCommand } from './server-command.js';
import { CLI_VERSION } from '../cli-version.js';

/** `infermesh gateway`: the HTTP entry point for prediction clients. */
export const gatewayCommand = serverCommand({
  name: 'gateway',
  service: 'gateway',
  about: [
    'Usage: infermesh gateway [--consul URL | --registry-dir DIR] [options]',
    '',
    'Serves POST /v1/models/{model}/predict and the Open Inference Protocol v2 REST routes for every',
    'model configured at models/{model}/config in the registry (see `infermesh models configure`),',
    'watching the configs and applying changes without restart.',
  ],
  options: GATEWAY_OPTIONS,
  check: checkGatewayConfig,
  start: (config, { logger, registry }) => createGateway(config, { logger, registry, serverVersion: CLI_VERSION }),
});
