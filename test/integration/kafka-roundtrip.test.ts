import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kafka, logLevel, Partitioners, type KafkaMessage } from 'kafkajs';
import { testKafka } from '../infra/test-infra.js';

/** Messages the producer sends. */
const MESSAGE_COUNT = 20;

/** Milliseconds to wait for the consumer to read every message back. */
const CONSUME_TIMEOUT_MS = 30_000;

test('a kafkajs producer and consumer round-trip keyed messages in order', async (t) => {
  const { brokers, topic } = await testKafka();
  const topicName = topic('roundtrip');
  const groupId = topic('group');
  const kafka = new Kafka({ clientId: 'infermesh-test', brokers, logLevel: logLevel.WARN });

  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  // Created up front (one partition) so order is total and the consumer never races auto-creation.
  assert.equal(await admin.createTopics({ topics: [{ topic: topicName, numPartitions: 1 }], waitForLeaders: true }), true);

  const sent = Array.from({ length: MESSAGE_COUNT }, (_, i) => ({ key: `key-${i % 3}`, value: `message-${i}` }));
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.after(() => producer.disconnect());
  await producer.send({ topic: topicName, messages: sent });

  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  t.after(() => consumer.disconnect());
  await consumer.subscribe({ topic: topicName, fromBeginning: true });

  const received: KafkaMessage[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`read ${received.length} of ${MESSAGE_COUNT} messages in ${CONSUME_TIMEOUT_MS} ms`)),
      CONSUME_TIMEOUT_MS,
    );
    consumer
      .run({
        eachMessage: async ({ message }) => {
          received.push(message);
          if (received.length === MESSAGE_COUNT) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });

  assert.deepEqual(
    received.map((message) => ({ key: message.key?.toString(), value: message.value?.toString() })),
    sent,
  );
  const offsets = received.map((message) => Number(message.offset));
  assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), 'offsets arrive in order');
});
