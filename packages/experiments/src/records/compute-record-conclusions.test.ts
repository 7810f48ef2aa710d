import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseExperimentConfig } from '../config/experiment-config.js';
import { emptyMeasures, addOutcome } from '../evidence/guardrail-measures.js';
import type { CountedVariant } from '../evidence/variant-counts.js';
import { computeRecord } from './compute-record.js';
import type { ExperimentRecord } from './experiment-record.js';
import { layoutShares } from './traffic-layout.js';
import { recordEvents } from '../conclusions/conclusion-events.js';

const NOW = 1_800_000_000_000;
const FEW = 2_000;
const SECOND = 1_000;

const WHEN = { probabilityBest: 0.95, forSeconds: 60, minTrialsPerVariant: 500, expectedLossBelow: 0.01 };
const GUARDRAILS = [{ metric: 'errorRate', max: 0.02 }, { metric: 'defaultRate', max: 0.05 }, { metric: 'p99LatencyMs', max: 250 }];

function experimentOf(conclude: object | undefined, extra: object = {}) {
  return parseExperimentConfig(
    'm',
    JSON.stringify({
      entityKey: 'userId',
      policy: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 100 },
      variants: [{ name: 'a', pool: { deployment: 'prod' } }, { name: 'b', pool: { deployment: 'canary' } }, { name: 'c', pool: { deployment: 'other' } }],
      ...(conclude === undefined ? {} : { conclude }),
      ...extra,
    }),
  );
}

/** Evidence of one variant: trials at a success rate, and predictions measured with a default-output rate and a latency. */
function arm(trials: number, rate: number, defaults = 0, latencyMs = 20): CountedVariant {
  const measured = emptyMeasures();
  for (let index = 0; index < trials; index += 1) addOutcome(measured, index < defaults * trials ? 'default' : 'answered', latencyMs);
  return { trials, rewardSum: Math.round(trials * rate), rewardSumSquares: Math.round(trials * rate), updatedAt: NOW, measured };
}

const CLEAR = { a: arm(2_000, 0.1), b: arm(2_000, 0.2), c: arm(2_000, 0.1) };
const CLOSE = { a: arm(2_000, 0.1), b: arm(2_000, 0.102), c: arm(2_000, 0.1) };

/** Records computed one after the other at the given times (seconds after NOW), with the evidence of each step. */
function run(experiment: ReturnType<typeof experimentOf>, steps: [seconds: number, statistics: Record<string, CountedVariant>][], start?: ExperimentRecord): ExperimentRecord[] {
  const records: ExperimentRecord[] = [];
  let previous = start;
  for (const [seconds, statistics] of steps) {
    previous = computeRecord({ model: 'm', experiment, statistics, previous, now: NOW + seconds * SECOND, samples: FEW });
    records.push(previous);
  }
  return records;
}

test('the rule holds → pending since then; after forSeconds → concluded with all live traffic on the winner, announced once', () => {
  const experiment = experimentOf({ when: WHEN, guardrails: GUARDRAILS });
  const [first, middle, done, later] = run(experiment, [[0, CLEAR], [30, CLEAR], [61, CLEAR], [120, CLEAR]]);
  assert.deepEqual({ state: first!.conclusion?.state, winner: first!.conclusion?.winner, since: first!.conclusion?.since }, { state: 'pending', winner: 'b', since: NOW });
  assert.equal(middle!.conclusion?.state, 'pending');
  assert.equal(middle!.conclusion?.since, NOW, 'pending keeps the moment it started');
  assert.ok(layoutShares(middle!.layout).get('a')! > 0, 'pending changes no traffic');
  assert.equal(done!.conclusion?.state, 'concluded');
  assert.equal(done!.conclusion?.at, NOW + 61 * SECOND);
  assert.equal(done!.conclusion?.promotion, 'none', 'nothing to promote without a promote block');
  assert.deepEqual([...layoutShares(done!.layout)], [['b', 1]]);
  assert.deepEqual(done!.conclusion?.evidence, { sequence: done!.sequence, probabilityBest: done!.variants.b!.probabilityBest, expectedLoss: done!.variants.b!.expectedLoss, trials: 2_000 });
  assert.deepEqual(later!.conclusion, done!.conclusion, 'concluded stays concluded, evidence frozen');
  assert.deepEqual(recordEvents(experiment, middle, done!).map((event) => event.type), ['infermesh.experiment.concluded']);
  assert.deepEqual(recordEvents(experiment, done, later!), []);
});

