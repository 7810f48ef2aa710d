import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InfermeshError } from '@infermesh/shared/errors';
import { probabilityBest, shareReport, type ExperimentPolicy, type ShareOptions, type ThompsonPolicy, type VariantPolicyInput } from './experiment-policy.js';
import { armsArbitrary, policyArbitrary } from './policy-arbitraries.fixture.js';
import type { RandomSource } from './random-source.js';
import { seededRandom } from './random-source.js';

/** Monte Carlo draws in property tests: enough for the invariants, which hold for any count. */
const FEW_SAMPLES = 200;

const binary = (trials: number, successes: number) => ({ trials, rewardSum: successes, rewardSumSquares: successes });
const live = (name: string, trials: number, successes: number, extra: Partial<VariantPolicyInput> = {}): VariantPolicyInput => ({ name, enabled: true, role: 'live', stats: binary(trials, successes), ...extra });
const thompson = (overrides: Partial<ThompsonPolicy> = {}): ThompsonPolicy => ({ type: 'thompson', reward: 'binary', minShare: 0.01, minTrials: 0, ...overrides }) as ThompsonPolicy;
const sum = (shares: Record<string, number>) => Object.values(shares).reduce((total, share) => total + share, 0);
const isInvalidConfig = (error: unknown) => error instanceof InfermeshError && error.code === 'INVALID_CONFIG';
/** The traffic shares a record publishes (how requests are routed is assignment's test). */
const sharesOf = (policy: ExperimentPolicy, variants: readonly VariantPolicyInput[], rng: RandomSource, options: ShareOptions = {}) => shareReport(policy, variants, rng, options).shares;

const variantsArbitrary = armsArbitrary.map((specs) => specs.map(({ enabled, role, weight, trials, rate }, index) => ({ name: `v${index}`, enabled, role, ...(weight === undefined ? {} : { weight }), stats: binary(trials, Math.round(trials * rate)) })));

/** Whether eligibleVariants should accept the combination, decided independently of it. */
function acceptable(policy: ExperimentPolicy, variants: readonly VariantPolicyInput[]): boolean {
  const candidates = variants.filter((variant) => variant.enabled && variant.role === 'live');
  const weights = candidates.map((variant) => variant.weight ?? 1);
  if (candidates.length === 0 || weights.reduce((total, weight) => total + weight, 0) === 0) return false;
  return !(policy.type === 'thompson' && policy.minShare === 0 && policy.minTrials > 0 && weights.includes(0));
}

test('shares sum to 1, respect the floor, and give disabled and shadow variants 0; bad combinations are INVALID_CONFIG', () => {
  fc.assert(
    fc.property(policyArbitrary, variantsArbitrary, fc.string(), (policy, variants, seed) => {
      if (!acceptable(policy, variants)) {
        assert.throws(() => sharesOf(policy, variants, seededRandom(seed), { samples: FEW_SAMPLES }), isInvalidConfig);
        return;
      }
      const shares = sharesOf(policy, variants, seededRandom(seed), { samples: FEW_SAMPLES });
      assert.deepEqual(Object.keys(shares), variants.map((variant) => variant.name));
      assert.ok(Math.abs(sum(shares) - 1) <= 1e-9, `sum ${sum(shares)}`);
      const candidates = variants.filter((variant) => variant.enabled && variant.role === 'live');
      for (const variant of variants) {
        const share = shares[variant.name]!;
        if (!candidates.includes(variant)) assert.equal(share, 0, `${variant.name} is not live`);
        else if (policy.type === 'thompson') assert.ok(share >= Math.min(policy.minShare, 1 / candidates.length) - 1e-12, `${variant.name} ${share} under the floor`);
      }
    }),
  );
});

