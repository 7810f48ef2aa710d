/**
 * Cumulative expected regret of infermesh's Thompson sampler (the production share plan,
 * sampled per request) against baselines measured in the same run: a uniform A/B split and
 * ε-greedy. Bernoulli arms at 4.0 / 4.5 / 5.0 % and Normal arms with means 1.0 / 1.1 / 1.2
 * (sd 1), averaged over seeds, next to the Lai–Robbins asymptotic lower bound. Also the
 * sampler fed statistics only every N requests, and the distributed mesh: replicas routing
 * by records an aggregator computes at a fixed interval of simulated time. Exits non-zero
 * when the mesh with 2 s records loses more than the goal allows against one process.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RECORD_SHARE_SAMPLES, type ThompsonPolicy } from '@infermesh/experiments';
import { ratioMarkdown, regretRatio, resultsMarkdown, replaceResults, standardError, summarise, type CaseReport, type PolicyReport, type RegretRatio } from './support/bandit-report.js';
import { recordLearner, recordMeter, type RecordMeter } from './support/bandit-record-learner.js';
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
/** Simulated traffic of the distributed series, requests per second: 100,000 requests span 500 s. */
const REQUESTS_PER_SECOND = 200;
/** Gateway replicas of the distributed series. */
const REPLICAS = 3;
/** Simulated milliseconds between records in the distributed series; the first is the one the goal is about. */
const RECORD_INTERVALS_MS = [2_000, 10_000];
/**
 * Monte Carlo draws per record in the simulation (production: RECORD_SHARE_SAMPLES, 10,000).
 * The estimate is unbiased, so fewer draws add noise to each record's shares but not, on
 * average, regret; at 10,000 the records alone would take most of the run.
 */
const RECORD_SAMPLES = Number(process.env.BENCH_BANDIT_RECORD_SAMPLES ?? 1_000);
/** Largest allowed ratio of the 2 s distributed series' regret to single-process production Thompson (Bernoulli arms). */
const DISTRIBUTED_GOAL = 1.3;

interface Contender {
  name: string;
  baseline: boolean;
  factory: (banditCase: BanditCase, meter: RecordMeter) => LearnerFactory;
  /** Simulated milliseconds between records, for a series routing by published records. */
  publishIntervalMs?: number;
}

const thompson = (banditCase: BanditCase, settings: { minShare: number; minTrials: number }): ThompsonPolicy => ({ type: 'thompson', reward: banditCase.reward, ...settings });
const productionName = `Thompson, production (minShare ${PRODUCTION.minShare}, minTrials ${PRODUCTION.minTrials})`;
const recordSeriesName = (intervalMs: number) => `Thompson, ${REPLICAS} replicas, records every ${intervalMs / 1000} s`;