test('a break in the rule starts the wait again; too few trials or too much risk never conclude', () => {
  const experiment = experimentOf({ when: WHEN });
  const records = run(experiment, [[0, CLEAR], [40, CLOSE], [50, CLEAR], [100, CLEAR], [111, CLEAR]]);
  assert.equal(records[1]!.conclusion, undefined);
  assert.equal(records[2]!.conclusion?.since, NOW + 50 * SECOND);
  assert.equal(records[3]!.conclusion?.state, 'pending', '50 s of the 60 needed');
  assert.equal(records[4]!.conclusion?.state, 'concluded');
  const few = { a: arm(400, 0.1), b: arm(2_000, 0.3), c: arm(2_000, 0.1) };
  assert.equal(run(experiment, [[0, few], [100, few]])[1]!.conclusion, undefined, 'a variant below minTrialsPerVariant');
  // Likely best, but choosing it still risks more than allowed.
  const risky = experimentOf({ when: { ...WHEN, probabilityBest: 0.6, expectedLossBelow: 1e-4 } });
  const near = { a: arm(2_000, 0.1), b: arm(2_000, 0.11), c: arm(2_000, 0.1) };
  const [riskyRecord] = run(risky, [[0, near]]);
  assert.ok(riskyRecord!.variants.b!.probabilityBest >= 0.6 && riskyRecord!.variants.b!.expectedLoss! >= 1e-4, JSON.stringify(riskyRecord!.variants.b));
  assert.equal(riskyRecord!.conclusion, undefined);
});

test('dry-run reports would_conclude once and routes exactly as without a conclude block', () => {
  const dry = experimentOf({ when: WHEN, mode: 'dry-run', guardrails: GUARDRAILS, promote: { deployment: 'prod' } });
  const plain = experimentOf(undefined);
  const steps: [number, Record<string, CountedVariant>][] = [[0, CLEAR], [61, CLEAR], [90, CLEAR]];
  const dryRecords = run(dry, steps);
  const plainRecords = run(plain, steps);
  dryRecords.forEach((record, index) => assert.deepEqual(record.layout, plainRecords[index]!.layout));
  assert.equal(dryRecords[1]!.conclusion?.state, 'would_conclude');
  assert.equal(dryRecords[1]!.conclusion?.promotion, 'none');
  assert.deepEqual(dryRecords[2]!.conclusion, dryRecords[1]!.conclusion);
  const events = recordEvents(dry, dryRecords[0], dryRecords[1]!);
  assert.deepEqual(events.map((event) => [event.type, (event.data as { deployment?: string }).deployment]), [['infermesh.experiment.would_conclude', 'prod']]);
  assert.deepEqual(recordEvents(dry, dryRecords[1], dryRecords[2]!), []);
});

test('a variant answering 30 % default outputs is tripped after minPredictions: share 0, never the winner, announced once; reopen clears it', () => {
  const experiment = experimentOf({ when: WHEN, guardrails: GUARDRAILS, minPredictions: 200 });
  // The failing variant would win on rewards: only its guardrail stops it.
  const early = { a: arm(150, 0.1), b: arm(150, 0.5, 0.3), c: arm(150, 0.1) };
  const enough = { a: arm(2_000, 0.1), b: arm(2_000, 0.5, 0.3), c: arm(2_000, 0.1) };
  const [young, tripped, after] = run(experiment, [[0, early], [10, enough], [200, enough]]);
  assert.equal(young!.variants.b!.guardrail, undefined, 'below minPredictions nothing is judged');
  assert.deepEqual(tripped!.variants.b!.guardrail, { metric: 'defaultRate', value: 0.3, max: 0.05, trippedAt: NOW + 10 * SECOND, dryRun: false });
  assert.equal(tripped!.variants.b!.share, 0);
  assert.equal(tripped!.variants.b!.probabilityBest, 0);
  assert.notEqual(after!.conclusion?.winner, 'b');
  assert.deepEqual(recordEvents(experiment, young, tripped!).map((event) => event.type), ['infermesh.experiment.guardrail_tripped']);
  assert.deepEqual(recordEvents(experiment, tripped, after!), []);
  const reopened = experimentOf({ when: WHEN, guardrails: GUARDRAILS, minPredictions: 200 }, { reopenedAt: NOW + 300 * SECOND });
  const healed = { ...enough, b: arm(2_000, 0.5) };
  const [again] = run(reopened, [[301, healed]], after);
  assert.equal(again!.variants.b!.guardrail, undefined);
  assert.ok(again!.variants.b!.share > 0);
});

