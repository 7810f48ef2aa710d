import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryEventPublisher } from './in-memory-event-publisher.js';
import { validateEvent } from '../contract/validate-event.js';

const reloadFailed = (toVersion: string) =>
  ({
    type: 'infermesh.model.reload_failed',
    subject: 'churn',
    data: { model: 'churn', deployment: 'prod', fromVersion: null, toVersion, worker: '127.0.0.1:8001', stage: 'fetch', errorCode: 'ARTIFACT_FETCH_FAILED', message: 'timeout' },
  }) as const;

test('the in-memory publisher keeps the newest envelopes as serialised at publish time, within its bound', async () => {
  const events = new InMemoryEventPublisher({ source: 'urn:infermesh:worker:test:0', maxEvents: 2 });
  await events.start();
  const first = reloadFailed('v1');
  await events.publish(first);
  (first.data as { message: string }).message = 'changed later';
  assert.equal((events.events[0]?.data as { message: string }).message, 'timeout');
  await events.publish(reloadFailed('v2'));
  await events.publish(reloadFailed('v3'));
  assert.deepEqual(events.events.map((envelope) => (envelope.data as { toVersion: string }).toVersion), ['v2', 'v3']);
  assert.equal(events.evicted, 1);
  for (const envelope of events.events) assert.deepEqual(validateEvent(envelope), []);
  await events.stop();
});
