/**
 * Time from a deployment's KV write (CAS acknowledged by Consul) to the first ModelInfer
 * response computed by the new version, median over several promotes, with the worker's own
 * split into fetch, verify, load and warm-up. Baseline from the same run: how long a bare
 * Consul blocking query on the same key takes to wake after the write (the notification floor).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConsulKvStore, createConsulClient, deploymentKey, ModelRegistry } from '@infermesh/shared';
import { heavyModel, logisticRegressionModel, VERSIONED_WEIGHTS } from '../test/fixtures/onnx/fixture-models.js';
import { startConsul } from '../test/infra/consul-agent.js';
import { inferenceClient, unary } from '../test/support/proto-client.js';
import { startWorkerProcess } from '../test/support/worker-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Promotions measured per model size. */
const PROMOTES = Number(process.env.BENCH_PROMOTES ?? 10);

interface Sample {
  toFirstResponseMs: number;
  blockingQueryWakeMs: number;
  fetchMs: number;
  verifyMs: number;
  loadMs: number;
  warmupMs: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.floor(sorted.length / 2)] ?? NaN) * 100) / 100;
};

async function series(name: string, artifact: (index: number) => Buffer, request: object, agentAddr: string): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  const consul = createConsulClient(agentAddr);
  const kv = new ConsulKvStore(consul, `bench/${name}/`);
  const registry = new ModelRegistry(kv);
  const model = name;
  for (let index = 0; index <= PROMOTES; index += 1) {
    const bytes = artifact(index);
    const path = join(dir, `v${index}.onnx`);
    writeFileSync(path, bytes);
    await registry.publish(model, `v${index}`, { uri: `file://${path}`, sha256: createHash('sha256').update(bytes).digest('hex'), metadata: {} });
  }
  await registry.promote(model, 'prod', 'v0');
  const worker = await startWorkerProcess(['--model', model, '--deployment', 'prod', '--consul', agentAddr, '--kv-prefix', `bench/${name}/`, '--artifact-cache-dir', join(dir, 'cache')]);
  const client = inferenceClient(worker.address);
  const samples: Sample[] = [];
  for (let index = 1; index <= PROMOTES; index += 1) {
    const target = `v${index}`;
    const { index: kvIndex } = (await kv.get(deploymentKey(model, 'prod')))!;
    const baseline = kv.waitForChange(deploymentKey(model, 'prod'), kvIndex, { waitMs: 30_000 }).then(() => performance.now());
    const swapLogsBefore = worker.logs.length;
    await registry.promote(model, 'prod', target);
    const written = performance.now();
    let firstResponse = 0;
    while (firstResponse === 0) {
      const response = await unary<{ model_version: string }>(client, 'ModelInfer', request);
      if (response.model_version === target) firstResponse = performance.now();
    }
    const swap = worker.logs.slice(swapLogsBefore).map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.msg === 'swapped in new version');
    samples.push({
      toFirstResponseMs: firstResponse - written,
      blockingQueryWakeMs: (await baseline) - written,
      fetchMs: Number(swap?.fetchMs),
      verifyMs: Number(swap?.verifyMs),
      loadMs: Number(swap?.loadMs),
      warmupMs: Number(swap?.warmupMs),
    });
  }
  client.close();
  await worker.stop();
  return {
    artifactBytes: artifact(0).length,
    promotes: samples.length,
    medianKvWriteToFirstResponseMs: median(samples.map((sample) => sample.toFirstResponseMs)),
    medianBareBlockingQueryWakeMs: median(samples.map((sample) => sample.blockingQueryWakeMs)),
    medianFetchMs: median(samples.map((sample) => sample.fetchMs)),
    medianVerifyMs: median(samples.map((sample) => sample.verifyMs)),
    medianLoadMs: median(samples.map((sample) => sample.loadMs)),
    medianWarmupMs: median(samples.map((sample) => sample.warmupMs)),
    maxKvWriteToFirstResponseMs: Math.round(Math.max(...samples.map((sample) => sample.toFirstResponseMs)) * 100) / 100,
  };
}

const agent = await startConsul();
const features = (width: number) => ({ name: width === 4 ? 'features' : 'x', datatype: 'FP32', shape: [1, width], contents: { fp32_contents: Array.from({ length: width }, () => 0.5) } });
const results = {
  'logistic (4 features)': await series('logistic', (index) => logisticRegressionModel(VERSIONED_WEIGHTS.v1, index / 100), { model_name: 'logistic', inputs: [features(4)] }, agent.httpAddr),
  'heavy (16 x 256x256 MatMul)': await series('heavy', (index) => heavyModel(256, 16, `v${index}`), { model_name: 'heavy', inputs: [features(256)] }, agent.httpAddr),
};
await agent.stop();
const outDir = join(ROOT, 'docs/benchmarks/results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'promote-latency.json'), `${JSON.stringify({ benchmark: 'promote-latency', date: new Date().toISOString(), results }, null, 2)}\n`);
console.table(results);
console.log('written to docs/benchmarks/results/promote-latency.json');
