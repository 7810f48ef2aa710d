import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { EventInput } from '../contract/event-envelope.js';
import { NdjsonEventPublisher } from './ndjson-event-publisher.js';
import { EVENT_FILE_NAMING } from '../segments/segment-files.js';
import { validateEvent } from '../contract/validate-event.js';

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

function publisher(dir: string, options: { maxFileBytes?: number; maxFiles?: number } = {}) {
  return new NdjsonEventPublisher({ dir, source: 'urn:infermesh:worker:test:0', logger: pino({ level: 'silent' }), registry: new Registry(), ...options });
}

test('files rotate at their size limit, only the newest are kept, and every line is a valid envelope', async () => {
  const dir = tempDir();
  const events = publisher(dir, { maxFileBytes: 2_000, maxFiles: 3 });
  await events.start();
  for (let index = 0; index < 100; index += 1) await events.publish(reloaded(index));
  await events.stop();
  const files = readdirSync(dir).filter((name) => EVENT_FILE_NAMING.sequenceOf(name) !== undefined).sort();
  assert.equal(files.length, 3);
  assert.match(files[0] ?? '', /^events-\d{20}\.ndjson$/);
  const lines = files.flatMap((name) => readFileSync(join(dir, name), 'utf8').trimEnd().split('\n'));
  for (const line of lines) assert.deepEqual(validateEvent(JSON.parse(line)), []);
  // The kept files hold the newest events, in order, up to the last one.
  const versions = lines.map((line) => (JSON.parse(line) as { data: { toVersion: string } }).data.toVersion);
  assert.equal(versions.at(-1), 'v100');
  assert.deepEqual(versions, versions.map((_, index) => `v${100 - versions.length + index + 1}`));
});

test('a second writer on the same directory is refused', async () => {
  const dir = tempDir();
  const first = publisher(dir);
  await first.start();
  await assert.rejects(publisher(dir).start(), (error: { code?: string }) => error.code === 'INVALID_CONFIG');
  await first.stop();
});
