import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '@infermesh/shared';
import { GATEWAY_OPTIONS, type GatewayConfig } from './gateway-options.js';
import { recordSourceOf } from './record-source-of.js';

const configOf = (env: Record<string, string>) => loadConfig<GatewayConfig>(GATEWAY_OPTIONS, { env });

test('by default (auto) a gateway with both Consul and Kafka routes by the published records; with one of them or none, by its own', () => {
  const both = { CONSUL_HTTP_ADDR: 'http://127.0.0.1:8500', KAFKA_BROKERS: 'localhost:9092' };
  assert.equal(configOf({}).experimentRecords, 'auto');
  assert.equal(recordSourceOf(configOf(both)), 'registry');
  assert.equal(recordSourceOf(configOf({ CONSUL_HTTP_ADDR: 'http://127.0.0.1:8500' })), 'local');
  assert.equal(recordSourceOf(configOf({ KAFKA_BROKERS: 'localhost:9092' })), 'local');
  assert.equal(recordSourceOf(configOf({ ...both, KAFKA_BROKERS: '' })), 'local');
  assert.equal(recordSourceOf(configOf({})), 'local');
});

test('an explicit choice wins either way', () => {
  const both = { CONSUL_HTTP_ADDR: 'http://127.0.0.1:8500', KAFKA_BROKERS: 'localhost:9092' };
  assert.equal(recordSourceOf(configOf({ ...both, INFERMESH_EXPERIMENT_RECORDS: 'local' })), 'local');
  assert.equal(recordSourceOf(configOf({ INFERMESH_EXPERIMENT_RECORDS: 'registry' })), 'registry');
});