test('a clearly worse variant sits at the floor; disabled and shadow variants get nothing', () => {
  const variants = [live('a', 300, 30), live('b', 300, 36), live('c', 300, 12), live('old', 300, 60, { enabled: false }), live('mirror', 0, 0, { role: 'shadow' })];
  const shares = sharesOf(thompson({ minShare: 0.03 }), variants, seededRandom('reference'), { samples: 50_000 });
  assert.ok(shares.c! >= 0.03 && shares.c! < 0.035, `c ${shares.c}`);
  assert.equal(shares.old, 0);
  assert.equal(shares.mirror, 0);
});

test('with clearly separated arms, nearly everything goes to the best; the rest keep the floor', () => {
  const variants = [live('control', 2_000, 100), live('better', 2_000, 300), live('worse', 2_000, 60)];
  const shares = sharesOf(thompson({ minShare: 0.01 }), variants, seededRandom('separated'));
  assert.ok(Math.abs(shares.better! - 0.98) < 1e-9, `best ${shares.better}`);
  assert.ok(Math.abs(shares.control! - 0.01) < 1e-9 && Math.abs(shares.worse! - 0.01) < 1e-9);
  const best = probabilityBest(thompson(), variants, seededRandom('separated'));
  assert.equal(best.better, 1);
});

test('continuous rewards: the variant with the higher mean wins', () => {
  const continuous = (name: string, mean: number) => ({ name, enabled: true, role: 'live' as const, stats: { trials: 500, rewardSum: 500 * mean, rewardSumSquares: 500 * (mean * mean + 1) } });
  const shares = sharesOf(thompson({ reward: 'continuous', minShare: 0.02 }), [continuous('a', 1.0), continuous('b', 1.4)], seededRandom('continuous'));
  assert.ok(shares.b! > 0.97, `b ${shares.b}`);
});

test('minTrials holds the policy at the weighted (floored) split until every live variant has that many trials', () => {
  const established = [live('a', 5_000, 250), live('b', 5_000, 500)];
  const newcomer = live('new', 20, 0);
  const policy = thompson({ minShare: 0.01, minTrials: 100 });
  const warming = sharesOf(policy, [...established, newcomer], seededRandom('warm'));
  for (const name of ['a', 'b', 'new']) assert.ok(Math.abs(warming[name]! - 1 / 3) < 1e-9, `${name} ${warming[name]}`);

  const cautious = sharesOf(policy, [...established, { ...newcomer, weight: 0 }], seededRandom('warm'));
  assert.ok(Math.abs(cautious.new! - 0.01) < 1e-9, 'a weight-0 newcomer warms up at the floor');
  const warmed = sharesOf(policy, [...established, live('new', 100, 2)], seededRandom('warm'));
  assert.ok(warmed.b! > 0.97, 'after the warm-up the sampler exploits');
});

test('forgetting: old evidence fades, so a variant not updated for a day is explored again', () => {
  const hour = 3_600_000;
  const variants = [live('a', 2_000, 100, { stats: { ...binary(2_000, 100), updatedAt: 0 } }), live('b', 2_000, 200, { stats: { ...binary(2_000, 200), updatedAt: 24 * hour } })];
  const remembering = sharesOf(thompson({ minTrials: 100 }), variants, seededRandom('forget'));
  assert.ok(remembering.a! < 0.02);
  const forgetting = sharesOf(thompson({ minTrials: 100, discountPerHour: 0.5 }), variants, seededRandom('forget'));
  assert.ok(Math.abs(forgetting.a! - 0.5) < 1e-9, `a's 2,000 trials now weigh ${2_000 * 0.5 ** 24}: warm-up again`);
});

test('weighted: fixed shares from weights, disabled and shadow variants excluded and the rest renormalised', () => {
  const canary = [live('stable', 0, 0, { weight: 95 }), live('canary', 0, 0, { weight: 5 })];
  assert.deepEqual(sharesOf({ type: 'weighted' }, canary, seededRandom('w')), { stable: 0.95, canary: 0.05 });
  const mixed = [live('a', 0, 0, { weight: 2 }), live('b', 0, 0, { weight: 6 }), live('off', 0, 0, { weight: 2, enabled: false }), live('copy', 0, 0, { weight: 2, role: 'shadow' }), live('d', 0, 0)];
  assert.deepEqual(sharesOf({ type: 'weighted' }, mixed, seededRandom('w')), { a: 2 / 9, b: 6 / 9, off: 0, copy: 0, d: 1 / 9 });
});

