import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { loadConfig } from '../config/load-config.js';
import { createEventPublisher, kafkaConnectionFrom } from './create-event-publisher.js';
import { EVENT_OPTIONS, type EventsConfig } from './event-options.js';
import { NdjsonEventPublisher } from './ndjson/ndjson-event-publisher.js';
import { SpooledEventPublisher } from './spool/spooled-event-publisher.js';

const dependencies = () => ({ logger: pino({ level: 'silent' }), registry: new Registry(), source: 'urn:infermesh:gateway:host-1:8080' });

test('without brokers the embedded NDJSON publisher is chosen; with KAFKA_BROKERS a spooled Kafka one, spooling under the process role', () => {
  const embedded = createEventPublisher(loadConfig<EventsConfig>(EVENT_OPTIONS, { env: {} }), dependencies());
  assert.ok(embedded instanceof NdjsonEventPublisher);
  assert.equal(embedded.description, 'event files in .infermesh/events/gateway', 'each process writes its own stream under --events-dir');

  const config = loadConfig<EventsConfig>(EVENT_OPTIONS, { env: { KAFKA_BROKERS: ' 127.0.0.1:9092, 127.0.0.1:9093 ,' } });
  const kafka = createEventPublisher(config, dependencies());
  assert.ok(kafka instanceof SpooledEventPublisher);
  assert.equal(kafka.description, 'spool .infermesh/spool/gateway → Kafka 127.0.0.1:9092,127.0.0.1:9093');
  assert.equal(config.eventsSpoolMaxBytes, 1024 ** 3);
  assert.equal(config.eventsTopicPrefix, 'infermesh.');
});

test('SASL and TLS options pass through; a mechanism without credentials is refused', () => {
  const config = loadConfig<EventsConfig>(EVENT_OPTIONS, {
    env: { KAFKA_BROKERS: 'b:9092', INFERMESH_KAFKA_SASL_MECHANISM: 'scram-sha-512', INFERMESH_KAFKA_SASL_USERNAME: 'u', INFERMESH_KAFKA_SASL_PASSWORD: 'p', INFERMESH_KAFKA_SSL: 'true' },
  });
  assert.deepEqual(kafkaConnectionFrom(config), { brokers: ['b:9092'], clientId: 'infermesh', sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' }, ssl: {} });
  assert.throws(
    () => kafkaConnectionFrom({ ...config, kafkaSaslPassword: undefined }),
    (error: { code?: string }) => error.code === 'INVALID_CONFIG',
  );
  assert.throws(() => loadConfig(EVENT_OPTIONS, { env: { INFERMESH_KAFKA_SASL_MECHANISM: 'kerberos' } }), /--kafka-sasl-mechanism/);
});
