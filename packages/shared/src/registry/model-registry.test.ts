import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { InfermeshError } from '../errors/infermesh-error.js';
import { FileKvStore } from '../kv/file-kv-store.js';
import { ModelRegistry } from './model-registry.js';

const SHA = 'a'.repeat(64);
const fixedNow = () => new Date('2026-11-25T00:00:00Z');

function registry(): ModelRegistry {
  return new ModelRegistry(new FileKvStore(mkdtempSync(join(tmpdir(), 'registry-'))), fixedNow);
}

const code = (expected: string) => (error: InfermeshError) => error.code === expected;

test('versions are write-once', async () => {
  const models = registry();
  await models.publish('churn', 'v1', { uri: 'file:///a.onnx', sha256: SHA, metadata: {} });
  await assert.rejects(models.publish('churn', 'v1', { uri: 'file:///b.onnx', sha256: SHA, metadata: {} }), code('ALREADY_EXISTS'));
  assert.equal((await models.version('churn', 'v1'))?.uri, 'file:///a.onnx');
});

test('promote refuses unknown versions; promote and rollback keep a history', async () => {
  const models = registry();
  await assert.rejects(models.promote('churn', 'prod', 'v1'), code('VERSION_NOT_FOUND'));
  for (const version of ['v1', 'v2', 'v3']) await models.publish('churn', version, { uri: `file:///${version}.onnx`, sha256: SHA, metadata: {} });
  await models.promote('churn', 'prod', 'v1');
  await models.promote('churn', 'prod', 'v2');
  await models.promote('churn', 'prod', 'v3');
  assert.deepEqual((await models.deployment('churn', 'prod'))?.record.previous, ['v2', 'v1']);
  assert.equal((await models.rollback('churn', 'prod')).version, 'v2');
  assert.equal((await models.rollback('churn', 'prod')).version, 'v1');
  await assert.rejects(models.rollback('churn', 'prod'), code('CONFLICT'));
  const record = (await models.deployment('churn', 'prod'))!.record;
  assert.deepEqual(record.history.map((event) => `${event.action}:${event.version}`), ['rollback:v1', 'rollback:v2', 'promote:v3', 'promote:v2', 'promote:v1']);
  assert.equal(record.updatedAt, '2026-11-25T00:00:00.000Z');
});

test('promote --if-version guards against promoting over someone else', async () => {
  const models = registry();
  for (const version of ['v1', 'v2', 'v3']) await models.publish('churn', version, { uri: `file:///${version}.onnx`, sha256: SHA, metadata: {} });
  await models.promote('churn', 'prod', 'v1');
  await models.promote('churn', 'prod', 'v2', { ifVersion: 'v1' });
  await assert.rejects(models.promote('churn', 'prod', 'v3', { ifVersion: 'v1' }), (error: InfermeshError) => error.code === 'CONFLICT' && /now serves 'v2'/.test(error.message));
});

test('names that could escape the key space are refused', async () => {
  const models = registry();
  await assert.rejects(models.publish('../etc', 'v1', { uri: 'x', sha256: SHA, metadata: {} }), code('INVALID_ARGUMENT'));
  await assert.rejects(models.publish('m', 'a/b', { uri: 'x', sha256: SHA, metadata: {} }), code('INVALID_ARGUMENT'));
});
