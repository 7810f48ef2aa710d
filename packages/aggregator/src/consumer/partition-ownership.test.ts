import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger, FileKvStore, type KvStore } from '@infermesh/shared';
import { PartitionStateStore } from '../state/partition-state-store.js';
import { partitionStateKey } from '../state/partition-state.js';
import { PartitionTally, type TallyMessage } from '../tally/partition-tally.js';
import type { OffsetLookup } from './kafka-partition-offsets.js';
import { PartitionOwnership } from './partition-ownership.js';

const T0 = 1_800_000_000_000;
const TOPIC = 'p.predictions';
const logger = createLogger({ service: 'test', level: 'silent' });
const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function kvStore(): FileKvStore {
  const dir = mkdtempSync(join(tmpdir(), 'ownership-'));
  dirs.push(dir);
  return new FileKvStore(dir);
}

/** One partition's log: message timestamps by offset, from `earliest` on (what retention left). */
function offsetsOf(timestamps: number[], earliest = 0): OffsetLookup {
  return {
    earliest: async () => String(earliest),
    atTimestamp: async (_topic, _partition, from) => {
      const index = timestamps.findIndex((at, offset) => offset >= earliest && at >= from);
      return String(index === -1 ? timestamps.length : index);
    },
    existingTopics: async (topics) => [...topics],
  };
}

function ownership(kv: KvStore, offsets: OffsetLookup, writer: string) {
  const writes: string[] = [];
  const owned = new PartitionOwnership({
    store: new PartitionStateStore(kv, 'g', writer, () => T0),
    offsets,
    createTally: (topic, partition, snapshot) => new PartitionTally({ topic, partition, snapshot, windowMs: { trial: 60_000, reward: 60_000 }, maxIds: 1_000, discountFor: () => undefined }),
    logger,
    onWrite: (outcome) => writes.push(outcome),
  });
  owned.assign({ [TOPIC]: [0] });
  return { owned, writes };
}

const trial = (offset: number, id: string): TallyMessage => ({ offset: String(offset), timestampMs: T0 + offset * 1_000, eventTimeMs: T0 + offset * 1_000, evidence: { kind: 'trial', predictionId: id, model: 'm', variant: 'a' } });

test('a partition without state starts at the earliest offset; a new owner resumes from the stored state and re-reads the window first', async () => {
  const kv = kvStore();
  const timestamps = Array.from({ length: 200 }, (_, offset) => T0 + offset * 1_000);
  const first = ownership(kv, offsetsOf(timestamps), 'one');
  const prepared = (await first.owned.prepare(TOPIC, 0))!;
  assert.equal(prepared.seekTo, '0');
  for (let offset = 0; offset < 150; offset += 1) prepared.tally.apply(trial(offset, `p${offset}`));
  assert.deepEqual((await first.owned.flush()).written, [{ topic: TOPIC, partition: 0, offset: '150' }]);
  assert.deepEqual(await first.owned.flush(), { written: [], failure: undefined }, 'nothing new, nothing written');

  const second = ownership(kv, offsetsOf(timestamps), 'two');
  const resumed = (await second.owned.prepare(TOPIC, 0))!;
  assert.equal(resumed.tally.offset, '150');
  // The newest trial is at offset 149 (T0 + 149 s); the window is 60 s: re-read from offset 89.
  assert.equal(resumed.seekTo, '89');
  assert.equal(resumed.tally.apply(trial(120, 'p120')), 'replayed');
  assert.equal(resumed.tally.apply(trial(150, 'p120')), 'duplicate', 'the re-read rebuilt the memory');
  assert.equal(resumed.tally.snapshot().counts.m!.a!.trials, 150);
});

