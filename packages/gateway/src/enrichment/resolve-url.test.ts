import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveUrl } from './resolve-url.js';

test('fills placeholders from entity keys; numbers become their decimal text', () => {
  assert.deepEqual(resolveUrl('http://h:1/users/{userId}/products/{productId}?v=1', { userId: 'u1', productId: 42 }), {
    ok: true,
    url: 'http://h:1/users/u1/products/42?v=1',
  });
});

test('URL-encodes values so an id cannot change the path or query', () => {
  const result = resolveUrl('http://h/users/{userId}?region={region}', { userId: '../admin?x=1#y', region: 'eu west/1' });
  assert.deepEqual(result, { ok: true, url: 'http://h/users/..%2Fadmin%3Fx%3D1%23y?region=eu%20west%2F1' });
});

test('reports every placeholder with no entity value, empty strings included', () => {
  assert.deepEqual(resolveUrl('http://h/{a}/{b}/{c}', { b: 'x', c: '' }), { ok: false, missingKeys: ['a', 'c'] });
});

test('a placeholder never reads inherited properties', () => {
  assert.deepEqual(resolveUrl('http://h/{constructor}', {}), { ok: false, missingKeys: ['constructor'] });
});

test('a template without placeholders is used as is', () => {
  assert.deepEqual(resolveUrl('http://h/static', { userId: 'u1' }), { ok: true, url: 'http://h/static' });
});
