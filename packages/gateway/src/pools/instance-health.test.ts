import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InstanceHealth } from './instance-health.js';

const policy = { ejectAfterFailures: 3, ejectionMs: 5_000 };

test('ejected after N consecutive failures; an answer in between resets the streak', () => {
  const health = new InstanceHealth(policy);
  assert.equal(health.recordFailure(0), false);
  assert.equal(health.recordFailure(0), false);
  health.recordSuccess();
  assert.equal(health.recordFailure(0), false);
  assert.equal(health.recordFailure(0), false);
  assert.equal(health.ejected, false);
  assert.equal(health.recordFailure(10), true, 'the third in a row ejects');
  assert.equal(health.ejected, true);
  assert.equal(health.recordFailure(11), false, 'failures of calls already in flight do not eject again');
});

test('probed only after the ejection period, one probe at a time; a failed probe ejects for another period', () => {
  const health = new InstanceHealth(policy);
  for (let failure = 0; failure < 3; failure += 1) health.recordFailure(1_000);
  assert.equal(health.beginProbeIfDue(5_999), false, 'still in the ejection period');
  assert.equal(health.beginProbeIfDue(6_000), true);
  assert.equal(health.beginProbeIfDue(6_001), false, 'a probe is already running');
  health.endProbe(false, 6_100);
  assert.equal(health.ejected, true);
  assert.equal(health.beginProbeIfDue(11_099), false);
  assert.equal(health.beginProbeIfDue(11_100), true);
  health.endProbe(true, 11_150);
  assert.equal(health.ejected, false);
  assert.equal(health.failures, 0);
  assert.equal(health.beginProbeIfDue(99_999), false, 'a healthy instance is not probed');
});
