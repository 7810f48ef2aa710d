/**
 * One-row ModelInfer latency and throughput of `infermesh worker` (logistic regression,
 * FP32 [1,4]) against two baselines from the same run: onnxruntime called in-process, and
 * a bare grpc-js server answering ModelInfer with a constant. Worker minus echo is what
 * infermesh adds on top of gRPC; echo minus in-process is the cost of the network hop.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import ort from 'onnxruntime-node';
import { writeFixtures } from '../test/fixtures/generate-fixtures.js';
import { inferenceClient, unary } from '../test/support/proto-client.js';
import { startWorkerProcess } from '../test/support/worker-process.js';
import { latencyStats, measure, type LatencyStats } from './support/latency-stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Calls measured per series (after warm-up). */
const CALLS = Number(process.env.BENCH_CALLS ?? 5000);
/** Calls made before measuring, to warm JIT, channels and the model. */
const WARMUP_CALLS = 500;
/** Concurrent callers in the throughput series. */
const CONCURRENCY = 16;

const REQUEST = {
  model_name: 'churn',
  inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [0.5, 1, 2, 0.1] } }],
};

async function startEchoServer(): Promise<{ address: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', 'bench/support/echo-inference-server.ts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port)));
  return { address: `127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

async function grpcSeries(address: string): Promise<{ sequential: LatencyStats; concurrent: LatencyStats }> {
  const client = inferenceClient(address);
  const call = () => unary(client, 'ModelInfer', REQUEST);
  await measure(WARMUP_CALLS, CONCURRENCY, call);
  const sequential = await measure(CALLS, 1, call);
  const concurrent = await measure(CALLS, CONCURRENCY, call);
  client.close();
  return { sequential: latencyStats(sequential.durations, sequential.wallMs), concurrent: latencyStats(concurrent.durations, concurrent.wallMs) };
}

async function inProcessSeries(modelPath: string): Promise<LatencyStats> {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 });
  const feeds = { features: new ort.Tensor('float32', Float32Array.of(0.5, 1, 2, 0.1), [1, 4]) };
  const call = () => session.run(feeds);
  await measure(WARMUP_CALLS, 1, call);
  const sequential = await measure(CALLS, 1, call);
  await session.release();
  return latencyStats(sequential.durations, sequential.wallMs);
}

const fixtures = writeFixtures(mkdtempSync(join(tmpdir(), 'infermesh-bench-')));
const inProcess = await inProcessSeries(fixtures.logistic.path);
const echo = await startEchoServer();
const echoStats = await grpcSeries(echo.address);
echo.stop();
const worker = await startWorkerProcess(['--model', 'churn', '--version', 'v1', '--artifact', fixtures.logistic.uri, '--sha256', fixtures.logistic.sha256]);
const workerStats = await grpcSeries(worker.address);
await worker.stop();

const result = {
  benchmark: 'worker-latency',
  date: new Date().toISOString(),
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  calls: CALLS,
  concurrency: CONCURRENCY,
  onnxruntimeInProcess: inProcess,
  grpcEchoBaseline: echoStats,
  infermeshWorker: workerStats,
  workerOverheadOverEchoP50Ms: Math.round((workerStats.sequential.p50Ms - echoStats.sequential.p50Ms) * 1000) / 1000,
};
const outDir = join(ROOT, 'docs/benchmarks/results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'worker-latency.json'), `${JSON.stringify(result, null, 2)}\n`);
console.table({
  'onnxruntime in-process': inProcess,
  'gRPC echo, 1 caller': echoStats.sequential,
  [`gRPC echo, ${CONCURRENCY} callers`]: echoStats.concurrent,
  'infermesh worker, 1 caller': workerStats.sequential,
  [`infermesh worker, ${CONCURRENCY} callers`]: workerStats.concurrent,
});
console.log(`written to docs/benchmarks/results/worker-latency.json`);
