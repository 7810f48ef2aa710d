import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createLogger, encodeInferInputs, InfermeshError, InMemoryEventPublisher, validateEvent, type ModelInferResponse__Output } from '@infermesh/shared';
import { Registry } from 'prom-client';
import { parseExperimentConfig, RecordStore, seededRandom } from '@infermesh/experiments';
import { Enrichment } from '../enrichment/enrichment.js';
import { EnrichmentMetrics } from '../enrichment/enrichment-metrics.js';
import { ShadowMetrics } from '../experiments/shadow/shadow-metrics.js';
import { ShadowRunner } from '../experiments/shadow/shadow-runner.js';
import { FeedbackTokenSigner } from '../feedback/feedback-token-signer.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { parseModelConfig } from '../models/model-config.js';
import { compilePredictValidator } from '../models/predict-request-validator.js';
import type { ServedModel } from '../models/served-model.js';
import type { WorkerPool } from '../pools/worker-pool.js';
import { predict } from './predict-service.js';

const NOW = 1_800_000_000_000;
const logger = createLogger({ service: 'test', level: 'silent' });

/** A worker answer with one FP32 output, as the pool returns it. */
function answer(version: string, values: number[]): ModelInferResponse__Output {
  const { rawInputContents } = encodeInferInputs([{ name: 'probability', datatype: 'FP32', shape: [1, values.length], data: Float32Array.from(values) }]);
  return {
    modelName: 'churn',
    modelVersion: version,
    id: '',
    parameters: {},
    outputs: [{ name: 'probability', datatype: 'FP32', shape: ['1', String(values.length)], parameters: {}, contents: null }],
    rawOutputContents: rawInputContents as Buffer[],
  };
}

type ShadowBehaviour = { kind: 'answer'; values: number[] } | { kind: 'fail' } | { kind: 'hang' };

function fakePool(respond: () => Promise<ModelInferResponse__Output>): WorkerPool {
  return {
    infer: async () => ({ response: await respond(), instance: { id: 'i', address: 'x:1', meta: {} }, attempts: 1 }),
    healthyCount: () => 1,
    size: () => 1,
  } as unknown as WorkerPool;
}

function servedModel(shadow: { fraction: number; maxConcurrent: number } | undefined, shadowBehaviour: ShadowBehaviour): ServedModel {
  const config = parseModelConfig('churn', JSON.stringify({ entityKeys: ['userId'], inputs: { x: { type: 'number' } }, tensors: { features: { datatype: 'FP32', shape: [1], from: ['inputs.x'] } }, pool: { static: ['live:1'] } }));
  const experiment = parseExperimentConfig('churn', JSON.stringify({
    entityKey: 'userId',
    policy: { type: 'weighted' },
    variants: [{ name: 'live', pool: { static: ['live:1'] } }, { name: 'shadow', role: 'shadow', pool: { static: ['shadow:1'] } }],
    ...(shadow ? { shadow } : {}),
  }));
  const shadowPool = fakePool(() => {
    if (shadowBehaviour.kind === 'fail') return Promise.reject(new InfermeshError('UPSTREAM_UNAVAILABLE', 'shadow down'));
    if (shadowBehaviour.kind === 'hang') return new Promise(() => undefined);
    return Promise.resolve(answer('v9', shadowBehaviour.values));
  });
  return {
    name: 'churn',
    config,
    experiment,
    source: '',
    validate: compilePredictValidator('churn', config),
    enrichment: new Enrichment([], { fetch, now: () => NOW, metrics: new EnrichmentMetrics(new Registry()), logger }),
    variants: [
      { name: 'live', config: experiment.variants[0]!, pool: fakePool(async () => answer('v1', [0.25])) },
      { name: 'shadow', config: experiment.variants[1]!, pool: shadowPool },
    ],
  };
}

/** Every event the predictions below publish: each must validate against its schema. */
const events = new InMemoryEventPublisher({ source: 'urn:infermesh:gateway:test', maxEvents: 1_000_000 });

