import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServedModel } from '../models/served-model.js';
import { DEFAULT_HISTORY_SPAN_MS, describeHistory, parseHistoryTime } from './experiment-history.js';

const NOW = Date.UTC(2026, 11, 7, 12);

test('from and to are epoch milliseconds or ISO 8601 times; anything else is INVALID_ARGUMENT naming the parameter', () => {
  assert.equal(parseHistoryTime('from', '1765100000000'), 1765100000000);
  assert.equal(parseHistoryTime('to', '2026-12-07T12:00:00Z'), NOW);
  assert.equal(parseHistoryTime('to', '2026-12-07'), Date.UTC(2026, 11, 7));
  for (const text of ['', 'yesterday', '-5', '1.5', '2026-13-45', '99999999999999999']) {
    assert.throws(() => parseHistoryTime('from', text), (error: { code: string; details: unknown }) => error.code === 'INVALID_ARGUMENT' && JSON.stringify(error.details) === '{"parameter":"from"}', text);
  }
});

test('without from and to the history answers the last 7 days; from after to is refused', async () => {
  const asked: [string, number, number][] = [];
  const dependencies = { now: () => NOW, history: { points: async (model: string, from: number, to: number) => (asked.push([model, from, to]), []) } };
  const model = { name: 'churn' } as ServedModel;
  assert.deepEqual(await describeHistory(model, { from: undefined, to: undefined }, dependencies), { model: 'churn', points: [] });
  assert.deepEqual(asked, [['churn', NOW - DEFAULT_HISTORY_SPAN_MS, NOW]]);
  await describeHistory(model, { from: '2026-12-07T11:00:00Z', to: undefined }, dependencies);
  assert.deepEqual(asked[1], ['churn', NOW - 3_600_000, NOW]);
  await assert.rejects(describeHistory(model, { from: String(NOW + 1), to: String(NOW) }, dependencies), { code: 'INVALID_ARGUMENT' });
});
