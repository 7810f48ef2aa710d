import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import { after, test } from 'node:test';
import type Consul from 'consul';
import { createLogger } from '@infermesh/shared';
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS } from '@infermesh/shared';
import { ConsulEndpointSource } from './consul-endpoint-source.js';
import type { WorkerEndpoint } from './worker-endpoint.js';

interface Entry {
  Node: { Address: string };
  Service: { ID: string; Address: string; Port: number; Meta: Record<string, string> };
}

interface Query {
  service: string;
  passing: boolean;
  index: number;
  wait: string;
  ctx: EventEmitter;
}

/**
 * `consul.health.service` as a blocking query behaves: answers at once when the caller's index
 * is behind, otherwise waits for a change (or the caller's cancel). `failures` makes the next
 * queries fail as an unreachable agent would.
 */
class FakeCatalog {
  readonly queries: Query[] = [];
  failures = 0;
  index = 10;
  entries: Entry[] = [];
  private readonly waiting: (() => void)[] = [];

  readonly health = {
    service: async (query: Query) => {
      this.queries.push(query);
      if (this.failures > 0) {
        this.failures -= 1;
        throw new Error('connect ECONNREFUSED 127.0.0.1:8500');
      }
      if (query.index >= this.index) {
        await new Promise<void>((resolve, reject) => {
          this.waiting.push(resolve);
          query.ctx.once('cancel', () => reject(new Error('request cancelled')));
        });
      }
      return [{ headers: { 'x-consul-index': String(this.index) } }, this.entries];
    },
  };

  /** Replaces the catalog and wakes blocked queries; `index` may go backwards (a Consul reset). */
  change(entries: Entry[], index = this.index + 1): void {
    this.entries = entries;
    this.index = index;
    for (const wake of this.waiting.splice(0)) wake();
  }
}

function entry(id: string, port: number, meta: Record<string, string>, serviceAddress = '127.0.0.1'): Entry {
  return { Node: { Address: '10.0.0.9' }, Service: { ID: id, Address: serviceAddress, Port: port, Meta: meta } };
}

const churn = { model: 'churn', deployment: 'prod', version: 'v1' };

function setup(filter: { model: string; deployment?: string } = { model: 'churn', deployment: 'prod' }) {
  const catalog = new FakeCatalog();
  const sleeps: number[] = [];
  const lines: string[] = [];
  const source = new ConsulEndpointSource(catalog as unknown as Consul, filter, {
    logger: createLogger({ service: 'test', level: 'info', destination: { write: (line: string) => void lines.push(line) } }),
    random: () => 0.5,
    sleep: async (ms) => void sleeps.push(ms),
    waitMs: 1_000,
  });
  const changes: (readonly WorkerEndpoint[])[] = [];
  source.onChange((endpoints) => changes.push(endpoints));
  after(() => source.stop());
  return { catalog, source, sleeps, lines, changes };
}

const until = async (what: string, predicate: () => boolean) => {
  for (let attempt = 0; attempt < 400; attempt += 1) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
};

test('lists passing instances of the model and deployment, and follows changes with blocking queries', async () => {
  const { catalog, source, changes } = setup();
  catalog.change([
    entry('w-2', 9002, churn),
    entry('w-1', 9001, churn, ''),
    entry('other-model', 9003, { ...churn, model: 'fraud' }),
    entry('other-deployment', 9004, { ...churn, deployment: 'canary' }),
  ]);
  source.start();
  await source.ready;
  assert.deepEqual(source.endpoints(), [
    { id: 'w-1', address: '10.0.0.9:9001', meta: churn },
    { id: 'w-2', address: '127.0.0.1:9002', meta: churn },
  ]);
  const first = catalog.queries[0]!;
  assert.deepEqual([first.service, first.passing, first.index, first.wait], ['infermesh-worker', true, 0, '1s']);

  catalog.change([entry('w-2', 9002, churn)]);
  await until('the departure', () => source.endpoints().length === 1);
  assert.equal(catalog.queries.at(-1)!.index, 12, 'each query blocks from the last X-Consul-Index');
  // A change elsewhere in the service (another model) does not disturb listeners.
  catalog.change([entry('w-2', 9002, churn), entry('other-model', 9003, { ...churn, model: 'fraud' })]);
  await until('the next query', () => catalog.queries.at(-1)!.index === 13);
  assert.equal(changes.length, 2);
});

test('without a deployment filter every deployment of the model is listed', async () => {
  const { catalog, source } = setup({ model: 'churn' });
  catalog.change([entry('a', 1, churn), entry('b', 2, { ...churn, deployment: 'canary' }), entry('c', 3, { ...churn, model: 'x' })]);
  source.start();
  await source.ready;
  assert.deepEqual(source.endpoints().map((endpoint) => endpoint.id), ['a', 'b']);
});

test('Consul unreachable: the last list stays, full-jitter backoff grows to its cap, the watch resumes from the last index', async () => {
  const { catalog, source, sleeps, lines, changes } = setup();
  catalog.change([entry('w-1', 9001, churn)]);
  source.start();
  await source.ready;
  await until('a blocked query', () => catalog.queries.length === 2);
  catalog.failures = 8;
  // Wake the blocked query with an unrelated change: the next 8 queries fail.
  catalog.change([entry('w-1', 9001, churn)]);
  await until('the outage to pass and the watch to block again', () => catalog.failures === 0 && catalog.queries.length === 11);
  assert.deepEqual(source.endpoints().map((endpoint) => endpoint.id), ['w-1'], 'the last known list stays in use');
  const expected = Array.from({ length: 8 }, (_, attempt) => 0.5 * Math.min(DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_BASE_MS * 2 ** (attempt + 1)));
  assert.deepEqual(sleeps, expected);
  const during = catalog.queries.slice(2).map((query) => query.index);
  assert.deepEqual(during, Array(9).fill(12), 'every retry asks from the last index');
  catalog.change([entry('w-1', 9001, churn), entry('w-2', 9002, churn)]);
  await until('the change after the outage', () => source.endpoints().length === 2);
  assert.equal(changes.length, 2);
  const warnings = lines.filter((line) => line.includes('"level":"warn"'));
  assert.equal(warnings.length, 8);
  assert.match(warnings[0]!, /Consul catalog of infermesh-worker.*watch failed; keeping the last known state, retrying/);
  assert.ok(lines.some((line) => line.includes('reachable again; resuming from the last index')));
});

test('ready waits for the first successful listing, through failures', async () => {
  const { catalog, source, sleeps } = setup();
  catalog.change([entry('w-1', 9001, churn)]);
  catalog.failures = 3;
  source.start();
  await source.ready;
  assert.equal(sleeps.length, 3, 'ready waits for the first successful listing');
  assert.equal(source.endpoints().length, 1);
});

test('an index that goes backwards (Consul state reset) restarts the watch from 0', async () => {
  const { catalog, source } = setup();
  catalog.change([entry('w-1', 9001, churn)], 50);
  source.start();
  await source.ready;
  await until('a blocked query', () => catalog.queries.length === 2);
  catalog.change([entry('w-1', 9001, churn)], 7);
  await until('a query from 0', () => catalog.queries.some((query, position) => position > 1 && query.index === 0));
});

test('stop cancels the blocking query in flight', async () => {
  const { catalog, source } = setup();
  source.start();
  await source.ready;
  await until('a blocked query', () => catalog.queries.length === 2);
  await source.stop();
  assert.equal(catalog.queries.length, 2);
});
