import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InfermeshError } from '@infermesh/shared/errors';
import { computeRecord } from '../records/compute-record.js';
import { parseExperimentConfig, type ExperimentConfig } from '../config/experiment-config.js';
import { parseExperimentRecord, type ExperimentRecord } from '../records/experiment-record.js';
import { bandAt, layoutShares } from '../records/traffic-layout.js';
import type { ExperimentPolicy } from '../policy/policy-types.js';
import { armsArbitrary, policyArbitrary, type ArbitraryArm } from '../policy/policy-arbitraries.fixture.js';
import { seededRandom } from '../policy/random-source.js';
import { assignVariant, entityPosition } from './assign-variant.js';

const NOW = 1_800_000_000_000;
const noRandom = () => assert.fail('a sticky request must not draw from the process random source');

function experiment(variants: { name: string; enabled?: boolean; role?: string; weight?: number }[], policy: object = { type: 'thompson', reward: 'binary', minShare: 0.02, minTrials: 0 }): ExperimentConfig {
  return parseExperimentConfig('m', JSON.stringify({ entityKey: 'userId', stickinessSeconds: 3600, policy, variants: variants.map((variant) => ({ pool: { static: ['w:1'] }, ...variant })) }));
}

function recordFrom(config: ExperimentConfig, successes: Record<string, number>, previous?: ExperimentRecord): ExperimentRecord {
  const statistics = Object.fromEntries(Object.entries(successes).map(([name, wins]) => [name, { trials: 500, rewardSum: wins, rewardSumSquares: wins, updatedAt: NOW }]));
  return computeRecord({ model: 'm', experiment: config, statistics, previous, now: NOW, samples: 2_000 });
}

