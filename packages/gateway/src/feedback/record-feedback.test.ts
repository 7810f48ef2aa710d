import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InfermeshError, InMemoryEventPublisher, validateEvent } from '@infermesh/shared';
import { FeedbackTokenSigner } from './feedback-token-signer.js';
import { recordFeedback, type RecordFeedbackDependencies } from './record-feedback.js';
import { RewardDeduplicator } from './reward-deduplicator.js';

const NOW = 1_700_000_000_000;

function setup() {
  let now = NOW;
  const clock = () => now;
  const feedbackTokens = new FeedbackTokenSigner({ keys: [{ id: 'k', secret: 'k'.repeat(32) }], ttlMs: 60_000, now: clock });
  const events = new InMemoryEventPublisher({ source: 'urn:infermesh:gateway:test', now: clock });
  const dependencies: RecordFeedbackDependencies = { catalog: { get: () => undefined }, events, feedbackTokens, rewards: new RewardDeduplicator({ now: clock }), now: clock };
  const claims = (entity: string) => ({ predictionId: 'p-1', requestId: 'r-1', model: 'churn', variant: 'b', version: 'v2', entity });
  const token = (entity = 'u1') => feedbackTokens.sign(claims(entity));
  // Signed with a key this gateway does not hold.
  const forged = () => new FeedbackTokenSigner({ keys: [{ id: 'k', secret: 'x'.repeat(32) }], ttlMs: 60_000, now: clock }).sign(claims('u1'));
  return { dependencies, events, token, forged, advance: (ms: number) => (now += ms) };
}

test('a reward counts once per prediction, as one feedback event on the entity\'s partition', async () => {
  const { dependencies, events, token, advance } = setup();
  const feedbackToken = token();
  advance(1_500);
  assert.deepEqual(await recordFeedback({ feedbackToken, reward: 1 }, 'req-9', dependencies), { counted: true, duplicate: false });
  assert.deepEqual(await recordFeedback({ feedbackToken, reward: 1 }, 'req-10', dependencies), { counted: false, duplicate: true });
  assert.equal(events.events.length, 1);
  const [event] = events.events;
  validateEvent(event);
  assert.equal(event!.type, 'infermesh.feedback.received');
  assert.equal(event!.subject, 'u1');
  assert.deepEqual(event!.data, { predictionId: 'p-1', model: 'churn', variant: 'b', version: 'v2', reward: 1, delayMs: 1_500, requestId: 'req-9' });
});

test('without an entity the prediction id is the subject', async () => {
  const { dependencies, events, token } = setup();
  await recordFeedback({ feedbackToken: token(''), reward: 0 }, 'req-1', dependencies);
  assert.equal(events.events[0]!.subject, 'p-1');
});

test('a malformed body, a forged token or a reward out of range is refused and publishes nothing', async () => {
  const { dependencies, events, token, forged } = setup();
  const codeOf = async (body: unknown) => {
    try {
      await recordFeedback(body, 'req-1', dependencies);
    } catch (error) {
      assert.ok(error instanceof InfermeshError);
      return error.code;
    }
    assert.fail('accepted');
  };
  assert.equal(await codeOf({ feedbackToken: token() }), 'INVALID_ARGUMENT');
  assert.equal(await codeOf({ feedbackToken: token(), reward: 1, extra: true }), 'INVALID_ARGUMENT');
  assert.equal(await codeOf({ feedbackToken: forged(), reward: 1 }), 'UNAUTHORIZED');
  assert.equal(await codeOf({ feedbackToken: token(), reward: Number.MAX_VALUE }), 'INVALID_ARGUMENT');
  assert.equal(events.events.length, 0);
});
