import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Routing } from '../experiments/variant-router.js';
import type { ServedModel, ServedVariant } from '../models/served-model.js';
import { predictionFacts, type PredictionOutcome } from './prediction-facts.js';

const routing = { variant: { name: 'b' } as ServedVariant, sticky: true, entity: 'u1', propensity: 0.25, recordSequence: 7 } satisfies Routing;
const answered: PredictionOutcome = { predictionId: 'p-1', requestId: 'r-1', version: 'v2', defaultReason: null, sticky: true, latencyMs: 3.5, defaultedFeatures: ['visits'], rewardable: true };

test('the facts of a prediction: every field of the served event, in its order, from the model, the routing and the outcome', () => {
  const facts = predictionFacts({ name: 'churn', experiment: {} } as ServedModel, routing, answered);
  assert.deepEqual(Object.entries(facts), [
    ['predictionId', 'p-1'],
    ['requestId', 'r-1'],
    ['model', 'churn'],
    ['experiment', 'churn'],
    ['variant', 'b'],
    ['version', 'v2'],
    ['propensity', 0.25],
    ['sticky', true],
    ['latencyMs', 3.5],
    ['default', false],
    ['defaultReason', null],
    ['defaultedFeatures', ['visits']],
    ['recordSequence', 7],
    ['rewardable', true],
  ]);
});

test('a default output is marked as one with its reason; a model without an experiment names none; latency is never negative', () => {
  const facts = predictionFacts({ name: 'churn', experiment: undefined } as ServedModel, routing, { ...answered, version: null, defaultReason: 'DEADLINE_EXCEEDED', rewardable: false, latencyMs: -0.1 });
  assert.equal(facts.default, true);
  assert.equal(facts.defaultReason, 'DEADLINE_EXCEEDED');
  assert.equal(facts.experiment, null);
  assert.equal(facts.latencyMs, 0);
});
