import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXPERIMENTS_PREFIX, InfermeshError, type KvStore, type ModelRegistry } from '@infermesh/shared';
import { DEMO_FEATURES, DEMO_VERSIONS, logisticRegressionModel } from '../demo/demo-models.js';
import { DEMO_MODEL, type MeshPlan } from './mesh-plan.js';

/** The demo experiment's Thompson settings: a quick warm-up, so a newcomer sees traffic move within minutes. */
const DEMO_POLICY = { type: 'thompson', reward: 'binary', minShare: 0.02, minTrials: 50 } as const;

/**
 * Puts the demo into the registry the first time: the two model versions (written as ONNX
 * files), deployments `a` → v1 and `b` → v2, the gateway's model config and a Thompson
 * experiment between the variants. Every step only creates what is missing, so a restart keeps
 * whatever the user changed since (a promotion, a killed variant).
 */
export async function seedDemoRegistry(plan: MeshPlan, registry: ModelRegistry, kv: KvStore, useConsulCatalog: boolean): Promise<void> {
  await mkdir(plan.modelsDir, { recursive: true });
  for (const [version, weights] of Object.entries(DEMO_VERSIONS)) {
    const bytes = logisticRegressionModel(weights);
    const path = join(plan.modelsDir, `demo-${version}.onnx`);
    await writeFile(path, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await registry.publish(DEMO_MODEL, version, { uri: `file://${path}`, sha256, metadata: { note: 'infermesh up demo' } }).catch(ignore('ALREADY_EXISTS'));
  }
  for (const variant of plan.variants) {
    if ((await registry.deployment(DEMO_MODEL, variant.name)) === undefined) await registry.promote(DEMO_MODEL, variant.name, variant.version);
  }
  const pool = (variant: MeshPlan['variants'][number]) => (useConsulCatalog ? { deployment: variant.name } : { static: [`127.0.0.1:${variant.port}`] });
  const config = {
    entityKeys: ['userId'],
    inputs: Object.fromEntries(DEMO_FEATURES.map((feature) => [feature, { type: 'number' }])),
    tensors: { features: { datatype: 'FP32', shape: [DEMO_FEATURES.length], from: DEMO_FEATURES.map((feature) => `inputs.${feature}`) } },
    deadlineMs: 500,
    defaultOutput: { probability: [[0.5]] },
    pool: pool(plan.variants[0]!),
    events: { inputs: true, outputs: true, sampleRate: 1 },
  };
  const experiment = {
    entityKey: 'userId',
    stickinessSeconds: 3600,
    policy: DEMO_POLICY,
    variants: plan.variants.map((variant) => ({ name: variant.name, pool: pool(variant) })),
  };
  await kv.compareAndSet(`models/${DEMO_MODEL}/config`, JSON.stringify(config), 0);
  await kv.compareAndSet(`${EXPERIMENTS_PREFIX}${DEMO_MODEL}`, JSON.stringify(experiment), 0);
}

function ignore(code: string): (error: unknown) => void {
  return (error) => {
    if (!(error instanceof InfermeshError && error.code === code)) throw error;
  };
}
