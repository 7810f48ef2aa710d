import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloudEvent, Kafka as CloudEventsKafka, type CloudEventV1 } from 'cloudevents';
import { encodeEventLine } from '../contract/encode-event-line.js';
import type { EventInput } from '../contract/event-envelope.js';
import { readSpooledEvent } from '../contract/spooled-event.js';
import { structuredKafkaMessage } from './structured-kafka-message.js';

const EVENTS: EventInput[] = [
  {
    type: 'infermesh.prediction.served',
    subject: 'user "42" — ünïcode',
    data: {
      predictionId: '00000000-0000-4000-8000-000000000001',
      requestId: 'req-1',
      model: 'churn',
      experiment: 'churn-ab',
      variant: 'b',
      version: 'v2',
      propensity: 0.25,
      sticky: true,
      latencyMs: 1.5,
      default: false,
      defaultReason: null,
      defaultedFeatures: [],
    },
  },
  { type: 'infermesh.model.reload_failed', subject: 'churn', data: { model: 'churn', deployment: 'd1', fromVersion: 'v1', toVersion: 'v2', worker: 'w1', stage: 'verify', errorCode: 'INVALID_ARTIFACT', message: 'bad ,"data": {} \n' } },
];

test('the message of a spooled event is the one the cloudevents Kafka binding builds in structured mode', () => {
  for (const [index, input] of EVENTS.entries()) {
    const { line } = encodeEventLine(input, { source: 'urn:infermesh:gateway:test', id: `id-${index}`, timeMs: 1_764_000_000_123 + index });
    const spooled = readSpooledEvent(line.slice(0, -1));
    assert.ok(spooled !== undefined, 'an encoded line reads back');
    const ours = structuredKafkaMessage(spooled);
    const binding = CloudEventsKafka.structured(new CloudEvent(JSON.parse(line) as CloudEventV1<unknown>, false));
    assert.equal(ours.key, binding.key);
    assert.equal(ours.timestamp, binding.timestamp);
    assert.deepEqual({ ...ours.headers }, { ...binding.headers });
    assert.deepEqual(JSON.parse(ours.value as string), JSON.parse(binding.value as string), 'the same event, attribute for attribute');
    assert.equal(ours.value, line.slice(0, -1), 'the spooled JSON is sent as it is: serialised once');
  }
});

test('a spool line that is not a whole envelope of a known type is not an event', () => {
  const { line } = encodeEventLine(EVENTS[0]!, { source: 'urn:infermesh:gateway:test', id: 'id', timeMs: 1_764_000_000_000 });
  const json = line.slice(0, -1);
  assert.ok(readSpooledEvent(json) !== undefined);
  for (const damaged of [json.slice(0, -2), json.replace('"infermesh.prediction.served"', '"infermesh.other"'), json.replace(/"time":"[^"]+"/, '"time":"yesterday"'), 'null', '[]', '42', '']) {
    assert.equal(readSpooledEvent(damaged), undefined, damaged.slice(0, 60));
  }
  const withoutKey = JSON.parse(json) as Record<string, unknown>;
  delete withoutKey.partitionkey;
  assert.equal(readSpooledEvent(JSON.stringify(withoutKey))?.partitionKey, 'user "42" — ünïcode', 'the subject keys an envelope without a partitionkey');
});
