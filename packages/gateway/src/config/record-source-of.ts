import type { GatewayConfig } from './gateway-options.js';

/**
 * The records a gateway routes by, `auto` resolved: with Consul and Kafka both configured an
 * aggregator service can count every replica's events and publish to the registry, so the
 * gateway reads its records (replicas counting on their own would run one experiment each);
 * without both there is no such service, and the gateway counts its own traffic.
 */
export function recordSourceOf(config: Pick<GatewayConfig, 'experimentRecords' | 'consul' | 'kafkaBrokers'>): 'local' | 'registry' {
  if (config.experimentRecords !== 'auto') return config.experimentRecords;
  return config.consul !== undefined && config.kafkaBrokers !== undefined ? 'registry' : 'local';
}
