import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStatsSnapshot } from './parse-stats-snapshot.js';

const valid = {
  model: 'ranker',
  generatedAt: 1_700_000_000_000,
  variants: {
    control: { trials: 120, rewardSum: 30, rewardSumSquares: 30, updatedAt: 1_699_999_999_000 },
    treatment: { trials: 80.5, rewardSum: -2.5, rewardSumSquares: 11, updatedAt: 0, window: 'ignored' },
  },
  publisher: 'aggregator-1',
};

test('a valid snapshot parses to its known fields, frozen', () => {
  const snapshot = parseStatsSnapshot('ranker', JSON.stringify(valid));
  assert.equal(snapshot.model, 'ranker');
  assert.equal(snapshot.generatedAt, 1_700_000_000_000);
  assert.deepEqual({ ...snapshot.variants }, {
    control: { trials: 120, rewardSum: 30, rewardSumSquares: 30, updatedAt: 1_699_999_999_000 },
    treatment: { trials: 80.5, rewardSum: -2.5, rewardSumSquares: 11, updatedAt: 0 },
  });
  assert.ok(Object.isFrozen(snapshot.variants));
  assert.deepEqual(Object.keys(parseStatsSnapshot('ranker', JSON.stringify({ ...valid, variants: {} })).variants), []);
});

test('anything else is INVALID_CONFIG naming the problem', () => {
  const control = valid.variants.control;
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{', /not JSON/],
    ['not an object', '[]', /invalid/],
    ['missing generatedAt', JSON.stringify({ model: 'ranker', variants: {} }), /generatedAt/],
    ['missing variants', JSON.stringify({ model: 'ranker', generatedAt: 1 }), /variants/],
    ['negative trials', JSON.stringify({ ...valid, variants: { control: { ...control, trials: -1 } } }), /\/variants\/control\/trials/],
    ['overflowing number', JSON.stringify({ ...valid, variants: { control: { ...control, rewardSum: 1 } } }).replace('"rewardSum":1', '"rewardSum":1e400'), /rewardSum/],
    ['negative sum of squares', JSON.stringify({ ...valid, variants: { control: { ...control, rewardSumSquares: -1 } } }), /rewardSumSquares/],
    ['string in a number field', JSON.stringify({ ...valid, variants: { control: { ...control, rewardSum: '3' } } }), /rewardSum/],
    ['missing field', JSON.stringify({ ...valid, variants: { control: { trials: 1, rewardSum: 0, updatedAt: 0 } } }), /rewardSumSquares/],
    ['fractional time', JSON.stringify({ ...valid, generatedAt: 1.5 }), /generatedAt/],
    ['bad variant name', JSON.stringify({ ...valid, variants: { 'no spaces': control } }), /property name/],
    ['another model', JSON.stringify({ ...valid, model: 'other' }), /are for model 'other'/],
  ];
  for (const [what, text, message] of cases) {
    assert.throws(() => parseStatsSnapshot('ranker', text), { code: 'INVALID_CONFIG', message }, what);
  }
});
