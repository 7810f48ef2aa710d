import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { InfermeshError } from '../errors/infermesh-error.js';
import { KvDocumentWatch } from './kv-document-watch.js';
import type { KvEntry, KvPrefixChange, KvStore } from './kv-store.js';

/** A store that answers each blocking listing with the next scripted one, then blocks until aborted. */
function scriptedStore(listings: KvEntry[][]): KvStore {
  let next = 0;
  const unused = () => Promise.reject(new Error('not used by the watch'));
  return {
    description: 'scripted listings',
    get: unused,
    list: unused,
    keys: unused,
    compareAndDelete: unused,
    compareAndSet: unused,
    waitForChange: unused,
    waitForPrefixChange: (_prefix, _index, options): Promise<KvPrefixChange> => {
      const listing = listings[next];
      if (listing !== undefined) {
        next += 1;
        return Promise.resolve({ entries: listing, index: next });
      }
      return new Promise((_, reject) => options.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    },
  };
}

const entry = (key: string, value: string, index: number): KvEntry => ({ key, value, index });

test('a document watch hands on each new valid document once, refuses each invalid value once, and reports what each listing held', async () => {
  const listings = [
    [entry('stats/a', '{"n":1}', 10), entry('stats/b', 'not json', 11), entry('stats/a/deeper', '{"n":9}', 12), entry('stats/Bad Name', '{"n":3}', 13)],
    // Unchanged values are not parsed again; a fixed b is accepted.
    [entry('stats/a', '{"n":1}', 10), entry('stats/b', '{"n":2}', 14)],
    // b broken again (a new write), a deleted.
    [entry('stats/b', '{"n":', 15)],
    [entry('stats/b', '{"n":', 15)],
  ];
  const parsed: string[] = [];
  const documents: [string, unknown, number][] = [];
  const refused: [string, string][] = [];
  const listed: string[][] = [];
  const watch = new KvDocumentWatch<{ n: number }>({
    what: 'test documents',
    kv: scriptedStore(listings),
    prefix: 'stats/',
    accepts: (name) => /^[a-z]+$/.test(name),
    parse: (name, value) => {
      parsed.push(name);
      try {
        return JSON.parse(value) as { n: number };
      } catch {
        throw new InfermeshError('INVALID_ARGUMENT', `${name} is not JSON`);
      }
    },
    onDocument: (name, document, kvEntry) => documents.push([name, document, kvEntry.index]),
    onRefused: (name, error) => refused.push([name, `${error.code}: ${error.message}`]),
    onListed: (names) => listed.push([...names].sort()),
    logger: pino({ level: 'silent' }),
    random: () => 0.5,
    sleep: () => Promise.resolve(),
  });
  watch.start();
  await watch.ready;
  for (let waited = 0; listed.length < listings.length && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  await watch.stop();

  assert.deepEqual(documents, [
    ['a', { n: 1 }, 10],
    ['b', { n: 2 }, 14],
  ]);
  assert.deepEqual(refused, [
    ['b', 'INVALID_ARGUMENT: b is not JSON'],
    ['b', 'INVALID_ARGUMENT: b is not JSON'],
  ]);
  assert.deepEqual(parsed, ['a', 'b', 'b', 'b'], 'a value is parsed once, however often it is listed');
  assert.deepEqual(listed, [['a', 'b'], ['a', 'b'], ['b'], ['b']], 'deeper keys and refused names are not documents');
});
