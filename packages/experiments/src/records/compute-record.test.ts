import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseExperimentConfig } from '../config/experiment-config.js';
import { checkExperimentRecord } from './experiment-record.js';
import { layoutShares } from './traffic-layout.js';
import { computeRecord, MIN_LAYOUT_CHANGE, totalVariation } from './compute-record.js';

const NOW = 1_800_000_000_000;
const FEW = 2_000;

const config = (policy: object, variants: object[]) =>
  parseExperimentConfig('m', JSON.stringify({ entityKey: 'userId', policy, variants: variants.map((variant) => ({ pool: { static: ['w:1'] }, ...variant })) }));
const binary = (trials: number, wins: number) => ({ trials, rewardSum: wins, rewardSumSquares: wins, updatedAt: NOW });

test('records are deterministic, valid, and their layout widths are the shares they report', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2_000 }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 1, maxLength: 4 }), fc.double({ min: 0, max: 0.2, noNaN: true }), (arms, minShare) => {
      const experiment = config({ type: 'thompson', reward: 'binary', minShare, minTrials: 50 }, arms.map((_, index) => ({ name: `v${index}` })));
      const statistics = Object.fromEntries(arms.map(([trials, rate], index) => [`v${index}`, binary(trials, Math.round(trials * rate))]));
      const record = computeRecord({ model: 'm', experiment, statistics, previous: undefined, now: NOW, samples: FEW });
      assert.deepEqual(computeRecord({ model: 'm', experiment, statistics, previous: undefined, now: NOW, samples: FEW }), record);
      checkExperimentRecord('m', JSON.parse(JSON.stringify(record)));
      const widths = layoutShares(record.layout);
      const floor = Math.min(minShare, 1 / arms.length);
      for (const [name, variant] of Object.entries(record.variants)) {
        assert.ok(Math.abs((widths.get(name) ?? 0) - variant.share) < 1e-12);
        assert.ok(variant.share >= floor - 1e-9, `${name} ${variant.share} below the floor ${floor}`);
      }
    }),
    { numRuns: 60 },
  );
});

test('during the warm-up the shares are the floored weights; after it they follow P(best); disabled and shadow variants get nothing', () => {
  const experiment = config({ type: 'thompson', reward: 'binary', minShare: 0.01, minTrials: 100 }, [
    { name: 'current', weight: 99 },
    { name: 'candidate', weight: 1 },
    { name: 'off', enabled: false },
    { name: 'mirror', role: 'shadow' },
  ]);
  const warm = computeRecord({ model: 'm', experiment, statistics: { current: binary(5_000, 500), candidate: binary(20, 10) }, previous: undefined, now: NOW, samples: FEW });
  assert.ok(Math.abs(warm.variants.candidate!.share - (0.01 + 0.98 * 0.01)) < 1e-12);
  assert.equal(warm.variants.off!.share, 0);
  assert.equal(warm.variants.mirror!.share, 0);
  const ready = computeRecord({ model: 'm', experiment, statistics: { current: binary(5_000, 500), candidate: binary(500, 250) }, previous: warm, now: NOW, samples: FEW });
  assert.equal(ready.sequence, 2);
  assert.ok(ready.variants.candidate!.probabilityBest > 0.99);
  assert.ok(Math.abs(ready.variants.candidate!.share - (0.01 + 0.98 * ready.variants.candidate!.probabilityBest)) < 0.01);
});

