import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEvent } from './decode-event.js';

const TIME = '2026-12-02T10:15:30.123Z';
const served = (data: Record<string, unknown>) =>
  Buffer.from(JSON.stringify({ specversion: '1.0', id: 'e1', source: 's', type: 'infermesh.prediction.served', time: TIME, subject: 'u1', data: { predictionId: 'p1', model: 'churn', experiment: 'churn', variant: 'a', default: false, extraFieldFromANewerGateway: 1, ...data } }));

test('a rewardable prediction of an experiment is a trial at its event time, whatever other fields it carries', () => {
  assert.deepEqual(decodeEvent(served({}), 1), { type: 'infermesh.prediction.served', evidence: { kind: 'trial', predictionId: 'p1', model: 'churn', variant: 'a' }, eventTimeMs: Date.parse(TIME) });
});

test('defaults, unrewardable predictions and models without an experiment count nothing', () => {
  for (const data of [{ default: true }, { rewardable: false }, { experiment: null }]) assert.equal(decodeEvent(served(data), 1).evidence, undefined);
});

test('with a latency every prediction of an experiment is measured for guardrails: answered, default, failed; only rewardable answers are trials', () => {
  assert.deepEqual(decodeEvent(served({ latencyMs: 12 }), 1).evidence, { kind: 'trial', predictionId: 'p1', model: 'churn', variant: 'a', counted: true, outcome: 'answered', latencyMs: 12 });
  assert.deepEqual(decodeEvent(served({ latencyMs: 80, default: true, defaultReason: 'DEADLINE_EXCEEDED' }), 1).evidence, { kind: 'trial', predictionId: 'p1', model: 'churn', variant: 'a', counted: false, outcome: 'default', latencyMs: 80 });
  const failed = Buffer.from(JSON.stringify({ type: 'infermesh.prediction.failed', time: TIME, data: { predictionId: 'p2', requestId: 'r', model: 'churn', experiment: 'churn', variant: 'b', errorCode: 'MODEL_ERROR', latencyMs: 3 } }));
  assert.deepEqual(decodeEvent(failed, 1), { type: 'infermesh.prediction.failed', evidence: { kind: 'trial', predictionId: 'p2', model: 'churn', variant: 'b', counted: false, outcome: 'error', latencyMs: 3 }, eventTimeMs: Date.parse(TIME) });
  assert.equal(decodeEvent(served({ latencyMs: 4, experiment: null }), 1).evidence, undefined);
  assert.equal(decodeEvent(Buffer.from(JSON.stringify({ type: 'infermesh.prediction.failed', data: { predictionId: 'p2', model: 'churn', experiment: 'churn', variant: 'b', errorCode: 'X', latencyMs: -1 } })), 1).type, 'invalid');
});

test('feedback is a reward of the variant its token named', () => {
  const value = Buffer.from(JSON.stringify({ type: 'infermesh.feedback.received', time: TIME, data: { predictionId: 'p1', model: 'churn', variant: 'b', reward: 0.5 } }));
  assert.deepEqual(decodeEvent(value, 1).evidence, { kind: 'reward', predictionId: 'p1', model: 'churn', variant: 'b', reward: 0.5 });
});

test('unreadable messages and malformed evidence are invalid; unknown types are other; shadows count nothing', () => {
  assert.equal(decodeEvent(Buffer.from('{not json'), 7).type, 'invalid');
  assert.equal(decodeEvent(null, 7).type, 'invalid');
  assert.equal(decodeEvent(served({ variant: '../etc' }), 7).type, 'invalid');
  assert.equal(decodeEvent(served({ model: 42 }), 7).type, 'invalid');
  assert.equal(decodeEvent(Buffer.from(JSON.stringify({ type: 'infermesh.feedback.received', data: { predictionId: 'p', model: 'm', variant: 'a', reward: '1' } })), 7).type, 'invalid');
  assert.equal(decodeEvent(Buffer.from(JSON.stringify({ type: 'com.example.other', data: {} })), 7).type, 'other');
  const shadow = decodeEvent(Buffer.from(JSON.stringify({ type: 'infermesh.prediction.shadow', data: {} })), 7);
  assert.deepEqual(shadow, { type: 'infermesh.prediction.shadow', evidence: undefined, eventTimeMs: 7 }, 'without a time, the Kafka timestamp');
});
