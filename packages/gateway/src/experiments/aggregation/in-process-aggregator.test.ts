import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger, FileKvStore, InMemoryEventPublisher, ModelRegistry, type EventInput } from '@infermesh/shared';
import { parseExperimentConfig, RecordStore } from '@infermesh/experiments';
import { InProcessAggregator } from './in-process-aggregator.js';

const T0 = 1_800_000_000_000;
const logger = createLogger({ service: 'test', level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'in-process-aggregator-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const EXPERIMENT = parseExperimentConfig(
  'm',
  JSON.stringify({
    entityKey: 'userId',
    policy: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 10 },
    variants: [{ name: 'a', pool: { deployment: 'prod' } }, { name: 'b', pool: { deployment: 'canary' } }, { name: 'flaky', pool: { deployment: 'flaky' } }],
    conclude: { when: { probabilityBest: 0.9, forSeconds: 5, minTrialsPerVariant: 50 }, promote: { deployment: 'prod' }, guardrails: [{ metric: 'defaultRate', max: 0.05 }], minPredictions: 50 },
  }),
);

let sequence = 0;
const id = () => `00000000-0000-4000-8000-${String((sequence += 1)).padStart(12, '0')}`;
function served(variant: string, isDefault: boolean): EventInput & { type: 'infermesh.prediction.served' } {
  return {
    type: 'infermesh.prediction.served',
    subject: 'u',
    data: { predictionId: id(), requestId: 'r', model: 'm', experiment: 'm', variant, version: isDefault ? null : 'v', propensity: 0.5, sticky: false, latencyMs: 10, default: isDefault, defaultReason: isDefault ? 'DEADLINE_EXCEEDED' : null, defaultedFeatures: [], rewardable: !isDefault },
  };
}
const reward = (event: ReturnType<typeof served>, value: number): EventInput => ({
  type: 'infermesh.feedback.received',
  subject: 'u',
  data: { predictionId: event.data.predictionId, model: 'm', variant: event.data.variant, version: 'v', reward: value, delayMs: 1, requestId: 'r' },
});

test('the embedded aggregator trips a guardrail, concludes, promotes the winner in the file registry and announces each once', async () => {
  const kv = new FileKvStore(dir);
  const registry = new ModelRegistry(kv, () => new Date(T0));
  for (const version of ['v1', 'v2', 'v3']) await registry.publish('m', version, { uri: `file:///m/${version}`, sha256: 'a'.repeat(64), format: 'infermesh_lookup', metadata: {} });
  await registry.promote('m', 'prod', 'v1');
  await registry.promote('m', 'canary', 'v2');
  await registry.promote('m', 'flaky', 'v3');
  let clock = T0;
  const store = new RecordStore();
  const lifecycle = new InMemoryEventPublisher({ source: 'urn:infermesh:gateway:test', maxEvents: 100 });
  const aggregator = new InProcessAggregator({ experiments: () => [{ model: 'm', experiment: EXPERIMENT }], store, now: () => clock, logger, registry, lifecycle });
  for (let index = 0; index < 200; index += 1) {
    const a = served('a', false);
    const b = served('b', false);
    aggregator.observe(a);
    aggregator.observe(b);
    aggregator.observe(reward(a, index % 10 === 0 ? 1 : 0));
    aggregator.observe(reward(b, index % 2 === 0 ? 1 : 0));
    // flaky answers 30 % default outputs, and users love the answers it does give.
    const flaky = served('flaky', index % 10 < 3);
    aggregator.observe(flaky);
    if (!flaky.data.default) aggregator.observe(reward(flaky, 1));
  }
  aggregator.publishAll();
  const first = store.get('m')!;
  assert.equal(first.variants.flaky!.guardrail?.metric, 'defaultRate');
  assert.equal(first.variants.flaky!.share, 0);
  assert.equal(first.conclusion?.state, 'pending');
  assert.equal(first.conclusion?.winner, 'b', 'the tripped variant never wins');
  clock += 6_000;
  aggregator.publishAll();
  assert.equal(store.get('m')!.conclusion?.state, 'concluded');
  for (let tries = 0; tries < 100 && store.get('m')!.conclusion?.promotion === 'pending'; tries += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  const record = store.get('m')!;
  assert.deepEqual(record.conclusion?.promoted, { deployment: 'prod', version: 'v2' });
  assert.deepEqual(record.layout, [['b', 1]]);
  assert.equal((await registry.deployment('m', 'prod'))!.record.version, 'v2');
  clock += 1_000;
  aggregator.publishAll();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(lifecycle.events.map((event) => event.type), ['infermesh.experiment.guardrail_tripped', 'infermesh.experiment.concluded']);
});
