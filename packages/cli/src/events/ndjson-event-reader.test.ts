import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger, EVENT_FILE_NAMING, NdjsonEventPublisher, type EventEnvelope, type EventInput } from '@infermesh/shared';
import { Registry } from 'prom-client';
import { NdjsonEventReader, type PositionedEvent } from './ndjson-event-reader.js';

/** A fresh directory, removed when the file's tests are done. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'events-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function reloaded(index: number): EventInput {
  return {
    type: 'infermesh.model.reloaded',
    subject: 'churn',
    data: { model: 'churn', deployment: 'prod', fromVersion: `v${index}`, toVersion: `v${index + 1}`, worker: '127.0.0.1:8001', timingsMs: { fetch: 1, verify: 2, load: 3, warmup: 4 } },
  };
}

const versionOf = (event: { envelope: EventEnvelope }) => (event.envelope.data as { toVersion: string }).toVersion;

function publisher(dir: string, options: { maxFileBytes?: number; maxFiles?: number } = {}) {
  return new NdjsonEventPublisher({ dir, source: 'urn:infermesh:worker:test:0', logger: createLogger({ service: 'test', level: 'silent' }), registry: new Registry(), ...options });
}

async function readAll(reader: NdjsonEventReader, from = { file: 0, offset: 0 }): Promise<PositionedEvent[]> {
  const all: PositionedEvent[] = [];
  let position = from;
  for (;;) {
    const { events, position: next } = await reader.read(position);
    if (events.length === 0) return all;
    all.push(...events);
    position = next;
  }
}

test('a reader resumes from any position, across files, and follows new events and new files', async () => {
  const dir = tempDir();
  const events = publisher(dir, { maxFileBytes: 1_000 });
  await events.start();
  for (let index = 0; index < 20; index += 1) await events.publish(reloaded(index));
  const reader = new NdjsonEventReader({ dir, pollMs: 5 });

  const all = await readAll(reader, await reader.beginning());
  assert.deepEqual(all.map(versionOf), Array.from({ length: 20 }, (_, index) => `v${index + 1}`));
  assert.ok(new Set(all.map((event) => event.position.file)).size > 1, 'the events span several files');
  // Resuming from the position after event 7 yields events 8..20.
  const resumed = await readAll(reader, all[6]!.position);
  assert.deepEqual(resumed.map(versionOf), all.slice(7).map(versionOf));

  const end = await reader.end();
  const followed: string[] = [];
  const abort = new AbortController();
  const following = reader.follow(end, (event) => void followed.push(versionOf(event)), abort.signal);
  for (let index = 20; index < 40; index += 1) await events.publish(reloaded(index));
  const deadline = Date.now() + 10_000;
  while (followed.length < 20 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  abort.abort();
  await following;
  assert.deepEqual(followed, Array.from({ length: 20 }, (_, index) => `v${index + 21}`), 'only the new events, across the rotation');
  await events.stop();
});

test('a restarted publisher starts a new file, and readers skip the torn line a killed one left', async () => {
  const dir = tempDir();
  const first = publisher(dir);
  await first.start();
  await first.publish(reloaded(1));
  await first.stop();
  const [firstFile] = readdirSync(dir).filter((name) => EVENT_FILE_NAMING.sequenceOf(name) !== undefined);
  appendFileSync(join(dir, firstFile!), '{"specversion":"1.0","id":"torn');
  const second = publisher(dir);
  await second.start();
  await second.publish(reloaded(2));
  await second.stop();
  const warnings: string[] = [];
  const logger = createLogger({ service: 'test', level: 'warn', destination: { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) } });
  const events = await readAll(new NdjsonEventReader({ dir, logger }));
  assert.deepEqual(events.map(versionOf), ['v2', 'v3']);
  assert.ok(warnings.some((message) => /torn last line/.test(message)));
});
