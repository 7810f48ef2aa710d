import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecisionJoiner, type JoinableEvent } from './decision-joiner.js';

const served = (id: string, predictionId: string, extra: Record<string, unknown> = {}, time = '2026-12-07T10:00:00Z'): JoinableEvent => ({
  id,
  type: 'infermesh.prediction.served',
  time,
  data: { predictionId, model: 'm', variant: 'a', propensity: 0.5, default: false, ...extra },
});
const feedback = (id: string, predictionId: string, reward: number, model = 'm'): JoinableEvent => ({
  id,
  type: 'infermesh.feedback.received',
  time: '2026-12-07T10:00:01Z',
  data: { predictionId, model, variant: 'a', reward },
});

test('served predictions join their first feedback on the prediction id, in any arrival order; no feedback is a reward of 0', () => {
  const joiner = new DecisionJoiner('m');
  joiner.add(feedback('f1', 'p1', 1));
  joiner.add(served('s1', 'p1'));
  joiner.add(served('s2', 'p2', { variant: 'b', propensity: 0.25 }));
  const { decisions } = joiner.result();
  assert.deepEqual(
    decisions.sort((x, y) => x.predictionId.localeCompare(y.predictionId)),
    [
      { predictionId: 'p1', variant: 'a', propensity: 0.5, reward: 1, rewarded: true },
      { predictionId: 'p2', variant: 'b', propensity: 0.25, reward: 0, rewarded: false },
    ],
  );
});

test('a replayed event (same event id) counts once; a second feedback for one prediction is not counted, as the aggregator does', () => {
  const joiner = new DecisionJoiner('m');
  joiner.add(served('s1', 'p1'));
  joiner.add(served('s1', 'p1'));
  joiner.add(feedback('f1', 'p1', 1));
  joiner.add(feedback('f1', 'p1', 1));
  joiner.add(feedback('f2', 'p1', 0));
  const result = joiner.result();
  assert.equal(result.decisions.length, 1);
  assert.equal(result.decisions[0]!.reward, 1);
  assert.equal(result.duplicateEvents, 2);
  assert.equal(result.repeatedFeedback, 1);
});

test('other models, other event types, predictions no reward could come back for, and events before --from are left out', () => {
  const joiner = new DecisionJoiner('m', Date.parse('2026-12-07T09:00:00Z'));
  joiner.add(served('s1', 'p1', { model: 'other' }));
  joiner.add({ id: 'x', type: 'infermesh.prediction.shadow', data: { predictionId: 'p9', model: 'm' } });
  joiner.add(served('s2', 'p2', { rewardable: false }));
  joiner.add(served('s3', 'p3', { default: true }));
  joiner.add(served('s4', 'p4', {}, '2026-12-07T08:59:59Z'));
  joiner.add(served('s5', 'p5'));
  joiner.add(feedback('f6', 'p6', 1));
  const result = joiner.result();
  assert.deepEqual(result.decisions.map((decision) => decision.predictionId), ['p5']);
  assert.equal(result.notRewardable, 2);
  assert.equal(result.unmatchedFeedback, 1);
});

test('served events without a propensity are refused with a count, not weighed as 1', () => {
  const joiner = new DecisionJoiner('m');
  joiner.add(served('s1', 'p1', { propensity: undefined }));
  joiner.add(served('s2', 'p2'));
  assert.throws(() => joiner.result(), (error: Error & { code?: string }) => error.code === 'INVALID_ARGUMENT' && /1 prediction\.served events .* carry no propensity/.test(error.message));
});
