import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '@infermesh/shared';
import { AGGREGATOR_OPTIONS, checkAggregatorConfig, DEFAULT_AGGREGATOR_GROUP_ID, type AggregatorConfig } from './aggregator-options.js';

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig<AggregatorConfig>(AGGREGATOR_OPTIONS, { argv, env });

test('Kafka brokers and Consul are required, and named when missing', () => {
  assert.throws(() => load([]), (error: Error) => error.message.includes('--kafka-brokers (KAFKA_BROKERS) is required') && error.message.includes('--consul (CONSUL_HTTP_ADDR) is required'));
});

test('defaults, and the gateway\'s variables for the shared options', () => {
  const config = load(['--kafka-brokers', 'k:9092'], { CONSUL_HTTP_ADDR: 'http://c:8500', INFERMESH_FEEDBACK_TTL_SECONDS: '600' });
  assert.equal(config.groupId, DEFAULT_AGGREGATOR_GROUP_ID);
  assert.equal(config.publishIntervalMs, 2_000);
  assert.equal(config.metricsPort, 8003);
  assert.equal(config.metricsHost, '0.0.0.0');
  assert.equal(config.kvPrefix, 'infermesh/');
  assert.equal(config.eventsTopicPrefix, 'infermesh.');
  assert.equal(config.feedbackTtlSeconds, 600);
  assert.deepEqual(checkAggregatorConfig(config).brokers, ['k:9092']);
});

test('a group id that cannot be a KV path segment and SASL without credentials are refused before start', () => {
  const base = load(['--kafka-brokers', 'k:9092', '--consul', 'http://c:8500']);
  assert.throws(() => checkAggregatorConfig({ ...base, groupId: 'a/b' }), /--group-id/);
  assert.throws(() => checkAggregatorConfig({ ...base, kafkaSaslMechanism: 'plain' }), /--kafka-sasl-username/);
  assert.throws(() => checkAggregatorConfig({ ...base, consul: 'not an address' }), /--consul/);
  assert.throws(() => load(['--kafka-brokers', 'k:9092', '--consul', 'http://c:8500', '--publish-interval-ms', '5']), /--publish-interval-ms/);
});

test('the deploy job\'s flags exist', () => {
  for (const flag of ['consul', 'kv-prefix', 'kafka-brokers', 'publish-interval-ms', 'metrics-port']) assert.ok(AGGREGATOR_OPTIONS.some((spec) => spec.flag === flag), flag);
});
