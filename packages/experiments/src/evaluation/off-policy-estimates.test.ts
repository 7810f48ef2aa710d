import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom, type RandomSource } from '../policy/random-source.js';
import { parseCandidatePolicy } from './candidate-policy.js';
import type { LoggedDecision } from './logged-decision.js';
import { evaluatePolicy, type PolicyEvaluation } from './off-policy-estimates.js';

const VARIANTS = ['a', 'b', 'c'];

/** A simulated experiment: Bernoulli rewards per variant, and the logging shares of each phase (as a bandit's shares move). */
interface Simulation {
  readonly rates: Readonly<Record<string, number>>;
  readonly phases: readonly (readonly number[])[];
  readonly decisionsPerPhase: number;
}

function simulateLog(simulation: Simulation, rng: RandomSource): LoggedDecision[] {
  const decisions: LoggedDecision[] = [];
  for (const shares of simulation.phases) {
    for (let i = 0; i < simulation.decisionsPerPhase; i += 1) {
      const u = rng();
      let index = 0;
      let cumulative = shares[0]!;
      while (u >= cumulative && index < shares.length - 1) {
        index += 1;
        cumulative += shares[index]!;
      }
      const variant = VARIANTS[index]!;
      const reward = rng() < simulation.rates[variant]! ? 1 : 0;
      decisions.push({ predictionId: `p${decisions.length}`, variant, propensity: shares[index]!, reward, rewarded: reward === 1 });
    }
  }
  return decisions;
}

function truthOf(spec: string, rates: Readonly<Record<string, number>>): number {
  const { probabilities } = parseCandidatePolicy(spec, { variants: VARIANTS });
  return [...probabilities].reduce((sum, [variant, probability]) => sum + probability * rates[variant]!, 0);
}

const ESTIMATORS = ['ips', 'snips', 'doublyRobust'] as const;

test('calibration: over seeded simulated experiments the 95 % interval of each estimator covers the true policy value in 90-99 % of runs', (t) => {
  const simulation: Simulation = { rates: { a: 0.3, b: 0.4, c: 0.5 }, phases: [[0.6, 0.3, 0.1], [0.3, 0.3, 0.4], [0.1, 0.2, 0.7]], decisionsPerPhase: 1000 };
  const runs = 300;
  for (const spec of ['always:b', 'uniform', 'weights:a=1,c=3']) {
    const truth = truthOf(spec, simulation.rates);
    const covered = { ips: 0, snips: 0, doublyRobust: 0 };
    for (let run = 0; run < runs; run += 1) {
      const decisions = simulateLog(simulation, seededRandom(`calibration-${spec}-${run}`));
      const evaluation = evaluatePolicy(decisions, parseCandidatePolicy(spec, { variants: VARIANTS }));
      for (const estimator of ESTIMATORS) if (evaluation[estimator].low <= truth && truth <= evaluation[estimator].high) covered[estimator] += 1;
    }
    for (const estimator of ESTIMATORS) {
      const coverage = covered[estimator] / runs;
      t.diagnostic(`${spec} ${estimator}: coverage ${(coverage * 100).toFixed(1)} % of ${runs} runs`);
      assert.ok(coverage >= 0.9 && coverage <= 0.99, `${spec} ${estimator}: coverage ${coverage} outside [0.90, 0.99]`);
    }
  }
});

test('ignoring propensities is biased where IPS is not: a skewed logging policy, the uniform policy evaluated', () => {
  const simulation: Simulation = { rates: { a: 0.2, b: 0.5, c: 0.6 }, phases: [[0.8, 0.1, 0.1]], decisionsPerPhase: 4000 };
  const truth = truthOf('uniform', simulation.rates);
  const runs = 100;
  let naive = 0;
  let ips = 0;
  for (let run = 0; run < runs; run += 1) {
    const evaluation = evaluatePolicy(simulateLog(simulation, seededRandom(`bias-${run}`)), parseCandidatePolicy('uniform', { variants: VARIANTS }));
    naive += evaluation.naive.value / runs;
    ips += evaluation.ips.value / runs;
  }
  assert.ok(Math.abs(naive - truth) > 0.1, `naive mean ${naive} vs truth ${truth}`);
  assert.ok(Math.abs(ips - truth) < 0.01, `IPS mean ${ips} vs truth ${truth}`);
});

function evaluateFixed(decisions: LoggedDecision[], spec: string, maxWeight?: number): PolicyEvaluation {
  return evaluatePolicy(decisions, parseCandidatePolicy(spec, { variants: VARIANTS }), maxWeight === undefined ? {} : { maxWeight });
}

test('the logging policy evaluated on itself: every estimator is the plain mean and the effective sample size is n', () => {
  const decisions: LoggedDecision[] = [
    { predictionId: '1', variant: 'a', propensity: 0.5, reward: 1, rewarded: true },
    { predictionId: '2', variant: 'b', propensity: 0.5, reward: 0, rewarded: false },
    { predictionId: '3', variant: 'a', propensity: 0.5, reward: 0, rewarded: true },
    { predictionId: '4', variant: 'b', propensity: 0.5, reward: 1, rewarded: true },
  ];
  const evaluation = evaluateFixed(decisions, 'weights:a=1,b=1');
  for (const estimator of [...ESTIMATORS, 'naive'] as const) assert.ok(Math.abs(evaluation[estimator].value - 0.5) < 1e-12, estimator);
  assert.equal(evaluation.effectiveSampleSize, 4);
  assert.equal(evaluation.evaluableShare, 1);
  assert.equal(evaluation.rewarded, 3);
});

test('a policy that never chooses the logged variants has nothing to evaluate: evaluable share 0, IPS 0', () => {
  const decisions: LoggedDecision[] = [{ predictionId: '1', variant: 'a', propensity: 0.9, reward: 1, rewarded: true }];
  const evaluation = evaluateFixed(decisions, 'always:c');
  assert.equal(evaluation.evaluableShare, 0);
  assert.equal(evaluation.ips.value, 0);
  assert.equal(evaluation.effectiveSampleSize, 0);
});

test('weights beyond the bound are clipped and counted', () => {
  const decisions: LoggedDecision[] = [
    { predictionId: '1', variant: 'c', propensity: 0.001, reward: 1, rewarded: true },
    { predictionId: '2', variant: 'a', propensity: 0.999, reward: 0, rewarded: false },
  ];
  const evaluation = evaluateFixed(decisions, 'always:c', 50);
  assert.equal(evaluation.clippedWeights, 1);
  assert.equal(evaluation.ips.value, 25);
  assert.equal(evaluation.minPropensity, 0.001);
});

test('a propensity outside (0, 1] is refused, naming the prediction', () => {
  const decisions: LoggedDecision[] = [{ predictionId: 'p-zero', variant: 'a', propensity: 0, reward: 1, rewarded: true }];
  assert.throws(() => evaluateFixed(decisions, 'uniform'), (error: Error & { code?: string }) => error.code === 'INVALID_ARGUMENT' && error.message.includes('p-zero'));
});

test('no decisions: a clear INVALID_ARGUMENT, not a division by zero', () => {
  assert.throws(() => evaluateFixed([], 'uniform'), (error: Error & { code?: string }) => error.code === 'INVALID_ARGUMENT' && error.message.includes('no logged decisions'));
});
