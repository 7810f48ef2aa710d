import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

test('the policy core loads no network, gRPC, Consul, Kafka, HTTP framework or metrics module', () => {
  const entry = fileURLToPath(new URL('./index.ts', import.meta.url));
  // A fresh process imports only the policy, then lists every module it loaded.
  const script = `await import(${JSON.stringify(entry)}); const { createRequire } = await import('node:module'); console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
  const loaded = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', '--conditions=source', '--input-type=module', '-e', script], { encoding: 'utf8' }),
  ) as string[];
  const forbidden = loaded.filter((path) => /node_modules\/(@grpc|consul|kafkajs|express|prom-client|pino|undici)\//.test(path));
  assert.deepEqual(forbidden, []);
});