const contenders: Contender[] = [
  { name: 'uniform A/B (equal split)', baseline: true, factory: () => policyLearner({ type: 'weighted' }) },
  { name: `ε-greedy, ε = ${EPSILON}`, baseline: true, factory: () => epsilonGreedy(() => EPSILON) },
  { name: `ε-greedy, ε = min(1, ${EPSILON_DECAY_REQUESTS.toLocaleString('en-US')} / t)`, baseline: true, factory: () => epsilonGreedy((request) => Math.min(1, EPSILON_DECAY_REQUESTS / request)) },
  { name: 'Thompson, no floor (minShare 0, minTrials 0)', baseline: false, factory: (banditCase) => policyLearner(thompson(banditCase, { minShare: 0, minTrials: 0 })) },
  { name: productionName, baseline: false, factory: (banditCase) => policyLearner(thompson(banditCase, PRODUCTION)) },
  ...REFRESH_INTERVALS.map((every) => ({
    name: `Thompson, production, statistics every ${every.toLocaleString('en-US')} requests`,
    baseline: false,
    factory: (banditCase: BanditCase) => policyLearner(thompson(banditCase, PRODUCTION), every),
  })),
  ...RECORD_INTERVALS_MS.map((publishIntervalMs) => ({
    name: recordSeriesName(publishIntervalMs),
    baseline: false,
    publishIntervalMs,
    factory: (banditCase: BanditCase, meter: RecordMeter) =>
      recordLearner({
        policy: thompson(banditCase, PRODUCTION),
        requestsPerSecond: REQUESTS_PER_SECOND,
        publishIntervalMs,
        replicas: REPLICAS,
        samples: RECORD_SAMPLES,
        meter,
        armRegret: banditCase.means.map((mean) => Math.max(...banditCase.means) - mean),
      }),
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
const startedCpu = process.cpuUsage();
const reports: CaseReport[] = [];
for (const { banditCase, description, lowerBound } of cases) {
  const policies: PolicyReport[] = [];
  for (const contender of contenders) {
    const meter = recordMeter();
    const factory = contender.factory(banditCase, meter);
    const runs = Array.from({ length: SEEDS }, (_, seed) => simulate(banditCase, factory, `seed-${seed}`, HORIZON, CHECKPOINTS));
    const report: PolicyReport = {
      name: contender.name,
      baseline: contender.baseline,
      regret: CHECKPOINTS.map((at, index) => summarise(at, runs.map((run) => run.regretAt[index]!))),
      bestArmShare: runs.reduce((sum, run) => sum + run.bestArmShare, 0) / SEEDS,
      microsPerRequest: (runs.reduce((sum, run) => sum + run.elapsedMs, 0) * 1000) / (SEEDS * HORIZON),
      perSeedRegret: runs.map((run) => run.regretAt.map((regret) => Math.round(regret * 1000) / 1000)),
      ...(contender.publishIntervalMs === undefined
        ? {}
        : {
            records: {
              requestsPerSecond: REQUESTS_PER_SECOND,
              publishIntervalMs: contender.publishIntervalMs,
              replicas: REPLICAS,
              samples: RECORD_SAMPLES,
              perRun: meter.records / SEEDS,
              msPerRecord: meter.computeMs / meter.records,
              layoutLagRegret: meter.layoutLagRegret / SEEDS,
            },
          }),
    };
    policies.push(report);
    const final = report.regret[report.regret.length - 1]!;
    const recordCost = report.records === undefined ? '' : `, ${report.records.msPerRecord.toFixed(2)} ms/record`;
    console.log(`${banditCase.name} | ${contender.name}: regret @ ${HORIZON} = ${final.mean.toFixed(1)} ± ${final.ci95.toFixed(1)} (${report.microsPerRequest.toFixed(2)} µs/request${recordCost})`);
  }
  reports.push({ name: banditCase.name, description, lowerBound: { ...lowerBound, atCheckpoints: CHECKPOINTS.map((at) => lowerBound.constant * Math.log(at)) }, policies });
}
const wallSeconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(startedCpu);
/** CPU time of this process: on a shared machine wall time also counts waiting for a core. */
const cpuSeconds = (cpu.user + cpu.system) / 1e6;

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
// Each distributed series against single-process production Thompson, paired by seed.
const ratios: RegretRatio[] = reports.flatMap((report, caseIndex) => {
  const horizonRegret = (name: string) => report.policies.find((policy) => policy.name === name)!.perSeedRegret.map((regrets) => regrets[regrets.length - 1]!);
  const reference = horizonRegret(productionName);
  return RECORD_INTERVALS_MS.map((intervalMs, intervalIndex) => {
    const series = horizonRegret(recordSeriesName(intervalMs));
    const records = report.policies.find((policy) => policy.name === recordSeriesName(intervalMs))!.records!;
    const { ratio, standardError: ratioStandardError } = regretRatio(series, reference);
    return {
      case: report.name,
      series: recordSeriesName(intervalMs),
      reference: productionName,
      at: HORIZON,
      mean: mean(series),
      standardError: standardError(series),
      referenceMean: mean(reference),
      referenceStandardError: standardError(reference),
      ratio,
      ratioStandardError,
      layoutLagRegret: records.layoutLagRegret,
      // The issue sets the goal on the Bernoulli arms with records every 2 s; the rest is context.
      ...(cases[caseIndex]!.banditCase.reward === 'binary' && intervalIndex === 0 ? { goal: DISTRIBUTED_GOAL } : {}),
    };
  });
});
const recordSeries = reports.flatMap((report) => report.policies.flatMap((policy) => (policy.records === undefined ? [] : [policy.records])));
const msPerRecord = recordSeries.reduce((sum, records) => sum + records.msPerRecord * records.perRun, 0) / recordSeries.reduce((sum, records) => sum + records.perRun, 0);
const setup = [
  `CPU time of the run: ${cpuSeconds.toFixed(0)} s (less than the wall time when the machine is shared).`,
  '',
  `Distributed series: ${REQUESTS_PER_SECOND} requests per second of simulated time (${HORIZON.toLocaleString('en-US')} requests = ${(HORIZON / REQUESTS_PER_SECOND).toLocaleString('en-US')} s), ` +
    `spread at random over ${REPLICAS} replicas routing by the latest record; records computed by \`computeRecord\` with ${RECORD_SAMPLES.toLocaleString('en-US')} Monte Carlo draws ` +
    `(production: ${RECORD_SHARE_SAMPLES.toLocaleString('en-US')}), ${msPerRecord.toFixed(2)} ms of wall time per record.`,
];

const outDir = join(ROOT, 'docs/benchmarks/results');
mkdirSync(outDir, { recursive: true });
const json = { benchmark: 'bandit-regret', date: new Date().toISOString(), seeds: SEEDS, horizon: HORIZON, checkpoints: CHECKPOINTS, wallSeconds, cpuSeconds, distributed: { goal: DISTRIBUTED_GOAL, ratios }, cases: reports };
writeFileSync(join(outDir, 'bandit-regret.json'), `${JSON.stringify(json, null, 2)}\n`);
const markdownPath = join(ROOT, 'docs/benchmarks/bandit.md');
const document = existsSync(markdownPath) ? readFileSync(markdownPath, 'utf8') : '# Bandit regret\n';
const results = `${resultsMarkdown(reports, CHECKPOINTS, SEEDS, wallSeconds, setup)}\n${ratioMarkdown('Distributed against single-process Thompson (production)', ratios)}`;
writeFileSync(markdownPath, replaceResults(document, results));
console.log(`\n${results}`);
console.log(`written to docs/benchmarks/results/bandit-regret.json and docs/benchmarks/bandit.md (${wallSeconds.toFixed(1)} s, ${cpuSeconds.toFixed(1)} s of CPU)`);

const goal = ratios.find((entry) => entry.goal !== undefined)!;
if (!(goal.ratio <= goal.goal!)) {
  console.error(
    `\nGOAL MISSED: ${goal.series} (${goal.case}) lost ${goal.mean.toFixed(1)} at ${HORIZON.toLocaleString('en-US')} requests, ` +
      `${goal.ratio.toFixed(3)} ± ${goal.ratioStandardError.toFixed(3)} × single-process production Thompson (${goal.referenceMean.toFixed(1)}); the goal is ≤ ${goal.goal}×.`,
  );
  process.exitCode = 1;
}
