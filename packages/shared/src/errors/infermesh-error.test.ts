import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CODE_METADATA_KEY } from '../contract/mesh-contract.js';
import { INTERNAL_CLIENT_MESSAGE, InfermeshError } from './infermesh-error.js';
import { toGrpcError } from './to-grpc-error.js';

test('an unexpected error keeps its message for the log but clients get a fixed sentence, over HTTP and gRPC', () => {
  const leaky = InfermeshError.from(new Error("ENOENT: no such file '/etc/infermesh/secret-key' on db.internal:5432"));
  assert.equal(leaky.code, 'INTERNAL');
  assert.match(leaky.message, /secret-key/, 'the log still sees what happened');
  assert.equal(leaky.clientMessage, INTERNAL_CLIENT_MESSAGE);
  const grpc = toGrpcError(new TypeError('Cannot read properties of undefined (reading "rows") at /srv/app.js:12'));
  assert.equal(grpc.details, INTERNAL_CLIENT_MESSAGE);
  assert.deepEqual(grpc.metadata?.get(ERROR_CODE_METADATA_KEY), ['INTERNAL']);
});

test('deliberate errors tell the client exactly what is wrong', () => {
  const error = new InfermeshError('INVALID_TENSOR', "input 'features' must be FP32 [-1,4]");
  assert.equal(error.clientMessage, error.message);
  assert.equal(toGrpcError(error).details, error.message);
});
