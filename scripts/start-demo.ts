/**
 * `npm start`: writes the demo model (a logistic regression) and serves it with
 * `infermesh worker` on 127.0.0.1:8001 (metrics on :8002), no Consul or Kafka needed.
 * INFERMESH_WORKER_PORT / INFERMESH_METRICS_PORT move it elsewhere.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFixtures } from '../test/fixtures/generate-fixtures.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEMO_DIR = join(ROOT, '.infermesh/demo');

const demo = writeFixtures(DEMO_DIR).logistic;
const port = process.env.INFERMESH_WORKER_PORT ?? '8001';
console.log(
  [
    `[demo] serving model "demo" version 1 (${demo.path}, sha256 ${demo.sha256.slice(0, 12)}…) on 127.0.0.1:${port}`,
    '[demo] call it from another terminal:',
    `[demo]   npx infermesh infer --target 127.0.0.1:${port} --model demo '{"features": [[0.5, 1.0, 2.0, 0.1]]}'`,
    '[demo] Ctrl-C stops it (in-flight calls finish first).',
  ].join('\n'),
);

const worker = spawn(
  process.execPath,
  [join(ROOT, 'packages/cli/dist/main.js'), 'worker', '--model', 'demo', '--version', '1', '--artifact', demo.uri, '--sha256', demo.sha256, '--host', '127.0.0.1', '--metrics-host', '127.0.0.1'],
  { stdio: 'inherit', env: { ...process.env, INFERMESH_WORKER_PORT: port } },
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => worker.kill(signal));
worker.on('exit', (code) => process.exit(code ?? 0));
