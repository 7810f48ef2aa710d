import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openRegistry } from './registry-options.js';

test('the registry comes from flags, else the environment, else the default directory', () => {
  const env = { CONSUL_HTTP_ADDR: 'http://127.0.0.1:8500', INFERMESH_KV_PREFIX: 'env-prefix/', INFERMESH_REGISTRY_DIR: '/tmp/env-dir' };
  assert.equal(openRegistry({}, env).kv.description, 'consul kv env-prefix/');
  assert.notEqual(openRegistry({}, env).consul, undefined);
  assert.equal(openRegistry({ 'kv-prefix': 'flag-prefix/' }, env).kv.description, 'consul kv flag-prefix/');
  assert.equal(openRegistry({}, { INFERMESH_REGISTRY_DIR: '/tmp/env-dir' }).kv.description, 'directory /tmp/env-dir');
  assert.equal(openRegistry({ 'registry-dir': '/tmp/flag-dir' }, { INFERMESH_REGISTRY_DIR: '/tmp/env-dir' }).kv.description, 'directory /tmp/flag-dir');
  const local = openRegistry({}, {});
  assert.equal(local.kv.description, 'directory .infermesh/registry');
  assert.equal(local.consul, undefined);
});
