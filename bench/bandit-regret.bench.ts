/**
 * Cumulative expected regret of infermesh's Thompson sampler (the production policy code,
 * `chooseVariant`) against baselines measured in the same run: a uniform A/B split and
 * ε-greedy. Bernoulli arms at 4.0 / 4.5 / 5.0 % and Normal arms with means 1.0 / 1.1 / 1.2
 * (sd 1), averaged over seeds, next to the Lai–Robbins asymptotic lower bound. Also the
 * sampler fed statistics only every N requests, as replicas reading an aggregator's snapshot.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExperimentPolicy } from '../packages/gateway/src/experiments/policy/experiment-policy.js';
import { resultsMarkdown, replaceResults, summarise, type CaseReport, type PolicyReport } from './support/bandit-report.js';
import { bernoulliCase, epsilonGreedy, laiRobbinsBernoulli, laiRobbinsNormal, normalCase, policyLearner, simulate, type BanditCase, type LearnerFactory } from './support/bandit-simulation.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Independent runs per policy and case. */
const SEEDS = Number(process.env.BENCH_BANDIT_SEEDS ?? 40);
/** Requests per run. */
const HORIZON = Number(process.env.BENCH_BANDIT_HORIZON ?? 100_000);
/** Request counts at which cumulative regret is reported. */
const CHECKPOINTS = [1_000, 10_000, 30_000, 100_000].filter((at) => at < HORIZON).concat(HORIZON);
/** Fixed exploration rate of the ε-greedy baseline. */
const EPSILON = 0.1;
/** Decaying ε-greedy explores every request up to here, then with probability this / t. */
const EPSILON_DECAY_REQUESTS = 1_000;
/** The floor and warm-up the gateway's experiment config defaults to. */
const PRODUCTION = { minShare: 0.01, minTrials: 100 } as const;
/** Requests between statistics snapshots in the replica series. */
const REFRESH_INTERVALS = [100, 1_000, 10_000];
/** Standard deviation of the Normal arms' rewards. */
const NORMAL_SD = 1;

interface Contender {
  name: string;
  baseline: boolean;
  factory: (banditCase: BanditCase) => LearnerFactory;
}

const thompson = (banditCase: BanditCase, settings: { minShare: number; minTrials: number }): ExperimentPolicy => ({ type: 'thompson', reward: banditCase.reward, ...settings });

const contenders: Contender[] = [
  { name: 'uniform A/B (equal split)', baseline: true, factory: () => policyLearner({ type: 'weighted' }) },
  { name: `ε-greedy, ε = ${EPSILON}`, baseline: true, factory: () => epsilonGreedy(() => EPSILON) },
  { name: `ε-greedy, ε = min(1, ${EPSILON_DECAY_REQUESTS.toLocaleString('en-US')} / t)`, baseline: true, factory: () => epsilonGreedy((request) => Math.min(1, EPSILON_DECAY_REQUESTS / request)) },
  { name: 'Thompson, no floor (minShare 0, minTrials 0)', baseline: false, factory: (banditCase) => policyLearner(thompson(banditCase, { minShare: 0, minTrials: 0 })) },
  { name: `Thompson, production (minShare ${PRODUCTION.minShare}, minTrials ${PRODUCTION.minTrials})`, baseline: false, factory: (banditCase) => policyLearner(thompson(banditCase, PRODUCTION)) },
  ...REFRESH_INTERVALS.map((every) => ({
    name: `Thompson, production, statistics every ${every.toLocaleString('en-US')} requests`,
    baseline: false,
    factory: (banditCase: BanditCase) => policyLearner(thompson(banditCase, PRODUCTION), every),
  })),
];

const bernoulliMeans = [0.04, 0.045, 0.05];
const normalMeans = [1.0, 1.1, 1.2];
const cases: { banditCase: BanditCase; description: string; lowerBound: { label: string; constant: number } }[] = [
  {
    banditCase: bernoulliCase('Bernoulli arms: conversion 4.0 %, 4.5 %, 5.0 %', bernoulliMeans),
    description: 'Binary rewards (a click or a conversion per request). Regret is in lost conversions.',
    lowerBound: { label: 'Lai–Robbins bound Σ Δᵢ / KL(μᵢ, μ*)', constant: laiRobbinsBernoulli(bernoulliMeans) },
  },
  {
    banditCase: normalCase('Normal arms: mean reward 1.0, 1.1, 1.2, sd 1', normalMeans, NORMAL_SD),
    description: 'Continuous rewards (e.g. books added per session). Regret is in reward units.',
    lowerBound: { label: 'Lai–Robbins bound, known σ: Σ 2σ² / Δᵢ', constant: laiRobbinsNormal(normalMeans, NORMAL_SD) },
  },
];

const started = performance.now();
const reports: CaseReport[] = [];
for (const { banditCase, description, lowerBound } of cases) {
  const policies: PolicyReport[] = [];
  for (const contender of contenders) {
    const factory = contender.factory(banditCase);
    const runs = Array.from({ length: SEEDS }, (_, seed) => simulate(banditCase, factory, `seed-${seed}`, HORIZON, CHECKPOINTS));
    const report: PolicyReport = {
      name: contender.name,
      baseline: contender.baseline,
      regret: CHECKPOINTS.map((at, index) => summarise(at, runs.map((run) => run.regretAt[index]!))),
      bestArmShare: runs.reduce((sum, run) => sum + run.bestArmShare, 0) / SEEDS,
      microsPerRequest: (runs.reduce((sum, run) => sum + run.elapsedMs, 0) * 1000) / (SEEDS * HORIZON),
      perSeedRegret: runs.map((run) => run.regretAt.map((regret) => Math.round(regret * 1000) / 1000)),
    };
    policies.push(report);
    const final = report.regret[report.regret.length - 1]!;
    console.log(`${banditCase.name} | ${contender.name}: regret @ ${HORIZON} = ${final.mean.toFixed(1)} ± ${final.ci95.toFixed(1)} (${report.microsPerRequest.toFixed(2)} µs/request)`);
  }
  reports.push({ name: banditCase.name, description, lowerBound: { ...lowerBound, atCheckpoints: CHECKPOINTS.map((at) => lowerBound.constant * Math.log(at)) }, policies });
}
const wallSeconds = (performance.now() - started) / 1000;

const outDir = join(ROOT, 'docs/benchmarks/results');
mkdirSync(outDir, { recursive: true });
const json = { benchmark: 'bandit-regret', date: new Date().toISOString(), seeds: SEEDS, horizon: HORIZON, checkpoints: CHECKPOINTS, wallSeconds, cases: reports };
writeFileSync(join(outDir, 'bandit-regret.json'), `${JSON.stringify(json, null, 2)}\n`);
const markdownPath = join(ROOT, 'docs/benchmarks/bandit.md');
const document = existsSync(markdownPath) ? readFileSync(markdownPath, 'utf8') : '# Bandit regret\n';
const results = resultsMarkdown(reports, CHECKPOINTS, SEEDS, wallSeconds);
writeFileSync(markdownPath, replaceResults(document, results));
console.log(`\n${results}`);
console.log(`written to docs/benchmarks/results/bandit-regret.json and docs/benchmarks/bandit.md (${wallSeconds.toFixed(1)} s)`);
