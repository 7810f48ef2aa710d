import { discountWeight, type Discount } from '../policy/variant-statistics.js';
import type { Evidence } from './event-evidence.js';
import { addOutcome, combineMeasures, emptyMeasures, type GuardrailMeasures, type PredictionOutcome } from './guardrail-measures.js';

/** Evidence of one variant with the time it is discounted to. */
export interface CountedVariant {
  trials: number;
  rewardSum: number;
  rewardSumSquares: number;
  /** Milliseconds since the epoch the sums are discounted to. */
  updatedAt: number;
  /** What guardrails judge (absent until the first prediction is measured, and in tallies of older aggregators). */
  measured?: GuardrailMeasures;
}

/** Counted evidence by model, then variant. */
export type CountsByModel = Record<string, Record<string, CountedVariant>>;

/**
 * The aggregator's tally: trials counted from prediction events, rewards from feedback
 * events, per model and variant. With a discount, the evidence already held decays to the
 * event's time before the event is added, and to the publication time when a record is
 * computed, so a variant that keeps receiving traffic forgets old evidence like one that
 * does not. Pure: no clock, no I/O; the same events in the same order give the same tally.
 */
export class VariantCounts {
  private readonly counts: CountsByModel;

  constructor(
    private readonly discountFor: (model: string) => Discount | undefined,
    initial: CountsByModel = {},
  ) {
    this.counts = structuredClone(initial);
  }

  /** One prediction served by `variant` at `at` (epoch ms). */
  countTrial(model: string, variant: string, at: number): void {
    this.update(model, variant, at, (stats, weight) => {
      stats.trials += weight;
    });
  }

  /** How one prediction routed to `variant` ended, at `at` (epoch ms): the guardrails' measures. */
  countOutcome(model: string, variant: string, outcome: PredictionOutcome, latencyMs: number, at: number): void {
    this.update(model, variant, at, (stats, weight) => {
      stats.measured ??= emptyMeasures();
      addOutcome(stats.measured, outcome, latencyMs, weight);
    });
  }

  /** One reward for a prediction `variant` served, received at `at` (epoch ms). */
  countReward(model: string, variant: string, reward: number, at: number): void {
    this.update(model, variant, at, (stats, weight) => {
      stats.rewardSum += weight * reward;
      stats.rewardSumSquares += weight * reward * reward;
    });
  }

  /** Every variant of `model` with its evidence discounted to `at`. */
  statistics(model: string, at: number): Record<string, CountedVariant> {
    const discount = this.discountFor(model);
    const result: Record<string, CountedVariant> = {};
    for (const [variant, stats] of Object.entries(this.counts[model] ?? {})) {
      result[variant] = aligned(stats, at, discount);
    }
    return result;
  }

  /** Models with any evidence. */
  models(): string[] {
    return Object.keys(this.counts);
  }

  /** A copy of the whole tally (what a partition owner stores with its offset). */
  toJSON(): CountsByModel {
    return structuredClone(this.counts);
  }

  private update(model: string, variant: string, at: number, add: (stats: CountedVariant, weight: number) => void): void {
    const variants = (this.counts[model] ??= Object.create(null) as Record<string, CountedVariant>);
    const current = variants[variant] ?? { trials: 0, rewardSum: 0, rewardSumSquares: 0, updatedAt: at };
    // The tally decays to the newer of its time and the event's; an event older than the tally
    // (a late one) counts with the weight its age already has.
    const discount = this.discountFor(model);
    const reference = Math.max(current.updatedAt, at);
    // The tally owns its entries: an event is added in place (copying a latency histogram per event
    // was most of a prediction's cost on the gateway); only a decay makes a new entry.
    const next = decayed(current, reference, discount);
    add(next, discount === undefined ? 1 : discountWeight(discount, reference - at));
    next.updatedAt = reference;
    variants[variant] = next;
  }
}

/** `stats` decayed to `at`: a new entry when evidence decays, else `stats` itself. */
function decayed(stats: CountedVariant, at: number, discount: Discount | undefined): CountedVariant {
  if (discount === undefined || at <= stats.updatedAt) return stats;
  const weight = discountWeight(discount, at - stats.updatedAt);
  const measured = combineMeasures(stats.measured, weight, undefined, 0);
  return { trials: stats.trials * weight, rewardSum: stats.rewardSum * weight, rewardSumSquares: stats.rewardSumSquares * weight, updatedAt: at, ...(measured === undefined ? {} : { measured }) };
}

/** A copy of `stats` decayed to `at` (what leaves the tally: callers may keep or change it). */
function aligned(stats: CountedVariant, at: number, discount: Discount | undefined): CountedVariant {
  const result = decayed(stats, at, discount);
  return result === stats ? structuredClone(stats) : result;
}

/** Counts one piece of evidence at `at` (epoch ms): the trial and its guardrail outcome, or the reward. The aggregators' one way of counting. */
export function countEvidence(counts: VariantCounts, evidence: Evidence, at: number): void {
  if (evidence.kind === 'reward') {
    counts.countReward(evidence.model, evidence.variant, evidence.reward, at);
    return;
  }
  if (evidence.counted !== false) counts.countTrial(evidence.model, evidence.variant, at);
  if (evidence.outcome !== undefined) counts.countOutcome(evidence.model, evidence.variant, evidence.outcome, evidence.latencyMs ?? 0, at);
}
