import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { computeRecord } from '../records/compute-record.js';
import { parseExperimentConfig, type ExperimentConfig } from '../config/experiment-config.js';
import { parseExperimentRecord, type ExperimentRecord } from '../records/experiment-record.js';
import { bandAt, layoutShares } from '../records/traffic-layout.js';
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
