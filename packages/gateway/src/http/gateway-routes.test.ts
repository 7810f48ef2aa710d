import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unroutedErrorFlavour } from './error-body.js';
import { routeName } from './gateway-route.js';
import { GATEWAY_ROUTES } from './gateway-routes.js';

test('each method and path is declared once', () => {
  const names = GATEWAY_ROUTES.map(routeName);
  assert.deepEqual([...new Set(names)], names);
});

test('routes under /v2 answer errors as the Open Inference Protocol does, the others in the v1 body, as a path no route serves does', () => {
  for (const route of GATEWAY_ROUTES) assert.equal(route.errors, unroutedErrorFlavour(route.path), routeName(route));
  assert.equal(unroutedErrorFlavour('/v2/nothing'), 'v2');
  assert.equal(unroutedErrorFlavour('/v3/nothing'), 'v1');
});
