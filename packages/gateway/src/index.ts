export { createGateway, type Gateway, type GatewayDependencies } from './create-gateway.js';
export { GATEWAY_OPTIONS, checkGatewayConfig, type GatewayConfig } from './config/gateway-options.js';
export { parseModelConfig, MODEL_CONFIG_SCHEMA, type ModelConfig } from './models/model-config.js';
export * from './enrichment/index.js';
export * from './pools/index.js';
