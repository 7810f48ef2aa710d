import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExperimentRecord } from './experiment-record.js';
import { RecordStore } from './record-store.js';

const record = (sequence: number, generatedAt: number): ExperimentRecord => ({ model: 'm', sequence, generatedAt, variants: {}, layout: [] }) as unknown as ExperimentRecord;

test('a higher sequence replaces the record; a lower one never moves traffic back', () => {
  const store = new RecordStore();
  assert.equal(store.put(record(2, 1_000)), true);
  assert.equal(store.put(record(1, 5_000)), false, 'an older sequence, however recent');
  assert.equal(store.put(record(3, 900)), true);
  assert.deepEqual([store.get('m')!.sequence, store.get('m')!.generatedAt], [3, 900]);
});

test('the same sequence stamped later refreshes the age; stamped as early or earlier it is ignored', () => {
  const store = new RecordStore();
  store.put(record(4, 1_000));
  assert.equal(store.put(record(4, 2_000)), true);
  assert.equal(store.get('m')!.generatedAt, 2_000);
  assert.equal(store.put(record(4, 2_000)), false);
  assert.equal(store.put(record(4, 1_500)), false);
  assert.equal(store.get('m')!.generatedAt, 2_000);
});

test('subscribers hear of every record kept or forgotten, not of one ignored, until they unsubscribe', () => {
  const store = new RecordStore();
  const heard: string[] = [];
  const unsubscribe = store.subscribe((model) => heard.push(model));
  store.put(record(1, 1_000));
  store.put(record(1, 1_000));
  store.put(record(1, 2_000));
  store.delete('m');
  store.delete('m');
  unsubscribe();
  store.put(record(2, 3_000));
  assert.deepEqual(heard, ['m', 'm', 'm']);
});