test('of two instances that both think they own a partition, the first to store wins; the other reloads from its state', async () => {
  const kv = kvStore();
  const timestamps = Array.from({ length: 50 }, (_, offset) => T0 + offset * 1_000);
  const one = ownership(kv, offsetsOf(timestamps), 'one');
  const two = ownership(kv, offsetsOf(timestamps), 'two');
  const a = (await one.owned.prepare(TOPIC, 0))!.tally;
  const b = (await two.owned.prepare(TOPIC, 0))!.tally;
  for (let offset = 0; offset < 10; offset += 1) a.apply(trial(offset, `p${offset}`));
  for (let offset = 0; offset < 20; offset += 1) b.apply(trial(offset, `p${offset}`));
  assert.equal((await two.owned.flush()).written.length, 1);
  assert.deepEqual((await one.owned.flush()).written, []);
  assert.deepEqual(one.writes, ['conflict']);
  const reloaded = (await one.owned.prepare(TOPIC, 0))!;
  assert.equal(reloaded.tally.offset, '20');
  assert.equal(reloaded.tally.snapshot().counts.m!.a!.trials, 20);
  // Now `one` writes on top of `two`'s state, and `two` loses its next write.
  reloaded.tally.apply(trial(20, 'p20'));
  b.apply(trial(20, 'p20'));
  assert.equal((await one.owned.flush()).written.length, 1);
  assert.deepEqual((await two.owned.flush()).written, []);
  const stored = JSON.parse((await kv.get(partitionStateKey('g', TOPIC, 0)))!.value) as { writer: string; offset: string };
  assert.equal(stored.writer, 'one');
  assert.equal(stored.offset, '21');
});

test('a partition released by the group is dropped; prepare for it answers nothing', async () => {
  const { owned } = ownership(kvStore(), offsetsOf([T0]), 'one');
  await owned.prepare(TOPIC, 0);
  owned.assign({ [TOPIC]: [1] });
  assert.equal(owned.count(), 1);
  assert.equal(await owned.prepare(TOPIC, 0), undefined);
  assert.equal(owned.tallies().length, 0);
});

test('a stored offset the log no longer holds (retention) resumes at the earliest offset, and the skip is stored', async () => {
  const kv = kvStore();
  const timestamps = Array.from({ length: 100 }, (_, offset) => T0 + offset * 1_000);
  const first = ownership(kv, offsetsOf(timestamps), 'one');
  const tally = (await first.owned.prepare(TOPIC, 0))!.tally;
  tally.apply(trial(4, 'p4'));
  await first.owned.flush();
  const second = ownership(kv, offsetsOf(timestamps, 30), 'two');
  const prepared = (await second.owned.prepare(TOPIC, 0))!;
  assert.equal(prepared.tally.offset, '30');
  assert.equal(prepared.seekTo, '30');
  assert.deepEqual((await second.owned.flush()).written, [{ topic: TOPIC, partition: 0, offset: '30' }]);
});

test('a write whose new index could not be read back is recognised by its value at the next write', async () => {
  const file = kvStore();
  let failGets = 0;
  const flaky: KvStore = {
    description: 'flaky',
    get: async (key) => {
      if (failGets > 0) {
        failGets -= 1;
        throw new Error('consul went away');
      }
      return file.get(key);
    },
    list: (prefix) => file.list(prefix),
    keys: (prefix) => file.keys(prefix),
    compareAndDelete: (key, index) => file.compareAndDelete(key, index),
    compareAndSet: async (key, value, index) => {
      const written = await file.compareAndSet(key, value, index);
      failGets = 1;
      return written;
    },
    waitForChange: (key, index, options) => file.waitForChange(key, index, options),
    waitForPrefixChange: (prefix, index, options) => file.waitForPrefixChange(prefix, index, options),
  };
  const { owned, writes } = ownership(flaky, offsetsOf([T0, T0, T0]), 'one');
  const tally = (await owned.prepare(TOPIC, 0))!.tally;
  tally.apply(trial(0, 'p0'));
  await owned.flush();
  tally.apply(trial(1, 'p1'));
  await owned.flush();
  assert.deepEqual(writes, ['written', 'written']);
  assert.equal(JSON.parse((await file.get(partitionStateKey('g', TOPIC, 0)))!.value).offset, '2');
});
