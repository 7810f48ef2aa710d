import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestLogLevel } from './request-log-level.js';

test('only unexpected failures and a model failing are ERROR; 503, 504 and client mistakes are WARN; successes INFO', () => {
  assert.equal(requestLogLevel(500, 'INTERNAL'), 'error');
  assert.equal(requestLogLevel(500, 'INFERENCE_FAILED'), 'error');
  assert.equal(requestLogLevel(503, 'NO_HEALTHY_WORKER'), 'warn');
  assert.equal(requestLogLevel(503, 'UPSTREAM_UNAVAILABLE'), 'warn');
  assert.equal(requestLogLevel(504, 'DEADLINE_EXCEEDED'), 'warn');
  assert.equal(requestLogLevel(400, 'INVALID_ARGUMENT'), 'warn');
  assert.equal(requestLogLevel(200, undefined), 'info');
  assert.equal(requestLogLevel(202, undefined), 'info');
});

test('passing health probes and scrapes are DEBUG (Consul and Prometheus call them every few seconds); a failing probe is WARN', () => {
  for (const route of ['/healthz', '/readyz', '/metrics', '/v2/health/live', '/v2/health/ready']) assert.equal(requestLogLevel(200, undefined, route), 'debug', route);
  assert.equal(requestLogLevel(503, undefined, '/readyz'), 'warn');
  assert.equal(requestLogLevel(200, undefined, '/v1/models/:model/predict'), 'info');
});
