import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, type CircuitPermit, type CircuitState } from './circuit-breaker.js';

function setup(failureThreshold = 3, openMs = 1_000) {
  const clock = { ms: 0 };
  const transitions: string[] = [];
  const breaker = new CircuitBreaker({
    failureThreshold,
    openMs,
    now: () => clock.ms,
    onStateChange: (state: CircuitState, previous: CircuitState) => transitions.push(`${previous}->${state}`),
  });
  const acquire = (): CircuitPermit => {
    const permit = breaker.tryAcquire();
    assert.ok(permit, `expected a permit while ${breaker.state}`);
    return permit;
  };
  const fail = (times: number) => {
    for (let call = 0; call < times; call += 1) breaker.recordFailure(acquire());
  };
  return { clock, breaker, transitions, acquire, fail };
}

test('closed: opens after failureThreshold consecutive failures, not before', () => {
  const { breaker, fail } = setup(3);
  fail(2);
  assert.equal(breaker.state, 'closed');
  fail(1);
  assert.equal(breaker.state, 'open');
  assert.equal(breaker.tryAcquire(), undefined, 'open refuses calls');
});

test('closed: a success resets the consecutive count', () => {
  const { breaker, acquire, fail } = setup(3);
  fail(2);
  breaker.recordSuccess(acquire());
  fail(2);
  assert.equal(breaker.state, 'closed');
  fail(1);
  assert.equal(breaker.state, 'open');
});

test('closed → open → half-open → closed: one trial call after openMs; its success closes', () => {
  const { clock, breaker, transitions, acquire, fail } = setup(2, 1_000);
  fail(2);
  clock.ms += 999;
  assert.equal(breaker.tryAcquire(), undefined, 'still open 1 ms before openMs');
  clock.ms += 1;
  const trial = acquire();
  assert.equal(breaker.state, 'half_open');
  assert.equal(breaker.tryAcquire(), undefined, 'only one trial call at a time');
  breaker.recordSuccess(trial);
  assert.equal(breaker.state, 'closed');
  acquire();
  acquire();
  assert.deepEqual(transitions, ['closed->open', 'open->half_open', 'half_open->closed']);
});

test('half-open → open: a failed trial re-opens for another full openMs', () => {
  const { clock, breaker, transitions, acquire, fail } = setup(2, 1_000);
  fail(2);
  clock.ms += 5_000;
  breaker.recordFailure(acquire());
  assert.equal(breaker.state, 'open');
  clock.ms += 999;
  assert.equal(breaker.tryAcquire(), undefined, 'open period counts from the failed trial');
  clock.ms += 1;
  breaker.recordSuccess(acquire());
  assert.equal(breaker.state, 'closed');
  assert.deepEqual(transitions, ['closed->open', 'open->half_open', 'half_open->open', 'open->half_open', 'half_open->closed']);
});

test('a released trial hands the trial to the next caller without deciding anything', () => {
  const { clock, breaker, acquire, fail } = setup(1, 100);
  fail(1);
  clock.ms += 100;
  breaker.release(acquire());
  assert.equal(breaker.state, 'half_open');
  const next = acquire();
  breaker.recordSuccess(next);
  assert.equal(breaker.state, 'closed');
});

test('late results from an earlier period are ignored', () => {
  const { clock, breaker, acquire, fail } = setup(2, 100);
  const slowFromClosed = acquire();
  const slowSuccessFromClosed = acquire();
  fail(2);
  assert.equal(breaker.state, 'open');
  clock.ms += 50;
  breaker.recordFailure(slowFromClosed);
  clock.ms += 50;
  const trial = acquire();
  assert.equal(breaker.state, 'half_open', 'a late failure did not extend the open period');
  breaker.recordSuccess(slowSuccessFromClosed);
  assert.equal(breaker.state, 'half_open', 'a late success is not the trial');
  breaker.recordFailure(trial);
  assert.equal(breaker.state, 'open');
});
