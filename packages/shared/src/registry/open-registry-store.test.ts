import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_KV_PREFIX } from '../contract/mesh-contract.js';
import { DEFAULT_REGISTRY_DIR, openRegistryStore } from './open-registry-store.js';

test('a Consul address opens Consul KV under the prefix, with the client for catalog use', () => {
  const store = openRegistryStore({ consul: 'http://127.0.0.1:8500', consulToken: 't', kvPrefix: 'team-a/', registryDir: 'ignored' });
  assert.equal(store.kv.description, 'consul kv team-a/');
  assert.notEqual(store.consul, undefined);
  assert.equal(openRegistryStore({ consul: '127.0.0.1:8500' }).kv.description, `consul kv ${DEFAULT_KV_PREFIX}`);
});

test('without a Consul address (unset or empty) the registry is the directory, the default one unless given', () => {
  const store = openRegistryStore({ registryDir: '/tmp/registry-x', kvPrefix: 'unused/' });
  assert.equal(store.kv.description, 'directory /tmp/registry-x');
  assert.equal(store.consul, undefined);
  assert.equal(openRegistryStore({ consul: '' }).kv.description, `directory ${DEFAULT_REGISTRY_DIR}`);
});
