/**
 * A simulated experiment for the bandit regret benchmark: arms with known mean rewards, a
 * policy that picks one per request and learns from the reward, and the expected regret
 * (best mean − chosen arm's mean) summed over requests. Rewards use common random numbers:
 * the n-th pull of an arm yields the same reward whichever policy pulled it, so policies are
 * compared on the same luck.
 */
import {
  argmax,
  EMPTY_STATISTICS,
  normal,
  pickIndex,
  planShares,
  recordReward,
  samplePosteriorMean,
  seededRandom,
  type ExperimentPolicy,
  type RandomSource,
  type SharePlan,
  type VariantPolicyInput,
} from '@infermesh/experiments';

/** Arms of one simulated experiment. */
export interface BanditCase {
  name: string;
  reward: 'binary' | 'continuous';
  means: readonly number[];
  /** Draws one reward of an arm with the given mean. */
  draw: (mean: number, rng: RandomSource) => number;
}

/** A policy for one run: picks an arm per request, then sees that request's reward. */
export interface Learner {
  choose(request: number): number;
  observe(arm: number, reward: number): void;
}

/** Builds a fresh learner for `arms` arms from the run's own random source. */
export type LearnerFactory = (arms: number, rng: RandomSource) => Learner;

/** Cumulative expected regret at each checkpoint, and how often the best arm was chosen. */
export interface RunResult {
  regretAt: number[];
  bestArmShare: number;
  elapsedMs: number;
}

/** Bernoulli arms with the given success rates. */
export function bernoulliCase(name: string, means: readonly number[]): BanditCase {
  return { name, reward: 'binary', means, draw: (mean, rng) => (rng() < mean ? 1 : 0) };
}

/** Normal arms with the given means and a common standard deviation. */
export function normalCase(name: string, means: readonly number[], sd: number): BanditCase {
  return { name, reward: 'continuous', means, draw: (mean, rng) => normal(rng, mean, sd) };
}

/** Runs one learner for `horizon` requests; checkpoints are request counts, ascending. */
export function simulate(banditCase: BanditCase, factory: LearnerFactory, seed: string, horizon: number, checkpoints: readonly number[]): RunResult {
  const { means } = banditCase;
  const best = Math.max(...means);
  const bestArm = means.indexOf(best);
  const armRewards = means.map((_, arm) => seededRandom(`${banditCase.name}|${seed}|arm-${arm}`));
  const learner = factory(means.length, seededRandom(`${banditCase.name}|${seed}|policy`));
  const regretAt: number[] = [];
  let regret = 0;
  let bestPulls = 0;
  let nextCheckpoint = 0;
  const started = performance.now();
  for (let request = 1; request <= horizon; request += 1) {
    const arm = learner.choose(request);
    const mean = means[arm]!;
    regret += best - mean;
    if (arm === bestArm) bestPulls += 1;
    learner.observe(arm, banditCase.draw(mean, armRewards[arm]!));
    if (request === checkpoints[nextCheckpoint]) {
      regretAt.push(regret);
      nextCheckpoint += 1;
    }
  }
  return { regretAt, bestArmShare: bestPulls / horizon, elapsedMs: performance.now() - started };
}

/**
 * A learner sampling the production share plan (`planShares`: weights, floor, warm-up, priors,
 * discounting) once per request: Thompson sampling in one process, the reference the record
 * series are measured against. Statistics reach the plan only every `refreshEvery` requests,
 * as when gateway replicas read a snapshot an aggregator publishes; 1 means every reward is
 * seen at once.
 */
export function policyLearner(policy: ExperimentPolicy, refreshEvery = 1): LearnerFactory {
  return (arms, rng) => {
    const names = Array.from({ length: arms }, (_, arm) => `arm-${arm}`);
    // Every arm is an enabled live variant, so the plan's entries are the arms in order.
    const current: VariantPolicyInput[] = names.map((name) => ({ name, enabled: true, role: 'live', stats: EMPTY_STATISTICS }));
    let published = current.slice();
    let observed = 0;
    return {
      choose: () => drawFromPlan(planShares(policy, published), rng),
      observe(arm, reward) {
        const variant = current[arm]!;
        current[arm] = { ...variant, stats: recordReward(variant.stats, reward) };
        observed += 1;
        if (observed % refreshEvery === 0) published = current.slice();
      },
    };
  };
}

/**
 * One request's arm under `plan`: a fixed plan picks by its shares; a Thompson plan picks a
 * uniformly chosen arm with probability k·floor, else the arm whose posterior draw is highest,
 * so each arm's chance is the share the plan gives it (floor + (1 − k·floor)·P(best)) with one
 * draw per arm instead of a Monte Carlo estimate.
 */
function drawFromPlan(plan: SharePlan, rng: RandomSource): number {
  if (plan.kind === 'fixed') return pickIndex(plan.shares, rng());
  const arms = plan.posteriors.length;
  const u = rng();
  // The same uniform draw picks whom to explore: given u < k·floor, u / floor is uniform on [0, k).
  if (u < arms * plan.floor) return Math.min(arms - 1, Math.floor(u / plan.floor));
  return argmax(plan.posteriors.map((posterior) => samplePosteriorMean(posterior, rng)));
}

/**
 * ε-greedy: explore a uniformly random arm with probability `epsilon(request)`, otherwise
 * the arm with the best sample mean (ties broken at random). Each arm is tried once first,
 * so no mean is a guess.
 */
export function epsilonGreedy(epsilon: (request: number) => number): LearnerFactory {
  return (arms, rng) => {
    const pulls = new Array<number>(arms).fill(0);
    const sums = new Array<number>(arms).fill(0);
    return {
      choose(request) {
        const untried = pulls.indexOf(0);
        if (untried >= 0) return untried;
        if (rng() < epsilon(request)) return Math.floor(rng() * arms);
        let bestMean = Number.NEGATIVE_INFINITY;
        let leaders: number[] = [];
        for (let arm = 0; arm < arms; arm += 1) {
          const mean = sums[arm]! / pulls[arm]!;
          if (mean > bestMean) {
            bestMean = mean;
            leaders = [arm];
          } else if (mean === bestMean) leaders.push(arm);
        }
        return leaders.length === 1 ? leaders[0]! : leaders[Math.floor(rng() * leaders.length)]!;
      },
      observe(arm, reward) {
        pulls[arm] = pulls[arm]! + 1;
        sums[arm] = sums[arm]! + reward;
      },
    };
  };
}

/** Kullback–Leibler divergence between Bernoulli(p) and Bernoulli(q), in nats. */
export function bernoulliKl(p: number, q: number): number {
  const term = (x: number, y: number) => (x === 0 ? 0 : x * Math.log(x / y));
  return term(p, q) + term(1 - p, 1 - q);
}

/**
 * Lai–Robbins constant for Bernoulli arms: Σ over suboptimal arms of (μ* − μᵢ) / KL(μᵢ, μ*).
 * Any consistent policy has lim inf regret(T) / ln T ≥ this constant.
 */
export function laiRobbinsBernoulli(means: readonly number[]): number {
  const best = Math.max(...means);
  return means.filter((mean) => mean < best).reduce((sum, mean) => sum + (best - mean) / bernoulliKl(mean, best), 0);
}

/** The same constant for Normal arms of known standard deviation σ, where KL = Δ² / (2σ²): Σ 2σ² / Δᵢ. */
export function laiRobbinsNormal(means: readonly number[], sd: number): number {
  const best = Math.max(...means);
  return means.filter((mean) => mean < best).reduce((sum, mean) => sum + (2 * sd * sd) / (best - mean), 0);
}