function dependencies(random: () => number) {
  const registry = new Registry();
  let predictions = 0;
  return {
    now: () => NOW,
    random,
    metrics: new GatewayMetrics(registry),
    logger,
    elapsed: () => 0,
    records: new RecordStore(),
    events,
    newPredictionId: () => `00000000-0000-4000-8000-${String((predictions += 1)).padStart(12, '0')}`,
    feedbackTokens: new FeedbackTokenSigner({ keys: [{ id: 'k', secret: 'k'.repeat(32) }], ttlMs: 60_000, now: () => NOW }),
    shadows: new ShadowRunner({ metrics: new ShadowMetrics(registry), logger, random, events, elapsed: () => 0 }),
  };
}

const behaviours = fc.oneof(
  fc.record({ kind: fc.constant('answer' as const), values: fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 3 }) }),
  fc.constant({ kind: 'fail' as const }),
  fc.constant({ kind: 'hang' as const }),
);

test('a shadow never changes what the client receives, whatever it answers, fails or never answers', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({ fraction: fc.double({ min: 0, max: 1, noNaN: true }), maxConcurrent: fc.integer({ min: 1, max: 4 }) }),
      behaviours,
      fc.string(),
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.integer(),
      async (shadow, behaviour, userId, x, seed) => {
        const body = { entity: { userId }, inputs: { x } };
        const withShadow = await predict(servedModel(shadow, behaviour), body, 'r1', dependencies(seededRandom(seed)));
        const without = await predict(servedModel(undefined, behaviour), body, 'r1', dependencies(seededRandom(seed)));
        assert.deepEqual(withShadow, without);
        assert.equal(withShadow.variant, 'live');
        assert.deepEqual(withShadow.outputs, { probability: [[0.25]] });
      },
    ),
    { numRuns: 300 },
  );
});

test('every prediction above published one valid prediction.served event, and every shadow event names its live prediction', async () => {
  // Shadow copies finish after the answers: give the ones that answer or fail a moment.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const served = events.events.filter((envelope) => envelope.type === 'infermesh.prediction.served');
  const shadows = events.events.filter((envelope) => envelope.type === 'infermesh.prediction.shadow');
  assert.ok(served.length >= 600, `${served.length} prediction events for the 600 predictions`);
  const ids = new Set(served.map((envelope) => (envelope.data as { predictionId: string }).predictionId));
  for (const envelope of events.events) assert.deepEqual(validateEvent(envelope), [], JSON.stringify(envelope));
  assert.ok(shadows.length > 0, 'some shadow copies were compared or failed');
  for (const envelope of shadows) assert.ok(ids.has((envelope.data as { predictionId: string }).predictionId), 'a shadow event joins its prediction');
});

test('a variant that fails the client (5xx, no default output) publishes a valid prediction.failed for its guardrail; nothing claims it was served', async () => {
  const model = servedModel(undefined, { kind: 'answer', values: [1] });
  const failing = { ...model, variants: [{ ...model.variants[0]!, pool: fakePool(() => Promise.reject(new InfermeshError('UPSTREAM_UNAVAILABLE', 'all workers down'))) }, model.variants[1]!] };
  const before = events.events.length;
  await assert.rejects(predict(failing, { entity: { userId: 'u-fail' }, inputs: { x: 1 } }, 'r-fail', dependencies(seededRandom(1))), { code: 'UPSTREAM_UNAVAILABLE' });
  const published = events.events.slice(before);
  assert.deepEqual(published.map((envelope) => envelope.type), ['infermesh.prediction.failed']);
  assert.deepEqual(validateEvent(published[0]!), []);
  assert.deepEqual({ ...(published[0]!.data as object), predictionId: undefined, latencyMs: undefined }, { predictionId: undefined, requestId: 'r-fail', model: 'churn', experiment: 'churn', variant: 'live', errorCode: 'UPSTREAM_UNAVAILABLE', latencyMs: undefined, recordSequence: null });
  // A client's own mistake is not the variant's: no event.
  await assert.rejects(predict(model, { entity: { userId: 'u' }, inputs: { x: 'not a number' } }, 'r-bad', dependencies(seededRandom(1))));
  assert.equal(events.events.length, before + 1);
});
