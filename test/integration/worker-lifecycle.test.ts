import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { status, type ClientReadableStream } from '@grpc/grpc-js';
import { createLogger } from '@infermesh/shared';
import { createWorker, loadModelRuntime, WORKER_OPTIONS, type WorkerConfig } from '@infermesh/worker';
import { loadConfig } from '@infermesh/shared';
import { Registry } from 'prom-client';
import { freshFixtures } from '../support/fixtures-dir.js';
import { healthClient, inferenceClient, unary, type CallError } from '../support/proto-client.js';
import { runCli, startWorkerProcess } from '../support/worker-process.js';

const fixtures = freshFixtures();
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('start-up refuses bad artifacts with a message saying which', () => {
  test('checksum mismatch: exits non-zero naming both checksums', async () => {
    const wrong = '0'.repeat(64);
    const result = await runCli(['worker', '--model', 'm', '--version', '1', '--artifact', fixtures.logistic.uri, '--sha256', wrong, '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ARTIFACT_CHECKSUM_MISMATCH/);
    assert.match(result.stderr, new RegExp(`expected sha256 ${wrong}, file has ${fixtures.logistic.sha256}`));
  });

  test('corrupt ONNX file with a matching checksum: exits non-zero with ARTIFACT_CORRUPT', async () => {
    const bytes = randomBytes(2048);
    const path = join(fixtures.dir, 'corrupt.onnx');
    writeFileSync(path, bytes);
    const result = await runCli(['worker', '--model', 'm', '--version', '1', '--artifact', path, '--sha256', sha256(bytes), '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ARTIFACT_CORRUPT/);
    assert.match(result.stderr, /not a loadable ONNX model/);
  });

  test('corrupt lookup table: exits non-zero naming the bad line', async () => {
    const bytes = Buffer.from('{"id": 1, "x": 2}\n{"id": 2, "x": \n');
    const path = join(fixtures.dir, 'corrupt.jsonl');
    writeFileSync(path, bytes);
    const result = await runCli(['worker', '--model', 'm', '--version', '1', '--artifact', path, '--sha256', sha256(bytes), '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ARTIFACT_CORRUPT.*line 2/);
  });

  test('missing file: exits non-zero with ARTIFACT_NOT_FOUND', async () => {
    const result = await runCli(['worker', '--model', 'm', '--version', '1', '--artifact', join(fixtures.dir, 'absent.onnx'), '--sha256', '0'.repeat(64), '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ARTIFACT_NOT_FOUND/);
  });

  test('malformed option: exit code 2 naming the flag and its variable', async () => {
    const result = await runCli(['worker', '--model', 'm', '--version', '1', '--artifact', fixtures.logistic.uri, '--sha256', fixtures.logistic.sha256, '--port', 'eighty']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--port \(INFERMESH_WORKER_PORT\) must be integer/);
  });

  test('every subcommand answers --help', async () => {
    for (const command of ['gateway', 'worker', 'models', 'infer']) {
      const result = await runCli([command, '--help']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`Usage: infermesh ${command}`));
    }
  });
});

describe('health', () => {
  const registry = new Registry();
  const logger = createLogger({ service: 'worker', level: 'silent' });
  let releaseLoad: () => void = () => undefined;
  const loadGate = new Promise<void>((resolve) => (releaseLoad = resolve));
  const config = loadConfig<WorkerConfig>(WORKER_OPTIONS, {
    overrides: { model: 'churn', version: 'v1', artifact: fixtures.logistic.uri, sha256: fixtures.logistic.sha256, host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0 },
  });

  test('NOT_SERVING while loading, SERVING once loaded, NOT_SERVING on stop; Watch sees each change', async () => {
    // The real loader, held until the test has looked at the loading state.
    const worker = await createWorker(config, {
      logger,
      registry,
      serverVersion: 'test',
      loadRuntime: async (...args) => {
        await loadGate;
        return loadModelRuntime(...args);
      },
    });
    const address = `127.0.0.1:${worker.port}`;
    const health = healthClient(address);
    const seen: string[] = [];
    const watch = (health as unknown as { Watch(request: object): ClientReadableStream<{ status: string }> }).Watch({ service: '' });
    watch.on('data', (message) => seen.push(message.status));
    watch.on('error', () => undefined);

    assert.deepEqual(await unary(health, 'Check', { service: '' }), { status: 'NOT_SERVING' });
    assert.deepEqual(await unary(health, 'Check', { service: 'inference.GRPCInferenceService' }), { status: 'NOT_SERVING' });
    await assert.rejects(unary(health, 'Check', { service: 'nope' }), (error: CallError) => error.code === status.NOT_FOUND);
    const inference = inferenceClient(address);
    await assert.rejects(
      unary(inference, 'ModelInfer', { model_name: 'churn', inputs: [] }),
      (error: CallError) => error.code === status.UNAVAILABLE && /no model is loaded/.test(error.details),
    );
    assert.deepEqual(await unary(inference, 'ServerReady', {}), { ready: false });

    releaseLoad();
    await worker.ready;
    assert.deepEqual(await unary(health, 'Check', { service: '' }), { status: 'SERVING' });
    assert.deepEqual(await unary(inference, 'ServerReady', {}), { ready: true });

    const ended = new Promise((resolve) => watch.on('end', resolve).on('error', resolve));
    await worker.stop();
    await ended;
    assert.deepEqual(seen, ['NOT_SERVING', 'SERVING', 'NOT_SERVING']);
    health.close();
    inference.close();
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM lets an in-flight call finish, refuses new ones, and exits 0', async () => {
    const worker = await startWorkerProcess(['--model', 'heavy', '--version', '1', '--artifact', fixtures.heavy.uri, '--sha256', fixtures.heavy.sha256, '--shutdown-grace-ms', '30000']);
    const client = inferenceClient(worker.address);
    after(() => client.close());
    const rows = 2048;
    const started = performance.now();
    const inFlight = unary<{ outputs: { shape: string[] }[] }>(client, 'ModelInfer', {
      model_name: 'heavy',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 256] }],
      raw_input_contents: [Buffer.from(new Float32Array(rows * 256).fill(0.5).buffer)],
    }, 60_000);
    // Give the call time to reach the model before the signal.
    await new Promise((resolve) => setTimeout(resolve, 150));
    worker.process.kill('SIGTERM');
    const response = await inFlight;
    const callMs = performance.now() - started;
    assert.deepEqual(response.outputs[0]?.shape, [String(rows), '256']);
    assert.ok(callMs > 150, `the call must still have been running at SIGTERM (took ${callMs.toFixed(0)} ms)`);
    assert.equal(await worker.exited, 0);
    await assert.rejects(unary(client, 'ServerLive', {}, 2_000), (error: CallError) => error.code === status.UNAVAILABLE);
  });
});
