import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Consul from 'consul';
import { startConsul } from '../infra/consul-agent.js';
import { testConsul } from '../infra/test-infra.js';

/** Seconds a blocking query may wait; far above how long the wake-up should take. */
const BLOCKING_WAIT = '30s';

/** Milliseconds within which a write must wake the blocking query (well under BLOCKING_WAIT). */
const WAKE_UP_LIMIT_MS = 10_000;

/** Milliseconds the blocking query is given to (wrongly) return before the write. */
const STILL_BLOCKED_AFTER_MS = 500;

function clientFor(httpAddr: string): Consul {
  const url = new URL(httpAddr);
  return new Consul({ host: url.hostname, port: Number(url.port) });
}

test('a KV blocking query wakes up when another client writes the key', async (t) => {
  const { httpAddr, prefix } = await testConsul();
  const reader = clientFor(httpAddr);
  const writer = clientFor(httpAddr);
  t.after(() => {
    reader.destroy();
    writer.destroy();
  });
  const key = `${prefix}model/version`;

  assert.equal(await writer.kv.set(key, 'v1'), true);
  const first = await reader.kv.get(key);
  assert.ok(first, 'the key was just written');
  assert.equal(first.Value, 'v1');

  // A variable, not a literal: the client's types omit index/wait although it sends them.
  const blockingQuery = { key, index: String(first.ModifyIndex), wait: BLOCKING_WAIT };
  const startedAt = Date.now();
  const pending = reader.kv.get(blockingQuery);
  const early = await Promise.race([pending.then(() => 'returned'), sleep(STILL_BLOCKED_AFTER_MS, 'blocked')]);
  assert.equal(early, 'blocked', 'the query must block until the key changes');

  assert.equal(await writer.kv.set(key, 'v2'), true);
  const woke = await pending;
  const waitedMs = Date.now() - startedAt;

  assert.ok(woke, 'the blocking query returns the key');
  assert.equal(woke.Value, 'v2');
  assert.ok(woke.ModifyIndex > first.ModifyIndex, 'the new value has a newer index');
  assert.ok(waitedMs < WAKE_UP_LIMIT_MS, `woken by the write, not the ${BLOCKING_WAIT} wait (took ${waitedMs} ms)`);
});

test('a Consul agent keeps its KV across stop() and start()', async (t) => {
  // A dedicated agent: restarting the shared one would disturb other tests.
  const agent = await startConsul();
  t.after(() => agent.stop());
  const before = clientFor(agent.httpAddr);
  assert.equal(await before.kv.set('restart/check', 'survives'), true);
  before.destroy();

  await agent.stop();
  await assert.rejects(fetch(`${agent.httpAddr}/v1/status/leader`), 'the agent is really down');

  await agent.start();
  const after = clientFor(agent.httpAddr);
  t.after(() => after.destroy());
  const item = await after.kv.get('restart/check');
  assert.equal(item?.Value, 'survives');
  assert.equal(agent.httpAddr, `http://127.0.0.1:${agent.port}`, 'same address after the restart');
});
