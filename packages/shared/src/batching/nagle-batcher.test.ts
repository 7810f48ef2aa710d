import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { CallCancellation } from './call-cancellation.js';
import { NagleBatcher, type BatchMember, type NagleBatcherOptions } from './nagle-batcher.js';

interface Item {
  id: string;
  key?: string;
  weight?: number;
}

/** What every batcher of these tests shares: batches of weight 4 per key, an item weighing 1 unless it says, the real clock. */
const COMMON_OPTIONS = {
  maxWeight: 4,
  handOffOnEnd: false,
  batching: () => true,
  weightOf: (item: Item) => item.weight ?? 1,
  keyOf: (item: Item) => item.key ?? 'k',
  now: () => performance.now(),
} satisfies Partial<NagleBatcherOptions<Item, string>>;

/** A batcher whose batches answer each item with its id once the test ends them (or fail, if told to). */
function harness(overrides: Partial<NagleBatcherOptions<Item, string>> = {}) {
  const batches: { ids: string[]; end: (failure?: Error) => void }[] = [];
  const batcher = new NagleBatcher<Item, string>({
    ...COMMON_OPTIONS,
    maxDelayMs: 60_000,
    capacity: () => 1,
    run: (members: BatchMember<Item, string>[]) =>
      new Promise<void>((resolve, reject) => {
        batches.push({
          ids: members.map((member) => member.item.id),
          end: (failure) => {
            if (failure) reject(failure);
            else {
              members.forEach((member) => member.resolve(member.item.id));
              resolve();
            }
          },
        });
      }),
    ...overrides,
  });
  const ids = () => batches.map((batch) => batch.ids);
  /** Ends the running batches, one after the other, until none runs. */
  const endAll = async () => {
    for (let index = 0; index < batches.length; index += 1) {
      batches[index]!.end();
      await sleep(0);
    }
  };
  return { batcher, batches, ids, endAll };
}

test('an idle batcher runs an item at once; items arriving meanwhile go together when it ends', async () => {
  const { batcher, batches, ids } = harness();
  const first = batcher.submit({ id: 'a' });
  assert.deepEqual(ids(), [['a']], 'ran before submit returned');
  const waiting = ['b', 'c'].map((id) => batcher.submit({ id }));
  assert.deepEqual(ids(), [['a']]);
  batches[0]!.end();
  assert.equal(await first, 'a');
  await sleep(0);
  assert.deepEqual(ids(), [['a'], ['b', 'c']]);
  batches[1]!.end();
  assert.deepEqual(await Promise.all(waiting), ['b', 'c']);
});

test('bounds: no batch exceeds maxWeight; a full batch goes at once; an item that would overfill sends its batch and starts the next; a heavy item runs alone', async () => {
  const { batcher, ids, endAll } = harness({ maxWeight: 4 });
  const answers = [
    batcher.submit({ id: 'running' }),
    batcher.submit({ id: 'w2', weight: 2 }),
    batcher.submit({ id: 'w2b', weight: 2 }), // fills the batch: it goes now
    batcher.submit({ id: 'w3', weight: 3 }),
    batcher.submit({ id: 'w2c', weight: 2 }), // 3 + 2 > 4: [w3] goes, w2c waits
    batcher.submit({ id: 'heavy', weight: 9 }), // over the bound: alone, now
  ];
  assert.deepEqual(ids(), [['running'], ['w2', 'w2b'], ['w3'], ['heavy']]);
  await endAll();
  assert.deepEqual(ids(), [['running'], ['w2', 'w2b'], ['w3'], ['heavy'], ['w2c']]);
  assert.deepEqual(await Promise.all(answers), ['running', 'w2', 'w2b', 'w3', 'w2c', 'heavy']);
});

test('a waiting batch goes after maxDelayMs even while another runs', async () => {
  const { batcher, ids } = harness({ maxDelayMs: 5 });
  void batcher.submit({ id: 'running' });
  void batcher.submit({ id: 'late' });
  assert.deepEqual(ids(), [['running']]);
  await sleep(50);
  assert.deepEqual(ids(), [['running'], ['late']]);
});

test('items share a batch only with their key; the oldest waiting batch goes first', async () => {
  const { batcher, batches, ids } = harness();
  void batcher.submit({ id: 'running' });
  for (const [id, key] of [['x1', 'x'], ['y1', 'y'], ['x2', 'x']]) void batcher.submit({ id: id!, key: key! });
  batches[0]!.end();
  await sleep(0);
  assert.deepEqual(ids(), [['running'], ['x1', 'x2']]);
  batches[1]!.end();
  await sleep(0);
  assert.deepEqual(ids(), [['running'], ['x1', 'x2'], ['y1']]);
});