test('a share change below the noise threshold keeps the layout; a larger one moves it minimally', () => {
  const experiment = config({ type: 'weighted' }, [{ name: 'a', weight: 50 }, { name: 'b', weight: 50 }]);
  const first = computeRecord({ model: 'm', experiment, statistics: {}, previous: undefined, now: NOW });
  const nudged = config({ type: 'weighted' }, [{ name: 'a', weight: 50.2 }, { name: 'b', weight: 49.8 }]);
  const same = computeRecord({ model: 'm', experiment: nudged, statistics: {}, previous: first, now: NOW });
  assert.deepEqual(same.layout, first.layout, `a ${totalVariation(layoutShares(first.layout), new Map([['a', 0.502], ['b', 0.498]]))} move is below ${MIN_LAYOUT_CHANGE}`);
  const canary = config({ type: 'weighted' }, [{ name: 'a', weight: 75 }, { name: 'b', weight: 25 }]);
  const moved = computeRecord({ model: 'm', experiment: canary, statistics: {}, previous: first, now: NOW });
  assert.ok(Math.abs(layoutShares(moved.layout).get('b')! - 0.25) < 1e-12);
});

test('a variant counted but no longer in the experiment keeps its evidence in the record and gets no traffic', () => {
  const experiment = config({ type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 0 }, [{ name: 'a' }, { name: 'b' }]);
  const record = computeRecord({ model: 'm', experiment, statistics: { a: binary(10, 1), b: binary(10, 2), retired: binary(99, 9) }, previous: undefined, now: NOW, samples: FEW });
  assert.equal(record.variants.retired!.trials, 99);
  assert.equal(record.variants.retired!.share, 0);
  assert.ok(record.layout.every(([variant]) => variant !== 'retired'));
});

test('expected loss: a clearly worse variant gives up about the gap, a clear winner about nothing; means and intervals are the posteriors\'', () => {
  const experiment = config({ type: 'thompson', reward: 'binary', minShare: 0.01, minTrials: 100 }, [{ name: 'good' }, { name: 'bad' }, { name: 'off', enabled: false }]);
  const statistics = { good: binary(20_000, 4_000), bad: binary(20_000, 2_000), off: binary(100, 50) };
  const record = computeRecord({ model: 'm', experiment, statistics, previous: undefined, now: NOW, samples: FEW });
  const good = record.variants.good!;
  const bad = record.variants.bad!;
  assert.ok(Math.abs(good.expectedLoss!) < 1e-4, `winner's loss ${good.expectedLoss}`);
  assert.ok(Math.abs(bad.expectedLoss! - 0.1) < 0.005, `loser's loss ${bad.expectedLoss}, gap 0.1`);
  assert.equal(record.variants.off!.expectedLoss, 0);
  assert.deepEqual(good.posterior, { family: 'beta', alpha: 4_001, beta: 16_001 });
  assert.ok(Math.abs(good.mean! - 4_001 / 20_002) < 1e-12);
  assert.ok(good.interval![0] < good.mean! && good.mean! < good.interval![1] && good.interval![1] - good.interval![0] < 0.02);
  // Close variants share the risk: each gives up something.
  const close = computeRecord({ model: 'm', experiment, statistics: { good: binary(100, 20), bad: binary(100, 19) }, previous: undefined, now: NOW, samples: FEW });
  assert.ok(close.variants.good!.expectedLoss! > 0.005 && close.variants.bad!.expectedLoss! > close.variants.good!.expectedLoss!);
});

test('continuous rewards publish the Student-t marginal of the mean', () => {
  const experiment = config({ type: 'thompson', reward: 'continuous', minShare: 0.01, minTrials: 10 }, [{ name: 'a' }, { name: 'b' }]);
  const statistics = { a: { trials: 50, rewardSum: 100, rewardSumSquares: 260, updatedAt: NOW }, b: { trials: 50, rewardSum: 50, rewardSumSquares: 90, updatedAt: NOW } };
  const record = computeRecord({ model: 'm', experiment, statistics, previous: undefined, now: NOW, samples: FEW });
  const a = record.variants.a!;
  assert.equal(a.posterior!.family, 'student-t');
  assert.ok(a.interval![0] < 2 && 2 < a.interval![1]);
  assert.ok(Math.abs(record.variants.b!.expectedLoss! - (a.mean! - record.variants.b!.mean!)) < 0.1);
});
