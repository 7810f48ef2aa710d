/**
 * fast-check arbitraries the property tests of policies and of assignment share: any policy a
 * config may name, and the arms of an experiment with the evidence gathered for each.
 */
import fc from 'fast-check';
import type { ExperimentPolicy } from './policy-types.js';

/** Weighted, or Thompson with any reward kind, share floor and warm-up. */
export const policyArbitrary: fc.Arbitrary<ExperimentPolicy> = fc.oneof(
  fc.constant<ExperimentPolicy>({ type: 'weighted' }),
  fc
    .record({ reward: fc.constantFrom('binary' as const, 'continuous' as const), minShare: fc.double({ min: 0, max: 0.4, noNaN: true }), minTrials: fc.integer({ min: 0, max: 150 }) })
    .map((settings): ExperimentPolicy => ({ type: 'thompson', ...settings })),
);

/** One arm of an arbitrary experiment: its config and its evidence. */
export interface ArbitraryArm {
  enabled: boolean;
  role: 'live' | 'shadow';
  weight: number | undefined;
  trials: number;
  /** Share of the trials that succeeded. */
  rate: number;
}

/** One to six arms, any of them disabled, shadow, weighted or without evidence. */
export const armsArbitrary: fc.Arbitrary<ArbitraryArm[]> = fc.array(
  fc.record({
    enabled: fc.boolean(),
    role: fc.constantFrom('live' as const, 'shadow' as const),
    weight: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    trials: fc.integer({ min: 0, max: 400 }),
    rate: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  { minLength: 1, maxLength: 6 },
);
