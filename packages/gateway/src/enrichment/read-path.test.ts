import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readPath } from './read-path.js';

const body = { age: 31, stats: { avgBasket: 12.5, tags: ['a', 'b'], nothing: null }, 'dotless': { x: 0 } };

test('reads top-level and nested values by dotted path', () => {
  assert.equal(readPath(body, 'age'), 31);
  assert.equal(readPath(body, 'stats.avgBasket'), 12.5);
  assert.deepEqual(readPath(body, 'stats.tags'), ['a', 'b']);
  assert.equal(readPath(body, 'dotless.x'), 0, 'falsy values are values');
});

test('numeric segments index arrays', () => {
  assert.equal(readPath(body, 'stats.tags.1'), 'b');
  assert.equal(readPath(body, 'stats.tags.2'), undefined);
  assert.equal(readPath(body, 'stats.tags.length'), undefined, 'array properties are not indexes');
});

test('absent steps and steps through non-objects give undefined; null is returned as null', () => {
  assert.equal(readPath(body, 'missing'), undefined);
  assert.equal(readPath(body, 'stats.missing.deeper'), undefined);
  assert.equal(readPath(body, 'age.value'), undefined);
  assert.equal(readPath(body, 'stats.nothing'), null);
  assert.equal(readPath(body, 'stats.nothing.x'), undefined);
});

test('never follows the prototype chain', () => {
  assert.equal(readPath(body, 'constructor'), undefined);
  assert.equal(readPath(body, '__proto__'), undefined);
  assert.equal(readPath(body, 'stats.toString'), undefined);
});
