import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InfermeshError } from '@infermesh/shared';
import type { Enrichment } from '../enrichment/enrichment.js';
import type { WorkerPool } from '../pools/worker-pool.js';
import { Registry } from 'prom-client';
import { BatchMetrics } from '../batching/batch-metrics.js';
import { createServedModelFactory } from './served-model-factory.js';
import { poolName, SharedPools } from './shared-pools.js';

const CONFIG = JSON.stringify({ inputs: { x: { type: 'number' } }, tensors: { features: { datatype: 'FP32', shape: [1], from: ['inputs.x'] } }, pool: { static: ['w:1'] } });
const experiment = (variants: object[]) => JSON.stringify({ entityKey: 'userId', policy: { type: 'weighted' }, variants });

/** Pools that record their lifecycle; a deployment pool cannot be built (as on a gateway without Consul). */
function recordingPools() {
  const open = new Set<string>();
  const pools = new SharedPools((name, _model, config) => {
    if (config.deployment !== undefined) throw new InfermeshError('INVALID_CONFIG', `no Consul for ${name}`);
    return { start: () => open.add(name), close: async () => void open.delete(name) } as unknown as WorkerPool;
  }, 0);
  return { pools, open };
}

test('a model whose third variant cannot be built is rejected and holds none of the pools its first two took', async () => {
  const { pools, open } = recordingPools();
  const factory = createServedModelFactory({ pools, createEnrichment: () => ({}) as Enrichment, batchMetrics: new BatchMetrics(new Registry()), elapsed: () => 0 });
  const variants = [
    { name: 'a', pool: { static: ['a:1'] } },
    { name: 'b', pool: { static: ['b:1'] } },
    { name: 'c', pool: { deployment: 'prod' } },
  ];
  assert.throws(() => factory.build('m', { config: CONFIG, experiment: experiment(variants) }), { code: 'INVALID_CONFIG', message: /no Consul for m\/prod/ });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual([...open], [], 'every pool acquired before the failure was released and closed');
});

test('variants on different workers get pools of different names (and so their own metric series)', () => {
  const { pools, open } = recordingPools();
  const factory = createServedModelFactory({ pools, createEnrichment: () => ({}) as Enrichment, batchMetrics: new BatchMetrics(new Registry()), elapsed: () => 0 });
  const model = factory.build('m', { config: CONFIG, experiment: experiment([{ name: 'a', pool: { static: ['a:1'] } }, { name: 'b', pool: { static: ['b:1', 'b:2'] } }]) });
  assert.equal(model.variants.length, 2);
  assert.deepEqual([...open].sort(), ['m/static:a:1', 'm/static:b:1,b:2']);
  assert.notEqual(poolName('m', { deployment: 'prod' }), poolName('m', { deployment: 'canary' }));
  factory.retire(model);
});
