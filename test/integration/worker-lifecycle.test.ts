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
import { eventually } from '../support/load-generator.js';
import { healthClient, inferenceClient, refusesNewCalls, unary, type CallError } from '../support/proto-client.js';
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
  test('stop() drains: the call in flight finishes on its model, new calls are refused meanwhile, stop ends after the answer', async () => {
    // The real runtime, with each call parked until the test releases it: the call is provably
    // inside the model when the worker is told to stop, with the event loop free.
    let gateCalls = false;
    let callEntered: () => void = () => undefined;
    const entered = new Promise<void>((resolve) => (callEntered = resolve));
    let releaseCall: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (releaseCall = resolve));
    const config = loadConfig<WorkerConfig>(WORKER_OPTIONS, {
      overrides: { model: 'churn', version: 'v1', artifact: fixtures.logistic.uri, sha256: fixtures.logistic.sha256, host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0 },
    });
    const worker = await createWorker(config, {
      logger: createLogger({ service: 'worker', level: 'silent' }),
      registry: new Registry(),
      serverVersion: 'test',
      loadRuntime: async (...args) => {
        const runtime = await loadModelRuntime(...args);
        return {
          platform: runtime.platform,
          inputs: runtime.inputs,
          outputs: runtime.outputs,
          infer: async (inputs, outputNames) => {
            if (gateCalls) {
              callEntered();
              await released;
            }
            return runtime.infer(inputs, outputNames);
          },
          dispose: () => runtime.dispose(),
        };
      },
    });
    await worker.ready;
    gateCalls = true;
    const address = `127.0.0.1:${worker.port}`;
    const client = inferenceClient(address);
    after(() => client.close());
    const events: string[] = [];
    const inFlight = unary<{ model_version: string; outputs: { shape: string[]; contents: { fp32_contents: number[] } }[] }>(client, 'ModelInfer', {
      model_name: 'churn',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [0.5, 1, 2, 0.1] } }],
    }).then((response) => {
      events.push('answered');
      return response;
    });
    await entered;

    const stopped = worker.stop().then(() => events.push('stopped'));
    await eventually('new connections to be refused', () => refusesNewCalls(address));
    assert.deepEqual(events, [], 'while the call is inside the model, it is neither answered nor cancelled, and stop() waits');

    releaseCall();
    const response = await inFlight;
    await stopped;
    assert.equal(response.model_version, 'v1');
    assert.deepEqual(response.outputs[0]?.shape, ['1', '1']);
    assert.ok(Number.isFinite(response.outputs[0]?.contents.fp32_contents[0]), 'the model computed the answer');
    assert.deepEqual(events, ['answered', 'stopped']);
  });

  test('SIGTERM while calls are queued on the model: every one is answered, then the process exits 0', async () => {
    const worker = await startWorkerProcess(['--model', 'heavy', '--version', '1', '--artifact', fixtures.heavy.uri, '--sha256', fixtures.heavy.sha256, '--shutdown-grace-ms', '120000']);
    after(() => worker.process.kill('SIGKILL'));
    const client = inferenceClient(worker.address);
    after(() => client.close());
    const events: string[] = [];
    void worker.exited.then(() => events.push('exited'));
    const rows = 2048;
    const request = {
      model_name: 'heavy',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 256] }],
      raw_input_contents: [Buffer.from(new Float32Array(rows * 256).fill(0.5).buffer)],
    };
    const calls = Array.from({ length: 6 }, () =>
      unary<{ model_version: string; outputs: { shape: string[] }[] }>(client, 'ModelInfer', request, 120_000).then((response) => {
        events.push('answered');
        return response;
      }),
    );
    // onnxruntime-node computes on the main thread, one call after another: once the first
    // answer is back, the worker holds the others and handles the signal only between them.
    await Promise.race(calls);
    worker.process.kill('SIGTERM');
    const responses = await Promise.all(calls);
    for (const response of responses) {
      assert.equal(response.model_version, '1');
      assert.deepEqual(response.outputs[0]?.shape, [String(rows), '256']);
    }
    assert.equal(await worker.exited, 0);
    assert.deepEqual(events, [...calls.map(() => 'answered'), 'exited']);
    assert.ok(worker.logs.some((line) => line.includes('"msg":"shutting down"')), 'the worker handled the signal');
    await assert.rejects(unary(client, 'ServerLive', {}, 2_000), (error: CallError) => error.code === status.UNAVAILABLE);
  });
});
