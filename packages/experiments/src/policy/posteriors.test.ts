import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { betaPosterior, checkPrior, DEFAULT_NORMAL_GAMMA_PRIOR, normalGammaPosterior, posteriorFor, posteriorMean, samplePosteriorMean, type NormalGammaParameters, type Posterior } from './posteriors.js';
import { normal, seededRandom } from './random-source.js';
import { EMPTY_STATISTICS, recordReward, type VariantStatistics } from './variant-statistics.js';

/** Posterior draws per sampling check. */
const DRAWS = 40_000;

const statsOf = (rewards: readonly number[]) => rewards.reduce<VariantStatistics>((stats, reward) => recordReward(stats, reward), EMPTY_STATISTICS);
const parameters = ({ mu, kappa, alpha, beta }: NormalGammaParameters): NormalGammaParameters => ({ mu, kappa, alpha, beta });
const near = (a: number, b: number, relative = 1e-9) => Math.abs(a - b) <= relative * Math.max(1, Math.abs(a), Math.abs(b));

function drawMoments(posterior: Posterior, seed: string): { mean: number; variance: number } {
  const rng = seededRandom(seed);
  let sum = 0;
  let sumSquares = 0;
  for (let index = 0; index < DRAWS; index += 1) {
    const draw = samplePosteriorMean(posterior, rng);
    sum += draw;
    sumSquares += draw * draw;
  }
  const mean = sum / DRAWS;
  return { mean, variance: (sumSquares - sum * mean) / (DRAWS - 1) };
}

test('Beta posterior adds successes to alpha and failures to beta; sums outside [0, trials] are clamped', () => {
  assert.deepEqual(betaPosterior({ trials: 10, rewardSum: 3, rewardSumSquares: 3 }), { family: 'beta', alpha: 4, beta: 8 });
  assert.deepEqual(betaPosterior({ trials: 10, rewardSum: 3, rewardSumSquares: 3 }, { alpha: 0.5, beta: 0.5 }), { family: 'beta', alpha: 3.5, beta: 7.5 });
  assert.deepEqual(betaPosterior({ trials: 2, rewardSum: 5, rewardSumSquares: 5 }), { family: 'beta', alpha: 3, beta: 1 });
  assert.equal(posteriorMean(betaPosterior({ trials: 98, rewardSum: 49, rewardSumSquares: 49 })), 0.5);
});

test('Normal–Gamma: no data gives the prior; updating in two steps equals updating once (conjugacy)', () => {
  assert.deepEqual(normalGammaPosterior(EMPTY_STATISTICS), { family: 'normal-gamma', ...DEFAULT_NORMAL_GAMMA_PRIOR });
  const reward = fc.double({ min: -50, max: 50, noNaN: true });
  fc.assert(
    fc.property(fc.array(reward, { maxLength: 20 }), fc.array(reward, { maxLength: 20 }), (first, second) => {
      const once = normalGammaPosterior(statsOf([...first, ...second]));
      const twice = normalGammaPosterior(statsOf(second), parameters(normalGammaPosterior(statsOf(first))));
      for (const key of ['mu', 'kappa', 'alpha', 'beta'] as const) assert.ok(near(once[key], twice[key], 1e-7), `${key}: ${once[key]} vs ${twice[key]}`);
    }),
  );
});

test('with much data the Normal–Gamma mean is the sample mean', () => {
  const rng = seededRandom('sample-mean');
  const rewards = Array.from({ length: 5_000 }, () => normal(rng, 3, 2));
  const sampleMean = rewards.reduce((sum, value) => sum + value, 0) / rewards.length;
  assert.ok(Math.abs(posteriorMean(normalGammaPosterior(statsOf(rewards))) - sampleMean) < 1e-4);
});

test('posterior draws average to the posterior mean with the posterior variance', () => {
  const beta = betaPosterior({ trials: 200, rewardSum: 30, rewardSumSquares: 30 });
  const betaVariance = (beta.alpha * beta.beta) / ((beta.alpha + beta.beta) ** 2 * (beta.alpha + beta.beta + 1));
  const betaDraws = drawMoments(beta, 'beta-posterior');
  assert.ok(Math.abs(betaDraws.mean - posteriorMean(beta)) < 5 * Math.sqrt(betaVariance / DRAWS));
  assert.ok(Math.abs(betaDraws.variance / betaVariance - 1) < 0.05);

  const rng = seededRandom('normal-gamma-data');
  const gaussian = normalGammaPosterior(statsOf(Array.from({ length: 40 }, () => normal(rng, 1, 0.5))));
  // The marginal of the mean is Student-t with 2·alpha degrees of freedom: variance beta / (kappa (alpha − 1)).
  const gaussianVariance = gaussian.beta / (gaussian.kappa * (gaussian.alpha - 1));
  const gaussianDraws = drawMoments(gaussian, 'normal-gamma-posterior');
  assert.ok(Math.abs(gaussianDraws.mean - gaussian.mu) < 5 * Math.sqrt(gaussianVariance / DRAWS));
  assert.ok(Math.abs(gaussianDraws.variance / gaussianVariance - 1) < 0.06, `variance ${gaussianDraws.variance} vs ${gaussianVariance}`);
});

test('posteriorFor picks the family from the reward; invalid priors are refused', () => {
  const stats = statsOf([1, 0, 1]);
  assert.equal(posteriorFor({ reward: 'binary' }, stats).family, 'beta');
  assert.equal(posteriorFor({ reward: 'continuous' }, stats).family, 'normal-gamma');
  assert.throws(() => checkPrior({ reward: 'binary', prior: { alpha: 0, beta: 1 } }), RangeError);
  assert.throws(() => checkPrior({ reward: 'continuous', prior: { mu: 0, kappa: -1, alpha: 1, beta: 1 } }), RangeError);
  assert.doesNotThrow(() => checkPrior({ reward: 'continuous', prior: { mu: -3, kappa: 1, alpha: 2, beta: 0.5 } }));
});
