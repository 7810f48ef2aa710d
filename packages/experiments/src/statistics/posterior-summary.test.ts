import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { betaPosterior, normalGammaPosterior, samplePosteriorMean } from '../policy/posteriors.js';
import { seededRandom } from '../policy/random-source.js';
import { describePosterior, summarizePosterior } from './posterior-summary.js';

test('descriptors are the posteriors of posteriors.ts: Beta as is, Normal–Gamma as the Student-t marginal of its mean', () => {
  const beta = betaPosterior({ trials: 100, rewardSum: 30, rewardSumSquares: 30 });
  assert.deepEqual(describePosterior(beta), { family: 'beta', alpha: 31, beta: 71 });
  const normalGamma = normalGammaPosterior({ trials: 50, rewardSum: 100, rewardSumSquares: 250 });
  const descriptor = describePosterior(normalGamma);
  assert.equal(descriptor.family, 'student-t');
  if (descriptor.family !== 'student-t') return;
  assert.equal(descriptor.df, 2 * normalGamma.alpha);
  assert.equal(descriptor.location, normalGamma.mu);
  // The Student-t's variance df/(df−2)·scale² is the variance of the mean that sampling gives.
  const rng = seededRandom('marginal');
  const draws = Array.from({ length: 40_000 }, () => samplePosteriorMean(normalGamma, rng));
  const mean = draws.reduce((sum, draw) => sum + draw, 0) / draws.length;
  const variance = draws.reduce((sum, draw) => sum + (draw - mean) ** 2, 0) / (draws.length - 1);
  const expected = (descriptor.df / (descriptor.df - 2)) * descriptor.scale ** 2;
  assert.ok(Math.abs(variance - expected) / expected < 0.05, `sampled variance ${variance}, Student-t variance ${expected}`);
});

test('the 95 % interval holds the mean and about 95 % of the posterior draws', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 5_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (trials, rate) => {
      const successes = Math.round(trials * rate);
      const summary = summarizePosterior(betaPosterior({ trials, rewardSum: successes, rewardSumSquares: successes }));
      assert.ok(summary.interval[0] < summary.mean && summary.mean < summary.interval[1], JSON.stringify(summary));
    }),
    { numRuns: 100 },
  );
  for (const posterior of [betaPosterior({ trials: 200, rewardSum: 20, rewardSumSquares: 20 }), normalGammaPosterior({ trials: 30, rewardSum: 60, rewardSumSquares: 150 })]) {
    const { interval } = summarizePosterior(posterior);
    const rng = seededRandom('coverage');
    let inside = 0;
    const draws = 20_000;
    for (let index = 0; index < draws; index += 1) {
      const draw = samplePosteriorMean(posterior, rng);
      if (draw >= interval[0] && draw <= interval[1]) inside += 1;
    }
    assert.ok(Math.abs(inside / draws - 0.95) < 0.01, `${posterior.family}: ${inside / draws} of the draws inside`);
  }
});