test('capacity: items go at once while fewer batches run; handOffOnEnd decides whether an ending batch frees a place at once', async () => {
  for (const handOffOnEnd of [false, true]) {
    const { batcher, batches, ids } = harness({ capacity: () => 2, handOffOnEnd });
    for (const id of ['a', 'b', 'c', 'd']) void batcher.submit({ id });
    assert.deepEqual(ids(), [['a'], ['b']], 'two run, the rest wait');
    void batcher.submit({ id: 'e', weight: 4 }); // heavy: a third runs, over capacity
    void batcher.submit({ id: 'f' });
    batches[0]!.end();
    await sleep(0);
    // Two still run (b, e): only a hand-off sends the waiting batch now.
    assert.deepEqual(ids().slice(3), handOffOnEnd ? [['c', 'd', 'f']] : [], `handOffOnEnd ${handOffOnEnd}`);
  }
});

test('with batching off every item runs alone at once, and items already waiting go alone', async () => {
  let batching = true;
  const { batcher, ids, endAll } = harness({ batching: () => batching });
  void batcher.submit({ id: 'running' });
  void batcher.submit({ id: 'w1' });
  void batcher.submit({ id: 'w2' });
  batching = false;
  void batcher.submit({ id: 'now' });
  assert.deepEqual(ids(), [['running'], ['now']]);
  await endAll();
  assert.deepEqual(ids(), [['running'], ['now'], ['w1'], ['w2']]);
});

test('drain sends every waiting batch now and resolves once none runs', async () => {
  const { batcher, batches, ids } = harness({ maxDelayMs: 60_000 });
  const answers = ['running', 'w1', 'w2'].map((id) => batcher.submit({ id }));
  void batcher.submit({ id: 'other', key: 'o' });
  let drained = false;
  const drain = batcher.drain().then(() => (drained = true));
  assert.deepEqual(ids(), [['running'], ['w1', 'w2'], ['other']], 'sent without waiting for the delay');
  for (const batch of batches.slice(0, 2)) batch.end();
  await sleep(0);
  assert.equal(drained, false, 'one batch still runs');
  batches[2]!.end();
  await drain;
  assert.deepEqual(await Promise.all(answers), ['running', 'w1', 'w2']);
  await batcher.drain(); // idle: at once
});

test('an item cancelled while waiting leaves its batch, is rejected with the reason and never runs; an already cancelled one is refused', async () => {
  const { batcher, batches, ids } = harness();
  void batcher.submit({ id: 'running' });
  const cancellation = new CallCancellation();
  const kept = batcher.submit({ id: 'kept' });
  const cancelled = batcher.submit({ id: 'gone' }, cancellation);
  const reason = new Error('client went away');
  cancellation.cancel(reason);
  await assert.rejects(cancelled, (error) => error === reason);
  batches[0]!.end();
  await sleep(0);
  assert.deepEqual(ids(), [['running'], ['kept']]);
  batches[1]!.end();
  assert.equal(await kept, 'kept');
  await assert.rejects(batcher.submit({ id: 'late' }, cancellation), (error) => error === reason);
  assert.equal(batches.length, 2);
  // A lone waiting item cancelled leaves no batch behind: the next item runs at once.
  const solo = harness();
  void solo.batcher.submit({ id: 'running' });
  const alone = new CallCancellation();
  const lone = solo.batcher.submit({ id: 'lone' }, alone);
  alone.cancel(reason);
  await assert.rejects(lone);
  solo.batches[0]!.end();
  await sleep(0);
  void solo.batcher.submit({ id: 'next' });
  assert.deepEqual(solo.ids(), [['running'], ['next']]);
});

test('a batch that fails rejects exactly its own unsettled items, whatever the interleaving', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.record({ key: fc.constantFrom('x', 'y'), weight: fc.integer({ min: 1, max: 5 }) }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 19 }), async (plan, failing) => {
      const settled: Promise<PromiseSettledResult<string>>[] = [];
      const batchOf = new Map<string, number>();
      let runs = 0;
      const batcher = new NagleBatcher<Item, string>({
        ...COMMON_OPTIONS,
        maxDelayMs: 1,
        capacity: () => 2,
        run: async (members) => {
          const index = runs++;
          for (const member of members) batchOf.set(member.item.id, index);
          await sleep(0);
          if (index === failing) {
            // Settles one member first: a failure reaches only those still waiting.
            members[0]!.resolve(members[0]!.item.id);
            throw new Error(`batch ${index} failed`);
          }
          for (const member of members) member.resolve(member.item.id);
        },
      });
      plan.forEach((item, index) => settled.push(Promise.allSettled([batcher.submit({ id: `i${index}`, ...item })]).then(([result]) => result!)));
      const results = await Promise.all(settled);
      results.forEach((result, index) => {
        const id = `i${index}`;
        const inFailing = batchOf.get(id) === failing;
        const firstOfFailing = inFailing && [...batchOf.entries()].find(([, batch]) => batch === failing)![0] === id;
        if (inFailing && !firstOfFailing) assert.equal(result.status === 'rejected' && (result.reason as Error).message, `batch ${failing} failed`, id);
        else assert.deepEqual(result, { status: 'fulfilled', value: id }, id);
      });
    }),
    { numRuns: 50 },
  );
});