const threeArms = experiment([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
const evidence = fc.record({ a: fc.integer({ min: 0, max: 500 }), b: fc.integer({ min: 0, max: 500 }), c: fc.integer({ min: 0, max: 500 }) });

test('the same record gives every entity the same variant on independently built replicas (a JSON round trip apart)', () => {
  fc.assert(
    fc.property(evidence, fc.string(), fc.integer({ min: 0, max: 10 ** 9 }), (wins, entity, offset) => {
      const record = recordFrom(threeArms, wins);
      const replica = parseExperimentRecord('m', JSON.stringify(record));
      const key = { model: 'm', entity, now: NOW + offset };
      assert.deepEqual(assignVariant(threeArms, record, key, noRandom), assignVariant(threeArms, replica, key, noRandom));
    }),
    { numRuns: 200 },
  );
});

test('when shares move, an entity changes variant only if the layout moved under its position, and propensity is the chosen share', () => {
  fc.assert(
    fc.property(evidence, evidence, fc.array(fc.string(), { minLength: 50, maxLength: 50 }), (first, second, entities) => {
      const before = recordFrom(threeArms, first);
      const after = recordFrom(threeArms, second, before);
      for (const entity of entities) {
        const key = { model: 'm', entity, now: NOW };
        const u = entityPosition(threeArms, 'm', entity, NOW);
        const old = assignVariant(threeArms, before, key, noRandom);
        const next = assignVariant(threeArms, after, key, noRandom);
        if (old.variant !== next.variant) assert.notEqual(bandAt(before.layout, u).variant, bandAt(after.layout, u).variant, 'moved without its band moving');
        assert.ok(Math.abs(next.propensity - layoutShares(after.layout).get(next.variant)!) < 1e-12);
      }
    }),
    { numRuns: 100 },
  );
});

test('a killed variant gets nothing at once; only the entities of its band move, spread by the others\' shares', () => {
  const record = recordFrom(threeArms, { a: 50, b: 60, c: 70 });
  const killed = experiment([{ name: 'a' }, { name: 'b', enabled: false }, { name: 'c' }]);
  const widths = layoutShares(record.layout);
  let moved = 0;
  const counts = new Map<string, number>();
  const entities = Array.from({ length: 4_000 }, (_, index) => `user-${index}`);
  for (const entity of entities) {
    const key = { model: 'm', entity, now: NOW };
    const before = assignVariant(threeArms, record, key, noRandom);
    const after = assignVariant(killed, record, key, noRandom);
    assert.notEqual(after.variant, 'b');
    if (before.variant !== 'b') assert.equal(after.variant, before.variant, 'entities outside the killed band stay');
    else moved += 1;
    counts.set(after.variant, (counts.get(after.variant) ?? 0) + 1);
    const expected = widths.get(after.variant)! / (widths.get('a')! + widths.get('c')!);
    assert.ok(Math.abs(after.propensity - expected) < 1e-12);
  }
  // The moved fraction estimates b's width: within 5 standard errors.
  const bShare = widths.get('b')!;
  assert.ok(Math.abs(moved / entities.length - bShare) < 5 * Math.sqrt((bShare * (1 - bShare)) / entities.length));
});

test('without a record the warm-up weights route, floored; a record that routes to nobody routable falls back to them too', () => {
  const weighted = experiment([{ name: 'current', weight: 99 }, { name: 'candidate', weight: 1 }], { type: 'thompson', reward: 'binary', minShare: 0.01, minTrials: 100 });
  const counts = { current: 0, candidate: 0 } as Record<string, number>;
  const random = seededRandom('warm-up');
  for (let request = 0; request < 20_000; request += 1) {
    const assignment = assignVariant(weighted, undefined, { model: 'm', entity: undefined, now: NOW }, random);
    assert.equal(assignment.recordSequence, null);
    assert.equal(assignment.sticky, false);
    counts[assignment.variant] = counts[assignment.variant]! + 1;
  }
  // Shares: 0.01 + 0.98 · weight share → candidate 0.0198.
  assert.ok(Math.abs(counts.candidate! / 20_000 - 0.0198) < 5 * Math.sqrt((0.0198 * 0.98) / 20_000), `candidate got ${counts.candidate}`);
  const onlyOld = recordFrom(experiment([{ name: 'old' }]), { old: 10 });
  const fallback = assignVariant(weighted, { ...onlyOld, variants: { ...onlyOld.variants } }, { model: 'm', entity: 'u1', now: NOW }, noRandom);
  assert.equal(fallback.recordSequence, null);
});

test('sticky windows are offset per entity: a window boundary reshuffles a small fraction of users at a time, not all at once', () => {
  const record = recordFrom(threeArms, { a: 250, b: 250, c: 250 });
  const entities = Array.from({ length: 2_000 }, (_, index) => `user-${index}`);
  const at = (now: number) => entities.map((entity) => assignVariant(threeArms, record, { model: 'm', entity, now }, noRandom).variant);
  const base = at(NOW);
  // One minute of a one-hour window: about 1/60 of the entities cross their boundary, 2/3 of those change.
  const later = at(NOW + 60_000);
  const changed = later.filter((variant, index) => variant !== base[index]).length / entities.length;
  assert.ok(changed < 0.05, `${changed} of entities changed variant within one minute`);
});

/** Any policy a config may hold, with arms of any weight, state and evidence (some combinations are invalid). */
/** A config and its first record from arbitrary arms; undefined when the combination is one the policy refuses. */
function arbitraryExperiment(policy: ExperimentPolicy, arms: readonly ArbitraryArm[]): { config: ExperimentConfig; record: ExperimentRecord } | undefined {
  const config: ExperimentConfig = {
    entityKey: 'userId',
    stickinessSeconds: 3600,
    policy,
    variants: arms.map(({ enabled, role, weight }, index) => ({ name: `v${index}`, pool: { static: ['w:1'] }, enabled, role, ...(weight === undefined ? {} : { weight }) })),
    shadow: { fraction: 0, maxConcurrent: 1 },
  };
  const statistics = Object.fromEntries(arms.map(({ trials, rate }, index) => [`v${index}`, { trials, rewardSum: Math.round(trials * rate), rewardSumSquares: Math.round(trials * rate), updatedAt: NOW }]));
  try {
    return { config, record: computeRecord({ model: 'm', experiment: config, statistics, previous: undefined, now: NOW, samples: 200 }) };
  } catch (error) {
    if (error instanceof InfermeshError && error.code === 'INVALID_CONFIG') return undefined;
    throw error;
  }
}

/** Whether the config parser (the only way a config reaches a gateway) accepts `config`. */
function accepted(config: ExperimentConfig): boolean {
  try {
    parseExperimentConfig('m', JSON.stringify(config));
    return true;
  } catch (error) {
    if (error instanceof InfermeshError && error.code === 'INVALID_CONFIG') return false;
    throw error;
  }
}

test('under any policy, a request goes to an enabled live variant, however the draws fall and whatever was killed since the record', () => {
  fc.assert(
    fc.property(policyArbitrary, armsArbitrary, fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), fc.array(fc.string(), { minLength: 10, maxLength: 10 }), fc.string(), (policy, arms, killed, entities, seed) => {
      const built = arbitraryExperiment(policy, arms);
      fc.pre(built !== undefined);
      const { config, record } = built!;
      const now = { ...config, variants: config.variants.map((variant, index) => ({ ...variant, enabled: variant.enabled && !killed[index] })) };
      // What the kill switch may store: the config parser refuses a config that leaves no routable weight.
      fc.pre(accepted(now));
      const random = seededRandom(seed);
      const keys = [...entities, ...entities.map(() => undefined)].map((entity) => ({ model: 'm', entity, now: NOW }));
      for (const [current, unchanged] of [[config, true], [now, killed.every((kill) => !kill)]] as const) {
        for (const key of keys) {
          const { variant, propensity } = assignVariant(current, record, key, random);
          const chosen = current.variants.find((candidate) => candidate.name === variant)!;
          assert.ok(chosen.enabled && chosen.role === 'live', `${variant} chosen`);
          assert.ok(propensity > 0 && propensity <= 1, `propensity ${propensity}`);
          // Under the config the record was computed for, the propensity is the variant's width in the layout.
          if (unchanged) assert.ok(Math.abs(propensity - (layoutShares(record.layout).get(variant) ?? 0)) < 1e-9, `propensity ${propensity}`);
        }
      }
    }),
    { numRuns: 200 },
  );
});

test('under any policy, the same entity, window and record give the same variant from independently built inputs', () => {
  fc.assert(
    fc.property(policyArbitrary, armsArbitrary, fc.string(), fc.integer({ min: 0, max: 10 ** 9 }), (policy, arms, entity, offset) => {
      const built = arbitraryExperiment(policy, arms);
      fc.pre(built !== undefined);
      const { config, record } = built!;
      const key = { model: 'm', entity, now: NOW + offset };
      const onReplicaA = assignVariant(config, record, key, noRandom);
      const onReplicaB = assignVariant(structuredClone(config), parseExperimentRecord('m', JSON.stringify(record)), { ...key }, noRandom);
      assert.deepEqual(onReplicaA, onReplicaB);
    }),
    { numRuns: 200 },
  );
});

test('requests split like the record\'s shares: sticky entities and random positions alike, floor included, none to disabled or shadow variants', () => {
  const config = experiment([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'old', enabled: false }, { name: 'mirror', role: 'shadow' }], { type: 'thompson', reward: 'binary', minShare: 0.03, minTrials: 0 });
  const statistics = { a: [300, 30], b: [300, 36], c: [300, 12], old: [300, 60], mirror: [0, 0] } as Record<string, [number, number]>;
  const record = computeRecord({
    model: 'm',
    experiment: config,
    statistics: Object.fromEntries(Object.entries(statistics).map(([name, [trials, wins]]) => [name, { trials, rewardSum: wins, rewardSumSquares: wins, updatedAt: NOW }])),
    previous: undefined,
    now: NOW,
    samples: 50_000,
  });
  assert.ok(record.variants.c!.share >= 0.03 && record.variants.c!.share < 0.035, 'a clearly worse variant sits at the floor');
  const split = (keys: { entity: string | undefined }[], random: () => number) => {
    const counts = new Map<string, number>();
    for (const { entity } of keys) {
      const { variant } = assignVariant(config, record, { model: 'm', entity, now: NOW }, random);
      counts.set(variant, (counts.get(variant) ?? 0) + 1);
    }
    return (name: string) => (counts.get(name) ?? 0) / keys.length;
  };
  const sticky = split(Array.from({ length: 20_000 }, (_, user) => ({ entity: `u${user}` })), noRandom);
  const unsticky = split(Array.from({ length: 30_000 }, () => ({ entity: undefined })), seededRandom('requests'));
  for (const name of Object.keys(statistics)) {
    const share = record.variants[name]!.share;
    assert.ok(Math.abs(sticky(name) - share) < 0.015, `${name}: entities ${sticky(name)} vs share ${share}`);
    assert.ok(Math.abs(unsticky(name) - share) < 0.012, `${name}: requests ${unsticky(name)} vs share ${share}`);
  }
  assert.equal(sticky('old') + sticky('mirror') + unsticky('old') + unsticky('mirror'), 0);
});

