import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createEnvelope, type EventEnvelope } from './event-envelope.js';
import { EVENT_TYPES, topicFor } from './event-types.js';
import { validateEvent } from './validate-event.js';

const DOCS = readFileSync(new URL('../../../../../docs/events.md', import.meta.url), 'utf8');

/** Every ```json block of docs/events.md, parsed. */
function documentedExamples(): EventEnvelope[] {
  return [...DOCS.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => JSON.parse(match[1] ?? '') as EventEnvelope);
}

test('every example in docs/events.md validates, and there is one per event type', () => {
  const examples = documentedExamples();
  for (const example of examples) assert.deepEqual(validateEvent(example), [], `${example.type} example`);
  assert.deepEqual(
    examples.map((example) => example.type),
    [...EVENT_TYPES],
  );
});

test('the documented topic of each type matches topicFor', () => {
  for (const type of EVENT_TYPES) assert.ok(DOCS.includes(`| \`${type}\` | \`${topicFor(type)}\` |`), `docs table row for ${type}`);
});

test('drift is caught: an unknown data field, a missing one, a propensity above 1, a mismatched key', () => {
  const [served] = documentedExamples();
  assert.ok(served);
  const withExtra = structuredClone(served) as unknown as { data: Record<string, unknown> };
  withExtra.data.surprise = 1;
  assert.deepEqual(validateEvent(withExtra), ['data.surprise is not allowed']);

  const withoutVariant = structuredClone(served) as unknown as { data: Record<string, unknown> };
  delete withoutVariant.data.variant;
  assert.deepEqual(validateEvent(withoutVariant), ['data.variant is required']);

  const improbable = structuredClone(served) as unknown as { data: Record<string, unknown> };
  improbable.data.propensity = 1.5;
  assert.deepEqual(validateEvent(improbable), ['data.propensity must be <= 1']);

  assert.deepEqual(validateEvent({ ...served, partitionkey: 'someone-else' }), ['event.partitionkey must equal event.subject']);
  assert.ok(validateEvent({ ...served, type: 'infermesh.prediction.unknown' }).some((problem) => problem.startsWith('event.type')));
  assert.ok(validateEvent('not an event').length > 0);
});

test('createEnvelope fills the CloudEvents attributes; the key is the subject', () => {
  const envelope = createEnvelope(
    {
      type: 'infermesh.feedback.received',
      subject: 'u7',
      data: { predictionId: '7d444840-9dc0-41f5-9b4f-8c6b1d2e3f40', model: 'm', variant: 'a', version: 'v1', reward: 0.5, delayMs: 10, requestId: 'r' },
    },
    { source: 'urn:infermesh:gateway:h:1', id: 'e1', timeMs: Date.UTC(2026, 0, 2, 3, 4, 5, 6) },
  );
  assert.equal(envelope.time, '2026-01-02T03:04:05.006Z');
  assert.equal(envelope.partitionkey, 'u7');
  assert.equal(envelope.specversion, '1.0');
  assert.equal(envelope.datacontenttype, 'application/json');
  assert.deepEqual(validateEvent(envelope), []);
});
