import { MAX_EXPERIMENT_VARIANTS } from '../config/experiment-config.js';
import type { ExperimentRecord } from '../records/experiment-record.js';

/**
 * Most variants a history point keeps. Equal to the most an experiment may declare
 * ({@link MAX_EXPERIMENT_VARIANTS}); a record may hold more (variants removed from the
 * experiment keep their evidence), and a point then keeps the ones that matter most.
 */
export const MAX_HISTORY_VARIANTS = MAX_EXPERIMENT_VARIANTS;

/** Decimal places kept of a share or a P(best) (both in [0, 1]): far finer than a chart shows. */
const UNIT_DECIMALS = 6;
/** Significant digits kept of trials, reward sums, means and expected losses. */
const SIGNIFICANT_DIGITS = 9;

/** One variant in one history point: what the dashboard draws over time. */
export interface HistoryVariant {
  readonly share: number;
  readonly trials: number;
  readonly rewardSum: number;
  readonly probabilityBest: number;
  /** Reward given up by choosing this variant; absent when the record did not carry it. */
  readonly expectedLoss?: number;
  /** Posterior mean of the reward; absent when the record did not carry it. */
  readonly mean?: number;
}

/** The state of an experiment at one time, as the history keeps it. */
export interface HistoryPoint {
  /** Milliseconds since the epoch: the record's generatedAt. */
  readonly t: number;
  readonly sequence: number;
  readonly variants: Readonly<Record<string, HistoryVariant>>;
}

/** Rounds a value in [0, 1] to {@link UNIT_DECIMALS} places. */
export function roundUnit(value: number): number {
  const scale = 10 ** UNIT_DECIMALS;
  return Math.round(value * scale) / scale;
}

/** Rounds to {@link SIGNIFICANT_DIGITS} significant digits, which bounds how long its JSON can be. */
export function roundSignificant(value: number): number {
  return value === 0 ? 0 : Number(value.toPrecision(SIGNIFICANT_DIGITS));
}

/** A record's optional per-variant fields (added by later publishers): read when they are numbers. */
function optionalNumber(variant: object, field: 'expectedLoss' | 'mean'): number | undefined {
  const value = (variant as Record<string, unknown>)[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * The history point of a record: its time and sequence, and per variant the share, evidence,
 * P(best) and, when the record has them, expected loss and posterior mean, rounded so that a
 * point's size is bounded. At most {@link MAX_HISTORY_VARIANTS} variants: those with traffic
 * first, then the most tried, then by name, so every writer keeps the same ones.
 */
export function historyPointOf(record: ExperimentRecord): HistoryPoint {
  const names = Object.keys(record.variants)
    .sort((a, b) => {
      const left = record.variants[a]!;
      const right = record.variants[b]!;
      return right.share - left.share || right.trials - left.trials || (a < b ? -1 : a > b ? 1 : 0);
    })
    .slice(0, MAX_HISTORY_VARIANTS)
    .sort();
  const variants: Record<string, HistoryVariant> = {};
  for (const name of names) {
    const variant = record.variants[name]!;
    const expectedLoss = optionalNumber(variant, 'expectedLoss');
    const mean = optionalNumber(variant, 'mean');
    variants[name] = {
      share: roundUnit(variant.share),
      trials: roundSignificant(variant.trials),
      rewardSum: roundSignificant(variant.rewardSum),
      probabilityBest: roundUnit(variant.probabilityBest),
      ...(expectedLoss === undefined ? {} : { expectedLoss: roundSignificant(expectedLoss) }),
      ...(mean === undefined ? {} : { mean: roundSignificant(mean) }),
    };
  }
  return { t: record.generatedAt, sequence: record.sequence, variants };
}
