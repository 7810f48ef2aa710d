import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { validateEvent } from '@infermesh/shared';
import { killAtExit } from '../infra/managed-process.js';
import { testKafka } from '../infra/test-infra.js';
import { eventually } from '../support/load-generator.js';
import { consumeUntil, distinctPredictions, kafkaPublisher, temporaryDir } from '../support/events-support.js';

const CHILD = fileURLToPath(new URL('../support/events-publisher-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Resolved publishes the child reports before it is killed. */
const KILL_AFTER = 3_000;
/** Milliseconds for the replay to reach Kafka and be read back. */
const DELIVERY_TIMEOUT_MS = 120_000;

test('a publisher SIGKILLed under load loses nothing: a new one on its spool delivers every event whose publish() had resolved', async (t) => {
  const { brokers, topic } = await testKafka();
  const prefix = `${topic('sigkill')}.`;
  const dir = join(temporaryDir('events-sigkill-'), 'spool');

  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', CHILD, brokers.join(','), prefix, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const forget = killAtExit(child);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const resolved: string[] = [];
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (!UUID.test(line)) return;
    resolved.push(line);
    if (resolved.length === KILL_AFTER) child.kill('SIGKILL');
  });
  const closed = new Promise<void>((resolve) => lines.on('close', () => resolve()));
  await exited;
  await closed;
  forget();
  assert.ok(resolved.length >= KILL_AFTER, `the child reported ${resolved.length} resolved publishes before it died`);

  // The dead child's lock is taken over; its unacknowledged events are replayed with their ids.
  const { publisher } = kafkaPublisher(brokers, prefix, { dir });
  await publisher.start();
  after(() => publisher.stop());
  const replayed = publisher.queued;
  await eventually('the replay acknowledged', () => publisher.queued === 0, DELIVERY_TIMEOUT_MS);

  const missing = new Set(resolved);
  let checked = 0;
  const consumed = await consumeUntil(brokers, [`${prefix}predictions`], (events) => {
    for (; checked < events.length; checked += 1) missing.delete((events[checked]?.envelope.data as { predictionId: string }).predictionId);
    return missing.size === 0;
  }, DELIVERY_TIMEOUT_MS).catch(async (error: Error) => {
    throw new Error(`${error.message}; ${resolved.length} resolved, ${replayed} replayed`);
  });
  const received = distinctPredictions(consumed);
  assert.deepEqual(resolved.filter((id) => !received.has(id)), [], 'every resolved publish reached Kafka');
  for (const { envelope } of consumed) assert.deepEqual(validateEvent(envelope), []);
  t.diagnostic(`${resolved.length} publishes resolved before SIGKILL; ${replayed} events replayed from the spool; ${received.size} distinct events in Kafka (some were spooled but not yet reported)`);
});
