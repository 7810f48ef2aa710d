import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InfermeshError, loadConfig } from '@infermesh/shared';
import { versionSource, WORKER_OPTIONS, type WorkerConfig } from './worker-options.js';

const SHA = 'ab'.repeat(32);
const config = (overrides: Partial<WorkerConfig>) => loadConfig<WorkerConfig>(WORKER_OPTIONS, { overrides: { model: 'm', ...overrides } });
const refused = (pattern: RegExp) => (error: unknown) => error instanceof InfermeshError && error.code === 'INVALID_CONFIG' && pattern.test(error.message);

test('static and registry configs are told apart', () => {
  assert.equal(versionSource(config({ version: '1', artifact: '/m.onnx', sha256: SHA })), 'static');
  assert.equal(versionSource(config({ deployment: 'prod', registryDir: '/registry' })), 'registry');
  assert.equal(versionSource(config({ deployment: 'prod', consul: 'http://127.0.0.1:8500', register: true })), 'registry');
});

test('incoherent configs are refused before anything starts, naming the option', () => {
  assert.throws(() => versionSource(config({ version: '1', artifact: '/m.onnx' })), refused(/static mode needs --sha256/));
  assert.throws(() => versionSource(config({ version: '1', artifact: '/m.onnx', sha256: 'not-hex' })), refused(/--sha256 \(INFERMESH_ARTIFACT_SHA256\) must be 64 hexadecimal digits/));
  assert.throws(() => versionSource(config({ deployment: 'prod', registryDir: '/registry', register: true })), refused(/--register needs --consul/));
  assert.throws(() => versionSource(config({ version: '1', artifact: '/m.onnx', sha256: SHA, register: true })), refused(/--register needs --consul/));
  assert.throws(() => versionSource(config({ deployment: 'prod', consul: 'http://[::1' })), refused(/--consul \(CONSUL_HTTP_ADDR\) must be an HTTP address/));
  assert.throws(() => versionSource(config({ deployment: 'prod', registryDir: '/registry', version: '1' })), refused(/either --deployment/));
});