test('one enabled live variant gets everything; none is INVALID_CONFIG', () => {
  const variants = [live('only', 10, 1), live('off', 10, 9, { enabled: false }), live('copy', 10, 9, { role: 'shadow' })];
  assert.deepEqual(sharesOf(thompson({ minTrials: 50 }), variants, seededRandom('one')), { only: 1, off: 0, copy: 0 });
  assert.deepEqual(probabilityBest(thompson(), variants, seededRandom('one')), { only: 1, off: 0, copy: 0 });
  const none = variants.slice(1);
  assert.throws(() => sharesOf(thompson(), none, seededRandom('none')), isInvalidConfig);
  assert.throws(() => sharesOf({ type: 'weighted' }, none, seededRandom('none')), isInvalidConfig);
  assert.throws(() => probabilityBest(thompson(), none, seededRandom('none')), isInvalidConfig);
});

test('floors that cannot all be met become an equal split', () => {
  const variants = ['a', 'b', 'c', 'd'].map((name, index) => live(name, 1_000, 50 + 50 * index));
  const shares = sharesOf(thompson({ minShare: 0.4 }), variants, seededRandom('cap'));
  for (const name of ['a', 'b', 'c', 'd']) assert.ok(Math.abs(shares[name]! - 0.25) < 1e-9);
});

test('probabilityBest answers for a weighted A/B test too, ignoring weights', () => {
  const variants = [live('a', 5_000, 250, { weight: 99 }), live('b', 5_000, 400, { weight: 1 })];
  const best = probabilityBest({ type: 'weighted' }, variants, seededRandom('ab'));
  assert.ok(best.b! > 0.99 && Math.abs(sum(best) - 1) < 1e-12);
  assert.ok(probabilityBest({ type: 'weighted', reward: 'binary' }, variants, seededRandom('ab')).b! > 0.99);
});

test('configuration mistakes are INVALID_CONFIG naming the problem', () => {
  const variants = [live('a', 0, 0), live('b', 0, 0)];
  const cases: [ExperimentPolicy, readonly VariantPolicyInput[]][] = [
    [thompson({ minShare: 1 }), variants],
    [thompson({ minShare: -0.1 }), variants],
    [thompson({ minTrials: Number.NaN }), variants],
    [thompson({ discountPerHour: 0 }), variants],
    [thompson({ prior: { alpha: -1, beta: 1 } } as Partial<ThompsonPolicy>), variants],
    [{ type: 'weighted' }, [live('a', 0, 0), live('a', 0, 0)]],
    [{ type: 'weighted' }, [live('a', 0, 0, { weight: -1 })]],
    [{ type: 'weighted' }, [live('a', 0, 0, { weight: 0 }), live('b', 0, 0, { weight: 0 })]],
    [{ type: 'weighted' }, [live('a', 0, 0, { stats: { trials: Number.NaN, rewardSum: 0, rewardSumSquares: 0 } })]],
    [thompson({ minShare: 0, minTrials: 10 }), [live('a', 0, 0), live('b', 0, 0, { weight: 0 })]],
    [{ type: 'bandit' } as unknown as ExperimentPolicy, variants],
  ];
  for (const [policy, input] of cases) assert.throws(() => sharesOf(policy, input, seededRandom('bad'), { samples: FEW_SAMPLES }), isInvalidConfig, JSON.stringify(policy));
  assert.throws(() => sharesOf(thompson(), variants, seededRandom('bad'), { samples: 0 }), RangeError);
});

test('a variant named like an Object property is just a name', () => {
  const shares = sharesOf({ type: 'weighted' }, [live('__proto__', 0, 0), live('constructor', 0, 0)], seededRandom('names'));
  assert.deepEqual(Object.entries(shares), [
    ['__proto__', 0.5],
    ['constructor', 0.5],
  ]);
});
