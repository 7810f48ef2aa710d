import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@infermesh/shared';
import { GATEWAY_OPTIONS, type GatewayConfig } from '@infermesh/gateway';

/** A gateway config as `infermesh gateway` would build it from its defaults, with the test's overrides: tests never spell out every option. */
export function testGatewayConfig(overrides: Partial<GatewayConfig>): GatewayConfig {
  // Events and spool in a directory of its own: gateways built side by side must not share one.
  const own = mkdtempSync(join(tmpdir(), 'infermesh-gateway-'));
  const defaults = { host: '127.0.0.1', port: 0, logLevel: 'silent', shutdownGraceMs: 1_000, eventsDir: join(own, 'events'), eventsSpoolDir: join(own, 'spool') };
  return loadConfig<GatewayConfig>(GATEWAY_OPTIONS, { argv: [], env: {}, overrides: { ...defaults, ...overrides } });
}
