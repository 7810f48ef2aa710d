import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StaticEndpointSource } from './static-endpoint-source.js';

test('lists each address once, ready at once', async () => {
  const source = new StaticEndpointSource(['10.0.0.1:8001', 'worker-2.local:8001', '10.0.0.1:8001', '[::1]:8001']);
  await source.ready;
  assert.deepEqual(source.endpoints(), [
    { id: '10.0.0.1:8001', address: '10.0.0.1:8001', meta: {} },
    { id: 'worker-2.local:8001', address: 'worker-2.local:8001', meta: {} },
    { id: '[::1]:8001', address: '[::1]:8001', meta: {} },
  ]);
});

test('an address without a port is refused at construction, naming it', () => {
  assert.throws(() => new StaticEndpointSource(['10.0.0.1']), { code: 'INVALID_CONFIG', message: /'10\.0\.0\.1' is not host:port/ });
});
