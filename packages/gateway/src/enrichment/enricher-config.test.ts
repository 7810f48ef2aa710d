import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { ENRICHER_CONFIG_SCHEMA, type EnricherConfig } from './enricher-config.js';

const validate = new Ajv({ allErrors: true }).compile<EnricherConfig>(ENRICHER_CONFIG_SCHEMA);

const valid: EnricherConfig = {
  name: 'user-profile',
  url: 'http://127.0.0.1:7000/users/{userId}',
  timeoutMs: 50,
  cacheTtlMs: 30_000,
  cacheMaxEntries: 1_000,
  maxResponseBytes: 65_536,
  breaker: { failureThreshold: 5, openMs: 10_000 },
  features: { age: { default: 30 }, avgBasket: { path: 'stats.avgBasket', default: 0 }, segment: {} },
};

test('accepts a full config and a minimal one', () => {
  assert.ok(validate(valid), JSON.stringify(validate.errors));
  assert.ok(validate({ name: 'p', url: 'https://features/p/{id}', timeoutMs: 1, cacheTtlMs: 0, features: { f: {} } }), JSON.stringify(validate.errors));
});

const invalid: [string, Record<string, unknown>][] = [
  ['unknown property', { ...valid, retries: 3 }],
  ['name unsafe as a label', { ...valid, name: 'user profile' }],
  ['url not http(s)', { ...valid, url: 'file:///etc/passwd' }],
  ['zero timeout', { ...valid, timeoutMs: 0 }],
  ['negative ttl', { ...valid, cacheTtlMs: -1 }],
  ['fractional ttl', { ...valid, cacheTtlMs: 1.5 }],
  ['zero cache bound', { ...valid, cacheMaxEntries: 0 }],
  ['cache bound beyond the preallocation limit', { ...valid, cacheMaxEntries: 1_000_001 }],
  ['zero response bound', { ...valid, maxResponseBytes: 0 }],
  ['fractional response bound', { ...valid, maxResponseBytes: 1.5 }],
  ['partial breaker', { ...valid, breaker: { failureThreshold: 3 } }],
  ['zero threshold', { ...valid, breaker: { failureThreshold: 0, openMs: 10 } }],
  ['no features', { ...valid, features: {} }],
  ['null default', { ...valid, features: { f: { default: null } } }],
  ['empty path segment', { ...valid, features: { f: { path: 'stats..x' } } }],
  ['unknown feature property', { ...valid, features: { f: { dflt: 1 } } }],
];
for (const [why, config] of invalid) {
  test(`rejects: ${why}`, () => assert.equal(validate(config), false));
}

test('embeds in a larger schema, twice, without id clashes', () => {
  const outer = new Ajv().compile({ type: 'object', properties: { a: { type: 'array', items: ENRICHER_CONFIG_SCHEMA }, b: ENRICHER_CONFIG_SCHEMA } });
  assert.ok(outer({ a: [valid], b: valid }));
});
