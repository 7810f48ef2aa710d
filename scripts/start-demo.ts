/**
 * `npm start`: a whole mesh on the embedded default (no Consul, no Kafka): a file registry
 * under .infermesh/demo, the demo model (a logistic regression) published and promoted there,
 * one worker following its `prod` deployment on 127.0.0.1:8001 (metrics :8002), and the
 * gateway on 127.0.0.1:8080 serving it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileKvStore, InfermeshError, ModelRegistry } from '@infermesh/shared';
import { writeFixtures } from '../test/fixtures/generate-fixtures.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Milliseconds between checks that the mesh answers before the demo prints what to try. */
const READY_POLL_MS = 200;
const DEMO_DIR = join(ROOT, '.infermesh/demo');
const REGISTRY_DIR = join(DEMO_DIR, 'registry');
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const workerPort = process.env.INFERMESH_WORKER_PORT ?? '8001';
const gatewayPort = process.env.INFERMESH_GATEWAY_PORT ?? '8080';

const demo = writeFixtures(DEMO_DIR).logistic;
const kv = new FileKvStore(REGISTRY_DIR);
const registry = new ModelRegistry(kv);
await registry.publish('demo', 'v1', { uri: demo.uri, sha256: demo.sha256, metadata: { note: 'npm start demo' } }).catch((error: unknown) => {
  if (!(error instanceof InfermeshError && error.code === 'ALREADY_EXISTS')) throw error;
});
if ((await registry.deployment('demo', 'prod'))?.record.version !== 'v1') await registry.promote('demo', 'prod', 'v1');
const config = JSON.stringify({
  entityKeys: ['userId'],
  inputs: { recency: { type: 'number' }, frequency: { type: 'number' }, monetary: { type: 'number' }, tenure: { type: 'number' } },
  tensors: { features: { datatype: 'FP32', shape: [4], from: ['inputs.recency', 'inputs.frequency', 'inputs.monetary', 'inputs.tenure'] } },
  deadlineMs: 500,
  defaultOutput: { probability: [[0.5]] },
  pool: { static: [`127.0.0.1:${workerPort}`] },
});
const current = await kv.get('models/demo/config');
if (current?.value !== config) await kv.compareAndSet('models/demo/config', config, current?.index ?? 0);

const children: ChildProcess[] = [
  spawn(process.execPath, [CLI, 'worker', '--model', 'demo', '--deployment', 'prod', '--registry-dir', REGISTRY_DIR, '--host', '127.0.0.1', '--port', workerPort, '--metrics-host', '127.0.0.1'], { stdio: 'inherit' }),
  spawn(process.execPath, [CLI, 'gateway', '--registry-dir', REGISTRY_DIR, '--host', '127.0.0.1', '--port', gatewayPort], { stdio: 'inherit' }),
];
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => children.forEach((child) => child.kill(signal)));
let exited = 0;
for (const child of children) {
  child.on('exit', (code) => {
    exited += 1;
    // One process gone means the demo is broken: stop the other too.
    children.forEach((other) => other.exitCode === null && other.kill('SIGTERM'));
    if (exited === children.length) process.exit(code ?? 0);
  });
}

// The commands are printed once the mesh answers a prediction, so the first one a newcomer tries works.
const demoRequest = { entity: { userId: 'u1' }, inputs: { recency: 0.5, frequency: 1, monetary: 2, tenure: 0.1 } };
for (;;) {
  const answer = await fetch(`http://127.0.0.1:${gatewayPort}/v1/models/demo/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(demoRequest),
  }).catch(() => undefined);
  if (answer?.status === 200) break;
  await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
}
console.log(
  [
    `[demo] registry ${REGISTRY_DIR}: model "demo" v1 promoted to "prod"`,
    `[demo] worker on 127.0.0.1:${workerPort}, gateway on http://127.0.0.1:${gatewayPort}; from another terminal:`,
    `[demo]   curl -s localhost:${gatewayPort}/v1/models/demo/predict -H 'content-type: application/json' \\`,
    `[demo]     -d '{"entity": {"userId": "u1"}, "inputs": {"recency": 0.5, "frequency": 1, "monetary": 2, "tenure": 0.1}}'`,
    `[demo]   npx infermesh infer --target 127.0.0.1:${workerPort} --model demo '{"features": [[0.5, 1.0, 2.0, 0.1]]}'`,
    '[demo] Ctrl-C stops both (in-flight calls finish first).',
  ].join('\n'),
);

