import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import { createLogger } from '@infermesh/shared';
import { Registry } from 'prom-client';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { routeName } from './gateway-route.js';
import { GATEWAY_ROUTES } from './gateway-routes.js';
import { createPredictFastLane, type PredictFastLaneDependencies } from './predict-fast-lane.js';

// Only what deciding needs: a request the lane takes waits for its body, which never comes here.
const lane = createPredictFastLane({
  metrics: new GatewayMetrics(new Registry()),
  logger: createLogger({ service: 'test', level: 'silent' }),
  maxBodyBytes: 1024,
  elapsed: () => 0,
} as unknown as PredictFastLaneDependencies);

/** Whether the lane takes the request (true), or leaves it to express (false). */
function takes(method: string, url: string, headers: Record<string, string>): boolean {
  const request = { method, url, headers, on: () => request } as unknown as IncomingMessage;
  return lane(request, {} as ServerResponse);
}

const urlOf = (path: string) => path.replace(/:[A-Za-z_]\w*/g, 'churn');
const plain = { 'content-type': 'application/json', 'content-length': '2' };

describe('the fast lane takes the plain requests of every fast route of the table, and leaves the rest to express', () => {
  const fast = GATEWAY_ROUTES.filter((route) => route.fastLane === true);
  test('the table has fast routes', () => assert.ok(fast.length > 0));
  for (const route of fast) {
    test(routeName(route), () => {
      const url = urlOf(route.path);
      assert.equal(takes(route.method, url, plain), true, 'plain JSON');
      assert.equal(takes(route.method, url, { ...plain, 'content-type': 'application/vnd.x+json; charset=UTF-8' }), true, 'a +json type in UTF-8');
      assert.equal(takes(route.method, url, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }), true, 'chunked');
      assert.equal(takes(route.method, `${url}?via=express`, plain), false, 'a query string');
      assert.equal(takes(route.method, url.replace('churn', 'ch%75rn'), plain), false, 'an escaped name');
      assert.equal(takes(route.method, url, { ...plain, 'content-encoding': 'gzip' }), false, 'gzip');
      assert.equal(takes(route.method, url, { ...plain, 'content-type': 'application/json; charset=latin1' }), false, 'another charset');
      assert.equal(takes(route.method, url, { ...plain, 'content-type': 'text/plain' }), false, 'not JSON');
      assert.equal(takes(route.method, url, { ...plain, 'inference-header-content-length': '2' }), false, 'the binary extension');
      assert.equal(takes(route.method, url, { 'content-type': 'application/json' }), false, 'no body');
      assert.equal(takes(route.method === 'PUT' ? 'POST' : 'PUT', url, plain), false, 'another method');
    });
  }
  test('no other route', () => {
    for (const route of GATEWAY_ROUTES.filter((candidate) => candidate.fastLane !== true)) assert.equal(takes(route.method, urlOf(route.path), plain), false, routeName(route));
  });
  test('a missing Content-Type is JSON on /v2 infer (as Triton sends it), and express\'s to refuse on /v1', () => {
    assert.equal(takes('POST', '/v2/models/churn/infer', { 'content-length': '2' }), true);
    assert.equal(takes('POST', '/v1/models/churn/predict', { 'content-length': '2' }), false);
  });
});
