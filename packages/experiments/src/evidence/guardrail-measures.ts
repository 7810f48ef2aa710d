/**
 * What guardrails are judged on, per variant: predictions attempted, errors, default outputs and
 * a latency histogram. Sums only, so partition tallies and replicas merge them exactly like
 * trial counts (and discount them alike). The histogram has fixed log-spaced buckets shared by
 * every writer: two histograms always add bucket by bucket, and p99 comes from the merged one.
 */

/** Buckets per doubling of latency: bucket bounds grow by 2^(1/8) ≈ 9 %, the p99's resolution before interpolation. */
export const LATENCY_BUCKETS_PER_DOUBLING = 8;
/** Upper bound of the first bucket, milliseconds. */
export const LATENCY_FIRST_BOUND_MS = 1;
/** Doublings the buckets span from the first bound: 1 ms to 2^18 ms (about 4.4 minutes); slower lands in the last bucket. */
const LATENCY_DOUBLINGS = 18;
/** Buckets of a histogram: the bounded ones and one for everything beyond the last bound. */
export const LATENCY_BUCKETS = LATENCY_DOUBLINGS * LATENCY_BUCKETS_PER_DOUBLING + 2;

/** How one prediction ended for its variant. */
export type PredictionOutcome = 'answered' | 'default' | 'error';

/** Guardrail sums of one variant; fractional once discounted. */
export interface GuardrailMeasures {
  /** Predictions routed to the variant that answered, answered the default output, or failed. */
  predictions: number;
  /** Predictions that failed with a server error (5xx) and no default output. */
  errors: number;
  /** Predictions answered with the model's default output (the variant missed its deadline or had no healthy worker). */
  defaults: number;
  /** Predictions per latency bucket (see {@link latencyBucket}); length {@link LATENCY_BUCKETS}. */
  latency: number[];
}

/** What a record publishes of the measures. */
export interface MeasuredSummary {
  predictions: number;
  errors: number;
  defaults: number;
  /** Estimated 99th percentile of latency, milliseconds; null before any prediction. */
  p99LatencyMs: number | null;
}

/** Measures of a variant nothing was measured for. */
export function emptyMeasures(): GuardrailMeasures {
  return { predictions: 0, errors: 0, defaults: 0, latency: new Array<number>(LATENCY_BUCKETS).fill(0) };
}

/** Upper bound of bucket `index`, milliseconds (Infinity for the last). */
export function latencyBound(index: number): number {
  return index >= LATENCY_BUCKETS - 1 ? Number.POSITIVE_INFINITY : LATENCY_FIRST_BOUND_MS * 2 ** (index / LATENCY_BUCKETS_PER_DOUBLING);
}

/** The bucket a latency falls in: the first whose upper bound is at least the latency. */
export function latencyBucket(latencyMs: number): number {
  if (!(latencyMs > LATENCY_FIRST_BOUND_MS)) return 0;
  const index = Math.ceil(Math.log2(latencyMs / LATENCY_FIRST_BOUND_MS) * LATENCY_BUCKETS_PER_DOUBLING - 1e-9);
  return Math.min(LATENCY_BUCKETS - 1, index);
}

/** Adds `weight` predictions with this outcome and latency (weight < 1 for an event older than the tally). */
export function addOutcome(measures: GuardrailMeasures, outcome: PredictionOutcome, latencyMs: number, weight = 1): void {
  measures.predictions += weight;
  if (outcome === 'error') measures.errors += weight;
  if (outcome === 'default') measures.defaults += weight;
  const bucket = latencyBucket(latencyMs);
  measures.latency[bucket] = (measures.latency[bucket] ?? 0) + weight;
}

/** `a · weightA + b · weightB`, bucket by bucket: merging and discounting in one step. */
export function combineMeasures(a: GuardrailMeasures | undefined, weightA: number, b: GuardrailMeasures | undefined, weightB: number): GuardrailMeasures | undefined {
  if (a === undefined && b === undefined) return undefined;
  const left = a ?? emptyMeasures();
  const right = b ?? emptyMeasures();
  return {
    predictions: left.predictions * weightA + right.predictions * weightB,
    errors: left.errors * weightA + right.errors * weightB,
    defaults: left.defaults * weightA + right.defaults * weightB,
    latency: Array.from({ length: LATENCY_BUCKETS }, (_, index) => (left.latency[index] ?? 0) * weightA + (right.latency[index] ?? 0) * weightB),
  };
}

/**
 * The q-quantile of latency: the bucket where the cumulative count reaches q of the total,
 * interpolated geometrically inside it (latencies spread evenly on a log scale within a
 * bucket). Null without predictions.
 */
export function latencyQuantile(measures: GuardrailMeasures, q: number): number | null {
  const total = measures.latency.reduce((sum, count) => sum + count, 0);
  if (!(total > 0)) return null;
  const target = q * total;
  let cumulative = 0;
  for (let index = 0; index < measures.latency.length; index += 1) {
    const count = measures.latency[index] ?? 0;
    if (count <= 0) continue;
    if (cumulative + count >= target) {
      const upper = latencyBound(index);
      if (index === 0) return upper;
      const lower = latencyBound(index - 1);
      if (!Number.isFinite(upper)) return lower;
      const fraction = Math.min(1, Math.max(0, (target - cumulative) / count));
      return lower * (upper / lower) ** fraction;
    }
    cumulative += count;
  }
  return latencyBound(LATENCY_BUCKETS - 2);
}

/** What the record says of a variant's measures. */
export function summarizeMeasures(measures: GuardrailMeasures | undefined): MeasuredSummary {
  const held = measures ?? emptyMeasures();
  return { predictions: held.predictions, errors: held.errors, defaults: held.defaults, p99LatencyMs: latencyQuantile(held, 0.99) };
}
