import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { addOutcome, combineMeasures, emptyMeasures, latencyBound, latencyBucket, latencyQuantile, LATENCY_BUCKETS, summarizeMeasures } from './guardrail-measures.js';

test('every latency lands in the bucket whose bounds hold it', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (latency) => {
      const bucket = latencyBucket(latency);
      assert.ok(bucket >= 0 && bucket < LATENCY_BUCKETS);
      assert.ok(latency <= latencyBound(bucket) * (1 + 1e-12), `${latency} above bucket ${bucket}'s bound ${latencyBound(bucket)}`);
      if (bucket > 0) assert.ok(latency > latencyBound(bucket - 1) * (1 - 1e-12), `${latency} belongs below bucket ${bucket}`);
    }),
  );
});

test('p99 is within a bucket (9 %) of the exact 99th percentile', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0.5, max: 60_000, noNaN: true }), { minLength: 100, maxLength: 400 }), (latencies) => {
      const measures = emptyMeasures();
      for (const latency of latencies) addOutcome(measures, 'answered', latency);
      const sorted = [...latencies].sort((a, b) => a - b);
      const exact = sorted[Math.ceil(0.99 * sorted.length) - 1]!;
      const estimate = latencyQuantile(measures, 0.99)!;
      assert.ok(estimate <= Math.max(1, exact) * 2 ** (1 / 8) * (1 + 1e-9) && estimate >= exact / 2 ** (1 / 8) / (1 + 1e-9), `estimate ${estimate}, exact ${exact}`);
    }),
  );
});

test('outcomes are counted by kind; the summary says what guardrails judge', () => {
  const measures = emptyMeasures();
  for (let index = 0; index < 70; index += 1) addOutcome(measures, 'answered', 20);
  for (let index = 0; index < 20; index += 1) addOutcome(measures, 'default', 250);
  for (let index = 0; index < 10; index += 1) addOutcome(measures, 'error', 3);
  const summary = summarizeMeasures(measures);
  assert.deepEqual({ ...summary, p99LatencyMs: undefined }, { predictions: 100, errors: 10, defaults: 20, p99LatencyMs: undefined });
  assert.ok(summary.p99LatencyMs! > 200 && summary.p99LatencyMs! <= 256, String(summary.p99LatencyMs));
  assert.equal(summarizeMeasures(undefined).p99LatencyMs, null);
  // Halving (a discount) and doubling (a merge with itself) keep the rates and the p99.
  const half = combineMeasures(measures, 0.5, undefined, 0)!;
  assert.equal(half.defaults / half.predictions, 0.2);
  assert.equal(latencyQuantile(combineMeasures(measures, 1, measures, 1)!, 0.99), summary.p99LatencyMs);
});
