import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventInput } from '@infermesh/shared';
import { pino } from 'pino';
import { ISSUE_TIME_MARGIN_MS, LocalRecordsGuard } from './local-records-guard.js';

const STARTED = 1_000_000;

function guarded(routed: Set<string> = new Set(['churn']), rememberedPredictions?: number) {
  let now = STARTED;
  const warnings: { model: string; msg: string; predictionId?: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line) as { model: string; msg: string }) });
  const guard = new LocalRecordsGuard({ logger, now: () => now, routesLocally: (model) => routed.has(model), ...(rememberedPredictions === undefined ? {} : { rememberedPredictions }) });
  return {
    guard,
    warnings,
    advance: (ms: number) => (now += ms),
    served: (predictionId: string, model = 'churn') => guard.observe({ type: 'infermesh.prediction.served', subject: 'u', data: { predictionId, model } } as unknown as EventInput),
    /** Feedback for a token issued `ageMs` ago. */
    feedback: (predictionId: string, ageMs: number, model = 'churn') =>
      guard.observe({ type: 'infermesh.feedback.received', subject: 'u', data: { predictionId, model, variant: 'a', version: 'v1', reward: 1, delayMs: ageMs, requestId: 'r' } } as EventInput),
  };
}

test('feedback for a prediction this gateway served says nothing; for one served elsewhere since the start, one WARN per model', () => {
  const { warnings, advance, served, feedback } = guarded(new Set(['churn', 'price']));
  advance(ISSUE_TIME_MARGIN_MS + 5_000);
  served('mine');
  advance(100);
  feedback('mine', 100);
  assert.equal(warnings.length, 0);
  feedback('theirs', 2_000);
  feedback('theirs-too', 1_500);
  feedback('theirs-price', 1_500, 'price');
  assert.deepEqual(warnings.map((line) => [line.model, line.predictionId]), [['churn', 'theirs'], ['price', 'theirs-price']]);
  assert.match(warnings[0]!.msg, /another gateway served/);
});

test('tokens issued before this process started (a previous run) or before the memory reaches are not judged', () => {
  const { warnings, advance, served, feedback } = guarded(undefined, 2);
  advance(10_000);
  feedback('previous-run', 10_500);
  feedback('at-the-start', 10_000 - ISSUE_TIME_MARGIN_MS / 2);
  assert.equal(warnings.length, 0, 'issued before the start (or within the margin)');
  for (const id of ['p1', 'p2', 'p3']) {
    served(id);
    advance(5_000);
  }
  // p1 was forgotten (two remembered): the memory is complete only after p1's time.
  feedback('p1', 15_000);
  feedback('unknown-but-old', 14_500);
  assert.equal(warnings.length, 0);
  feedback('p2', 10_000);
  feedback('p3', 5_000);
  assert.equal(warnings.length, 0);
  feedback('unknown-and-recent', 5_000);
  assert.equal(warnings.length, 1);
});

test('feedback for a model without a local experiment says nothing', () => {
  const { warnings, advance, feedback } = guarded(new Set());
  advance(60_000);
  feedback('theirs', 1_000);
  assert.equal(warnings.length, 0);
});

test('a record published for a model routed locally: one WARN per model, also when the model is routed only later', () => {
  const routed = new Set<string>();
  const { guard, warnings } = guarded(routed);
  guard.recordPublished('churn');
  assert.equal(warnings.length, 0, 'not routed here (yet)');
  routed.add('churn');
  guard.catalogChanged();
  guard.recordPublished('churn');
  guard.catalogChanged();
  assert.deepEqual(warnings.map((line) => line.model), ['churn']);
  assert.match(warnings[0]!.msg, /publishes records for this model/);
});
