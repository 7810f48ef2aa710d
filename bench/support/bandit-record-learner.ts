/**
 * The distributed experiment for the bandit regret benchmark: gateway replicas that route
 * every request by the latest published record (`assignVariant`), an aggregator that counts
 * trials and rewards in a `VariantCounts` and computes a new record (`computeRecord`) at a
 * fixed interval of simulated time. Traffic arrives at a fixed rate, so "every 2 s" means a
 * number of requests; the simulated clock is the only time the gateway code sees.
 */
import {
  assignVariant,
  computeRecord,
  DEFAULT_SHADOW_CONCURRENCY,
  DEFAULT_STICKINESS_SECONDS,
  discountOf,
  parseExperimentRecord,
  seededRandom,
  VariantCounts,
  withFloor,
  type ExperimentConfig,
  type ExperimentRecord,
  type RandomSource,
  type ThompsonPolicy,
} from '@infermesh/experiments';
import type { LearnerFactory } from './bandit-simulation.js';

/** Start of simulated time, epoch ms (a fixed instant: the simulation never reads the wall clock). */
export const SIMULATION_START_MS = Date.UTC(2026, 0, 1);
/** Milliseconds per second. */
const MS_PER_SECOND = 1_000;
/** Range of the 32-bit numbers drawn to name a run's model and seed its replicas. */
const SEED_RANGE = 2 ** 32;

/** How the simulated mesh routes and publishes. */
export interface RecordRouting {
  policy: ThompsonPolicy;
  /** Requests per second of simulated time, evenly spaced. */
  requestsPerSecond: number;
  /** Simulated milliseconds between two records. */
  publishIntervalMs: number;
  /** Gateway replicas; each request goes to one chosen uniformly at random. */
  replicas: number;
  /** Joint posterior draws per record (`computeRecord`'s `samples`). */
  samples: number;
  /** Receives the count and wall time of record computations, when given. */
  meter?: RecordMeter;
  /** Regret of one request to each arm (best mean − its mean): prices the layout lag in `meter`. */
  armRegret?: readonly number[];
}

/** What records cost over the runs a meter was passed to, and the regret of their layout lag. */
export interface RecordMeter {
  records: number;
  /** Wall time inside `computeRecord`, milliseconds. */
  computeMs: number;
  /**
   * Expected regret, summed over requests, of routing by a layout that differs from the
   * shares the same record computed (floor + (1 − k·floor)·P(best)): computeRecord keeps the
   * previous layout when the shares moved less than MIN_LAYOUT_CHANGE.
   */
  layoutLagRegret: number;
}

/** A fresh meter. */
export function recordMeter(): RecordMeter {
  return { records: 0, computeMs: 0, layoutLagRegret: 0 };
}

/**
 * A learner that is a whole mesh: `replicas` gateways all holding the latest record, a
 * load balancer spreading requests among them, and an aggregator publishing a record every
 * `publishIntervalMs` from the trials and rewards counted so far. The first record is
 * published at the start, before any request, as an aggregator does when it starts.
 * Requests carry no entity key, so each position is a draw from the serving replica's own
 * random source; the record travels as JSON and is parsed as a gateway reading it from
 * Consul would. Rewards are counted when the request is served (no feedback delay).
 */
export function recordLearner(routing: RecordRouting): LearnerFactory {
  const { policy, requestsPerSecond, publishIntervalMs, replicas, samples, meter, armRegret } = routing;
  const msPerRequest = MS_PER_SECOND / requestsPerSecond;
  return (arms, rng) => {
    const names = Array.from({ length: arms }, (_, arm) => `arm-${arm}`);
    const indexOf = new Map(names.map((name, arm) => [name, arm]));
    const experiment = experimentOf(policy, names);
    // A model name per run: computeRecord seeds its Monte Carlo draws by model and sequence,
    // and runs sharing a name would share that noise.
    const model = `bench-${Math.floor(rng() * SEED_RANGE)}`;
    const replicaRandom: RandomSource[] = Array.from({ length: replicas }, (_, replica) => seededRandom(`${model}|replica-${replica}`));
    const counts = new VariantCounts(() => discountOf(policy));
    let record: ExperimentRecord | undefined;
    /** Expected regret per request of the current record's layout lag. */
    let lagPerRequest = 0;
    let nextPublishAt = SIMULATION_START_MS;
    let now = SIMULATION_START_MS;

    const publish = (at: number) => {
      const started = performance.now();
      const computed = computeRecord({ model, experiment, statistics: counts.statistics(model, at), previous: record, now: at, samples });
      if (meter !== undefined) {
        meter.records += 1;
        meter.computeMs += performance.now() - started;
      }
      record = parseExperimentRecord(model, JSON.stringify(computed));
      lagPerRequest = armRegret === undefined ? 0 : layoutLag(policy, names, record, armRegret);
    };

    return {
      choose(request) {
        now = SIMULATION_START_MS + (request - 1) * msPerRequest;
        for (; nextPublishAt <= now; nextPublishAt += publishIntervalMs) publish(nextPublishAt);
        const replica = replicaRandom[Math.floor(rng() * replicas)]!;
        const { variant } = assignVariant(experiment, record, { model, entity: undefined, now }, replica);
        counts.countTrial(model, variant, now);
        if (meter !== undefined) meter.layoutLagRegret += lagPerRequest;
        return indexOf.get(variant)!;
      },
      observe(arm, reward) {
        counts.countReward(model, names[arm]!, reward, now);
      },
    };
  };
}

/**
 * Expected regret per request of routing by the record's layout rather than by the shares
 * the record computed: Σ (width − share) · regret over the arms. After the warm-up the shares
 * are the floored P(best) (share-plan's rule, with every arm live and of equal weight), and
 * the layout's widths equal them unless computeRecord kept the previous layout. During the
 * warm-up the layout is exact: 0.
 */
function layoutLag(policy: ThompsonPolicy, names: readonly string[], record: ExperimentRecord, armRegret: readonly number[]): number {
  const variants = names.map((name) => record.variants[name]);
  if (variants.some((variant) => variant === undefined || variant.trials < policy.minTrials)) return 0;
  const shares = withFloor(
    variants.map((variant) => variant!.probabilityBest),
    Math.min(policy.minShare, 1 / names.length),
  );
  return variants.reduce((sum, variant, arm) => sum + (variant!.share - shares[arm]!) * armRegret[arm]!, 0);
}

/** The experiment config of a simulated model: one live, enabled variant per arm, in arm order. */
function experimentOf(policy: ThompsonPolicy, names: readonly string[]): ExperimentConfig {
  return {
    entityKey: 'userId',
    stickinessSeconds: DEFAULT_STICKINESS_SECONDS,
    policy,
    variants: names.map((name) => ({ name, pool: { static: [] }, enabled: true, role: 'live' as const })),
    shadow: { fraction: 0, maxConcurrent: DEFAULT_SHADOW_CONCURRENCY },
  };
}