test('during the warm-up (a variant short of minTrials) requests split by weight, floored, until every variant has the trials', () => {
  const config = experiment([{ name: 'a' }, { name: 'b' }, { name: 'new' }], { type: 'thompson', reward: 'binary', minShare: 0.01, minTrials: 100 });
  const counted = (newcomer: number) => ({ a: { trials: 5_000, rewardSum: 250, rewardSumSquares: 250, updatedAt: NOW }, b: { trials: 5_000, rewardSum: 500, rewardSumSquares: 500, updatedAt: NOW }, new: { trials: newcomer, rewardSum: 0, rewardSumSquares: 0, updatedAt: NOW } });
  const warming = computeRecord({ model: 'm', experiment: config, statistics: counted(20), previous: undefined, now: NOW });
  const random = seededRandom('warm-requests');
  const picks = Array.from({ length: 3_000 }, () => assignVariant(config, warming, { model: 'm', entity: undefined, now: NOW }, random).variant).filter((name) => name === 'new').length;
  assert.ok(Math.abs(picks / 3_000 - 1 / 3) < 0.04, `the newcomer got ${picks} of 3000`);
  const warmed = computeRecord({ model: 'm', experiment: config, statistics: counted(100), previous: warming, now: NOW });
  assert.ok(warmed.variants.b!.share > 0.97, 'after the warm-up the sampler exploits');
});
