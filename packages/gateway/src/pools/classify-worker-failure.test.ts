import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { classifyWorkerFailure } from './classify-worker-failure.js';
import { WorkerCallError } from './worker-call-error.js';

const failure = (code: status, headersReceived: boolean, workerCode?: string) => new WorkerCallError(code, 'worker said no', headersReceived, workerCode);

test('retry on another instance only when the call provably did not reach the model', () => {
  const cases: [WorkerCallError, boolean, string][] = [
    [failure(status.UNAVAILABLE, false), true, 'connection refused / GOAWAY before any header'],
    [failure(status.UNAVAILABLE, true), false, 'headers arrived: the model may have run'],
    [failure(status.UNAVAILABLE, false, 'MODEL_NOT_READY'), true, 'worker not ready'],
    [failure(status.UNAVAILABLE, true, 'SHUTTING_DOWN'), true, 'worker shutting down'],
    [failure(status.DEADLINE_EXCEEDED, false), false, 'the deadline is spent'],
    [failure(status.INVALID_ARGUMENT, false, 'INVALID_TENSOR'), false, 'client mistake'],
    [failure(status.NOT_FOUND, false, 'MODEL_NOT_FOUND'), false, 'wrong model'],
    [failure(status.INTERNAL, false, 'INFERENCE_FAILED'), false, 'the model ran and failed'],
    [failure(status.INTERNAL, false), false, 'transport error mid-call'],
  ];
  for (const [error, retry, why] of cases) assert.equal(classifyWorkerFailure(error).retryOnAnotherInstance, retry, why);
});

test('errors map to stable codes; client mistakes stay 4xx with the worker message and never count toward ejection', () => {
  const invalid = classifyWorkerFailure(failure(status.INVALID_ARGUMENT, false, 'INVALID_TENSOR'));
  assert.equal(invalid.error.code, 'INVALID_TENSOR');
  assert.equal(invalid.error.message, 'worker said no');
  assert.equal(invalid.countsTowardEjection, false);
  assert.equal(invalid.instanceAnswered, true);

  assert.equal(classifyWorkerFailure(failure(status.NOT_FOUND, false, 'MODEL_NOT_FOUND')).error.code, 'MODEL_NOT_FOUND');
  assert.equal(classifyWorkerFailure(failure(status.NOT_FOUND, false, 'VERSION_NOT_FOUND')).error.code, 'VERSION_NOT_FOUND');
  const deadline = classifyWorkerFailure(failure(status.DEADLINE_EXCEEDED, false));
  assert.deepEqual([deadline.error.code, deadline.countsTowardEjection], ['DEADLINE_EXCEEDED', false]);

  const unavailable = classifyWorkerFailure(failure(status.UNAVAILABLE, false));
  assert.deepEqual([unavailable.error.code, unavailable.error.retriable, unavailable.countsTowardEjection, unavailable.statusName], ['UPSTREAM_UNAVAILABLE', true, true, 'UNAVAILABLE']);
  const notReady = classifyWorkerFailure(failure(status.UNAVAILABLE, false, 'MODEL_NOT_READY'));
  assert.deepEqual([notReady.error.code, notReady.countsTowardEjection], ['MODEL_NOT_READY', true]);
  const transport = classifyWorkerFailure(failure(status.INTERNAL, false));
  assert.deepEqual([transport.error.code, transport.countsTowardEjection], ['UPSTREAM_UNAVAILABLE', true]);
});

test("the worker's own code survives the hop, with its retriable flag; the instance answered and is not ejected", () => {
  const modelFailed = classifyWorkerFailure(failure(status.INTERNAL, true, 'INFERENCE_FAILED'));
  assert.deepEqual(
    [modelFailed.error.code, modelFailed.error.message, modelFailed.error.clientMessage, modelFailed.error.retriable, modelFailed.retryOnAnotherInstance, modelFailed.countsTowardEjection, modelFailed.instanceAnswered],
    ['INFERENCE_FAILED', 'worker said no', 'worker said no', false, false, false, true],
  );
  assert.deepEqual(modelFailed.error.details, { grpcStatus: 'INTERNAL', workerCode: 'INFERENCE_FAILED' });
  // Any code the worker sends with the status it maps that code to passes through.
  for (const [grpc, code] of [[status.INVALID_ARGUMENT, 'MISSING_FEATURE'], [status.NOT_FOUND, 'DEPLOYMENT_NOT_FOUND'], [status.FAILED_PRECONDITION, 'WARMUP_FAILED'], [status.RESOURCE_EXHAUSTED, 'PAYLOAD_TOO_LARGE']] as const) {
    const decision = classifyWorkerFailure(failure(grpc, false, code));
    assert.deepEqual([decision.error.code, decision.error.retriable, decision.countsTowardEjection], [code, false, false], code);
  }
});

test('an unexpected worker error never leaks its message; a code this gateway does not know, or with a status that does not fit it, is INTERNAL', () => {
  const bug = classifyWorkerFailure(failure(status.INTERNAL, false, 'INTERNAL'));
  assert.deepEqual([bug.error.code, bug.error.clientMessage, bug.countsTowardEjection, bug.instanceAnswered], ['INTERNAL', 'internal error; it was logged with this request id', false, true]);
  assert.match(bug.error.message, /worker failed the call \(INTERNAL\): worker said no/);
  for (const [grpc, code] of [[status.INTERNAL, 'A_NEWER_CODE'], [status.INTERNAL, 'INVALID_TENSOR']] as const) {
    const decision = classifyWorkerFailure(failure(grpc, false, code));
    assert.deepEqual([decision.error.code, decision.error.clientMessage, decision.countsTowardEjection], ['INTERNAL', 'internal error; it was logged with this request id', false], code);
  }
});

test('anything that is not a worker call error is a bug: INTERNAL, no retry, no ejection', () => {
  const decision = classifyWorkerFailure(new TypeError('oops'));
  assert.deepEqual([decision.error.code, decision.retryOnAnotherInstance, decision.countsTowardEjection], ['INTERNAL', false, false]);
});