test('a person concludes at once (promotion pending with a promote block); reopening clears it and the rule starts over', () => {
  const manual = experimentOf({ when: WHEN, promote: { deployment: 'prod' } }, { concluded: { winner: 'c', at: NOW } });
  const [record] = run(manual, [[1, CLOSE]]);
  assert.deepEqual({ state: record!.conclusion?.state, winner: record!.conclusion?.winner, by: record!.conclusion?.by, promotion: record!.conclusion?.promotion }, { state: 'concluded', winner: 'c', by: 'manual', promotion: 'pending' });
  assert.deepEqual([...layoutShares(record!.layout)], [['c', 1]]);
  assert.deepEqual(recordEvents(manual, undefined, record!), [], 'the promoter announces it once the version is promoted');
  const reopened = experimentOf({ when: WHEN, promote: { deployment: 'prod' } }, { reopenedAt: NOW + 5 * SECOND });
  const [open] = run(reopened, [[6, CLOSE]], record);
  assert.equal(open!.conclusion, undefined);
  assert.ok(layoutShares(open!.layout).size === 3);
});

test('the conclude block is validated: promote needs deployment pools, a manual winner must be live, bounds are checked', () => {
  const base = { entityKey: 'userId', policy: { type: 'thompson', reward: 'binary' } };
  const parse = (extra: object) => () => parseExperimentConfig('m', JSON.stringify({ ...base, variants: [{ name: 'a', pool: { deployment: 'prod' } }, { name: 'b', pool: { static: ['w:1'] } }], ...extra }));
  assert.throws(parse({ conclude: { when: { probabilityBest: 0.95 }, promote: { deployment: 'prod' } } }), /static pool has no version to promote\): b/);
  assert.throws(parse({ conclude: { when: { probabilityBest: 1.5 } } }), { code: 'INVALID_CONFIG' });
  assert.throws(parse({ conclude: { when: { probabilityBest: 0.9 }, guardrails: [{ metric: 'cpu', max: 1 }] } }), { code: 'INVALID_CONFIG' });
  assert.throws(parse({ concluded: { winner: 'zz', at: 1 } }), /not a live variant/);
  const parsed = parse({ conclude: { when: { probabilityBest: 0.9 } } })();
  assert.deepEqual(parsed.conclude, { when: { probabilityBest: 0.9, forSeconds: 600, minTrialsPerVariant: 0 }, guardrails: [], minPredictions: 200, mode: 'auto' });
});

test('property: a tripped variant never has traffic nor wins; a concluded record routes all traffic to an enabled live winner', () => {
  const experiment = experimentOf({ when: { probabilityBest: 0.6, forSeconds: 0, minTrialsPerVariant: 0 }, guardrails: GUARDRAILS, minPredictions: 50 });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1_000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 0.5, noNaN: true }), fc.double({ min: 1, max: 1_000, noNaN: true })), { minLength: 3, maxLength: 3 }), (arms) => {
      const statistics = Object.fromEntries(arms.map(([trials, rate, defaults, latency], index) => [['a', 'b', 'c'][index]!, arm(trials, rate, defaults, latency)]));
      const record = computeRecord({ model: 'm', experiment, statistics, previous: undefined, now: NOW, samples: 500 });
      const widths = layoutShares(record.layout);
      const out = Object.entries(record.variants).filter(([, variant]) => variant.guardrail !== undefined && !variant.guardrail.dryRun).map(([name]) => name);
      assert.ok(out.length < 3, 'some variant always stands');
      for (const name of out) assert.equal(widths.get(name) ?? 0, 0);
      if (record.conclusion !== undefined) assert.ok(!out.includes(record.conclusion.winner));
      if (record.conclusion?.state === 'concluded') assert.deepEqual([...widths], [[record.conclusion.winner, 1]]);
    }),
    { numRuns: 80 },
  );
});
