import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExperimentRecord } from './experiment-record.js';

const valid = {
  model: 'ranker',
  sequence: 7,
  generatedAt: 1_800_000_000_000,
  variants: {
    a: { trials: 120.5, rewardSum: 30, rewardSumSquares: 30, updatedAt: 1_800_000_000_000, share: 0.25, probabilityBest: 0.1 },
    b: { trials: 80, rewardSum: -2.5, rewardSumSquares: 11, updatedAt: 0, share: 0.75, probabilityBest: 0.9 },
  },
  layout: [['a', 0.25], ['b', 1]],
  publisher: 'ignored',
};

test('a valid record parses, unknown top-level fields are ignored', () => {
  const record = parseExperimentRecord('ranker', JSON.stringify(valid));
  assert.equal(record.sequence, 7);
  assert.deepEqual(record.layout, [['a', 0.25], ['b', 1]]);
});

test('records that could poison routing are refused with INVALID_CONFIG naming the problem', () => {
  const a = valid.variants.a;
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{', /not JSON/],
    ['overflowing sum', JSON.stringify({ ...valid, variants: { ...valid.variants, a: { ...a, rewardSumSquares: 1 } } }).replace('"rewardSumSquares":1,', '"rewardSumSquares":1e400,'), /rewardSumSquares/],
    ['negative trials', JSON.stringify({ ...valid, variants: { ...valid.variants, a: { ...a, trials: -1 } } }), /trials/],
    ['share above 1', JSON.stringify({ ...valid, variants: { ...valid.variants, a: { ...a, share: 1.5 } } }), /share/],
    ['layout short of 1', JSON.stringify({ ...valid, layout: [['a', 0.25], ['b', 0.9]] }), /last band ends at 0.9/],
    ['layout decreasing', JSON.stringify({ ...valid, layout: [['a', 0.5], ['b', 0.25], ['a', 1]] }), /bad layout/],
    ['layout to an unknown variant', JSON.stringify({ ...valid, layout: [['a', 0.25], ['ghost', 1]] }), /no entry for: ghost/],
    ['another model', JSON.stringify({ ...valid, model: 'other' }), /is for model 'other'/],
    ['missing layout', JSON.stringify({ ...valid, layout: undefined }), /layout/],
  ];
  for (const [what, text, message] of cases) assert.throws(() => parseExperimentRecord('ranker', text), { code: 'INVALID_CONFIG', message }, what);
});
