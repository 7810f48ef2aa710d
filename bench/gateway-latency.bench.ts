/**
 * Latency and throughput of a prediction through the gateway (HTTP → validation → tensors →
 * gRPC → worker) against the same prediction called directly on the worker over gRPC,
 * measured in one run on the same worker. The difference is what the gateway costs.
 */
import { Agent, request } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileKvStore } from '@infermesh/shared';
import { writeFixtures } from '../test/fixtures/generate-fixtures.js';
import { inferenceClient, unary } from '../test/support/proto-client.js';
import { startGatewayProcess, startWorkerProcess } from '../test/support/worker-process.js';
import { latencyStats, measure } from './support/latency-stats.js';
import { logisticModelConfig } from '../test/support/logistic-model-config.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Calls measured per series (after warm-up). */
const CALLS = Number(process.env.BENCH_CALLS ?? 4000);
/** Calls made before measuring. */
const WARMUP_CALLS = 500;
/** Concurrent callers in the throughput series. */
const CONCURRENCY = 16;

const dir = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
const fixtures = writeFixtures(dir);
const worker = await startWorkerProcess(['--model', 'churn', '--version', 'v1', '--artifact', fixtures.logistic.uri, '--sha256', fixtures.logistic.sha256]);
const registryDir = join(dir, 'registry');
await new FileKvStore(registryDir).compareAndSet(
  'models/churn/config',
  JSON.stringify(logisticModelConfig({ static: [worker.address] }, { entityKeys: ['userId'], deadlineMs: 2_000 })),
  0,
);
// Default (info) logging: one line per request, as in production.
const gateway = await startGatewayProcess(['--registry-dir', registryDir]);

const grpcClient = inferenceClient(worker.address);
const direct = () =>
  unary(grpcClient, 'ModelInfer', { model_name: 'churn', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [0.5, 1, 2, 0.1] } }] });
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const body = JSON.stringify({ entity: { userId: 'u1' }, inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } });
const viaGateway = () =>
  new Promise<void>((resolve, reject) => {
    const call = request(
      { host: '127.0.0.1', port: gateway.port, path: '/v1/models/churn/predict', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`status ${response.statusCode}`))));
      },
    );
    call.on('error', reject);
    call.end(body);
  });

const series: Record<string, ReturnType<typeof latencyStats>> = {};
for (const [name, call] of [['direct gRPC to the worker', direct], ['through the gateway (HTTP)', viaGateway]] as const) {
  await measure(WARMUP_CALLS, CONCURRENCY, call);
  const one = await measure(CALLS, 1, call);
  series[`${name}, 1 caller`] = latencyStats(one.durations, one.wallMs);
  const many = await measure(CALLS, CONCURRENCY, call);
  series[`${name}, ${CONCURRENCY} callers`] = latencyStats(many.durations, many.wallMs);
}
grpcClient.close();
agent.destroy();
await gateway.stop();
await worker.stop();

const outDir = join(ROOT, 'docs/benchmarks/results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'gateway-latency.json'), `${JSON.stringify({ benchmark: 'gateway-latency', date: new Date().toISOString(), calls: CALLS, concurrency: CONCURRENCY, series }, null, 2)}\n`);
console.table(series);
console.log('written to docs/benchmarks/results/gateway-latency.json');
