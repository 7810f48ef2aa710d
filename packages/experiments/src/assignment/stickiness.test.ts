import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeRecord } from '../records/compute-record.js';
import { VariantCounts } from '../evidence/variant-counts.js';
import { parseExperimentConfig } from '../config/experiment-config.js';
import type { ExperimentRecord } from '../records/experiment-record.js';
import { bandAt } from '../records/traffic-layout.js';
import { seededRandom } from '../policy/random-source.js';
import { assignVariant, entityPosition } from './assign-variant.js';

/** The scenario of the stickiness requirement: close reward rates, a few entities, many requests. */
const RATES: Record<string, number> = { a: 0.45, b: 0.55 };
const ENTITIES = 20;
const REQUESTS = 4_000;
/** Requests between records: at 200 req/s, a record every 2 s. */
const RECORD_EVERY = 400;
const START = 1_800_000_000_000;

test('under noisy rewards an entity changes variant only when the record moves its band across the entity\'s position', () => {
  const experiment = parseExperimentConfig('m', JSON.stringify({
    entityKey: 'userId',
    stickinessSeconds: 86_400,
    policy: { type: 'thompson', reward: 'binary', minShare: 0.01, minTrials: 100 },
    variants: [{ name: 'a', pool: { static: ['w:1'] } }, { name: 'b', pool: { static: ['w:1'] } }],
  }));
  const rng = seededRandom('stickiness');
  const counts = new VariantCounts(() => undefined);
  let record: ExperimentRecord | undefined;
  const history: ExperimentRecord[] = [];
  const assigned = new Map<string, { variant: string; record: ExperimentRecord | undefined }>();
  const changes = new Map<string, number>();
  for (let request = 0; request < REQUESTS; request += 1) {
    const now = START + request * 5;
    if (request % RECORD_EVERY === 0) {
      record = computeRecord({ model: 'm', experiment, statistics: counts.statistics('m', now), previous: record, now, samples: 4_000 });
      history.push(record);
    }
    const entity = `user-${Math.floor(rng() * ENTITIES)}`;
    const { variant } = assignVariant(experiment, record, { model: 'm', entity, now }, () => assert.fail('sticky requests draw nothing'));
    const before = assigned.get(entity);
    if (before !== undefined && before.variant !== variant) {
      changes.set(entity, (changes.get(entity) ?? 0) + 1);
      // The only reason allowed: the layout under this entity's position changed between the two records.
      const u = entityPosition(experiment, 'm', entity, now);
      const then = before.record === undefined ? undefined : bandAt(before.record.layout, u).variant;
      assert.notEqual(then, bandAt(record!.layout, u).variant, `${entity} moved from ${before.variant} to ${variant} without the record moving its band`);
    }
    assigned.set(entity, { variant, record });
    counts.countTrial('m', variant, now);
    if (rng() < RATES[variant]!) counts.countReward('m', variant, 1, now);
  }
  const perEntity = Array.from({ length: ENTITIES }, (_, index) => changes.get(`user-${index}`) ?? 0);
  const total = perEntity.reduce((sum, count) => sum + count, 0);
  console.log(`stickiness (45 % vs 55 %, ${ENTITIES} entities, ${REQUESTS} requests, ${history.length} records): changes per entity ${perEntity.join(' ')}; total ${total}`);
  // Each record moves at most the shares' change; with close rates the shares wander, so a few
  // entities move a few times — never on every request, as redrawing per request would.
  assert.ok(total <= history.length * ENTITIES * 0.5, `${total} changes over ${history.length} records`);
});
