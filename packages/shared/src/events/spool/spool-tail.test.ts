import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpoolTail, type WrittenEvent } from './spool-tail.js';

/** An event whose line is `bytes` long, named by `name`. */
function written(name: string, bytes = 10): WrittenEvent {
  return { event: { json: name, type: 'infermesh.prediction.served', partitionKey: name, timeMs: 0 }, bytes };
}

const names = (batch: { events: { json: string }[] } | undefined) => batch?.events.map((event) => event.json);

test('the tail hands over events at the offset asked for, in order, within the event and byte limits', () => {
  const tail = new SpoolTail(1_000);
  // Segment 1 already held 100 bytes written before the tail existed (a replayed segment).
  tail.committed(1, 130, [written('a'), written('b'), written('c')]);
  tail.committed(1, 150, [written('d'), written('e')]);
  assert.equal(tail.peek(1, 0, 10, 1_000), undefined, 'bytes before the tail are read from the file');
  assert.deepEqual(names(tail.peek(1, 100, 10, 1_000)), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(tail.peek(1, 100, 10, 1_000)?.end, 150);
  assert.deepEqual(names(tail.peek(1, 100, 2, 1_000)), ['a', 'b'], 'at most maxEvents');
  assert.deepEqual(names(tail.peek(1, 100, 10, 25)), ['a', 'b'], 'at most maxBytes of lines');
  assert.deepEqual(names(tail.peek(1, 100, 10, 1)), ['a'], 'one event even when it alone exceeds maxBytes');
  assert.equal(tail.peek(1, 105, 10, 1_000), undefined, 'an offset inside a line is not an event start');
});

test('peeking past acknowledged events forgets them; a batch never crosses into the next segment', () => {
  const tail = new SpoolTail(1_000);
  tail.committed(1, 20, [written('a'), written('b')]);
  tail.committed(2, 10, [written('c')]);
  assert.deepEqual(names(tail.peek(1, 10, 10, 1_000)), ['b']);
  assert.deepEqual(names(tail.peek(1, 0, 10, 1_000)), undefined, '"a" was acknowledged (the sender moved past it) and is gone');
  assert.deepEqual(names(tail.peek(2, 0, 10, 1_000)), ['c']);
  assert.equal(tail.peek(1, 10, 10, 1_000), undefined, 'segment 1 is done once the sender reads segment 2');
});

test('past its byte bound the tail forgets its oldest events, which are then read from the files', () => {
  const tail = new SpoolTail(30);
  tail.committed(1, 50, ['a', 'b', 'c', 'd', 'e'].map((name) => written(name)));
  assert.equal(tail.peek(1, 0, 10, 1_000), undefined);
  assert.deepEqual(names(tail.peek(1, 20, 10, 1_000)), ['c', 'd', 'e']);
  // Thousands of events through a small tail: memory follows the bound, the newest stay.
  for (let index = 0; index < 5_000; index += 1) tail.committed(1, 60 + index * 10, [written(`n${index}`)]);
  assert.deepEqual(names(tail.peek(1, 50 + 4_997 * 10, 10, 1_000)), ['n4997', 'n4998', 'n4999']);
  assert.ok((tail as unknown as { entries: unknown[] }).entries.length < 2_100, 'forgotten entries are released');
});

test('a tail of 0 bytes holds nothing', () => {
  const tail = new SpoolTail(0);
  tail.committed(1, 10, [written('a')]);
  assert.equal(tail.peek(1, 0, 10, 1_000), undefined);
});
