import { loadConfig } from '@infermesh/shared';
import { GATEWAY_OPTIONS, type GatewayConfig } from '@infermesh/gateway';

/** A gateway config as `infermesh gateway` would build it from its defaults, with the test's overrides: tests never spell out every option. */
export function testGatewayConfig(overrides: Partial<GatewayConfig>): GatewayConfig {
  return loadConfig<GatewayConfig>(GATEWAY_OPTIONS, { argv: [], env: {}, overrides: { host: '127.0.0.1', port: 0, logLevel: 'silent', shutdownGraceMs: 1_000, ...overrides } });
}
