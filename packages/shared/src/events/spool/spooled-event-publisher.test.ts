import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { LOCK_FILE_NAME } from '../segments/directory-lock.js';
import { createEnvelope, type EventEnvelope, type EventInput } from '../contract/event-envelope.js';
import type { SpooledEvent } from '../contract/spooled-event.js';
import type { EventSink } from '../publisher/event-publisher.js';
import { SPOOL_SEGMENT_NAMING } from '../segments/segment-files.js';
import { SpooledEventPublisher, type SpooledEventPublisherOptions } from './spooled-event-publisher.js';
import { validateEvent } from '../contract/validate-event.js';

const SOURCE = 'urn:infermesh:gateway:test:0';

/** Resolves when `predicate` holds, polling; fails after `timeoutMs`. */
async function eventually(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A sink whose behaviour a test switches: acknowledge, fail, or never answer. */
class ScriptedSink implements EventSink {
  readonly description = 'scripted sink';
  readonly delivered: EventEnvelope[] = [];
  sends = 0;
  constructor(public behaviour: (send: number) => 'ack' | 'fail' | 'hang' = () => 'ack') {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  send(events: readonly SpooledEvent[]): Promise<void> {
    this.sends += 1;
    const what = this.behaviour(this.sends);
    if (what === 'hang') return new Promise(() => undefined);
    if (what === 'fail') return Promise.reject(new Error('sink unavailable'));
    this.delivered.push(...events.map((event) => JSON.parse(event.json) as EventEnvelope));
    return Promise.resolve();
  }
}

function capturingLogger(): { logger: Logger; lines: { level: string; msg: string; [key: string]: unknown }[] } {
  const lines: { level: string; msg: string }[] = [];
  const logger = pino({ level: 'debug', formatters: { level: (label) => ({ level: label }) } }, { write: (line: string) => lines.push(JSON.parse(line) as { level: string; msg: string }) });
  return { logger, lines };
}

function served(index: number): EventInput {
  return {
    type: 'infermesh.prediction.served',
    subject: `user-${index % 7}`,
    data: {
      predictionId: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      requestId: `req-${index}`,
      model: 'churn',
      experiment: null,
      variant: 'default',
      version: 'v1',
      propensity: 1,
      sticky: false,
      latencyMs: 1.5,
      default: false,
      defaultReason: null,
      defaultedFeatures: [],
    },
  };
}

function publisher(dir: string, sink: EventSink, overrides: Partial<SpooledEventPublisherOptions> = {}) {
  let nextId = 0;
  const registry = new Registry();
  const instance = new SpooledEventPublisher({
    dir,
    sink,
    source: SOURCE,
    logger: pino({ level: 'silent' }),
    registry,
    randomId: () => `id-${(nextId += 1)}`,
    random: () => 0.5,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    batchMaxEvents: 10,
    stopGraceMs: 0,
    ...overrides,
  });
  return { publisher: instance, registry };
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.filter((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label)).reduce((sum, value) => sum + value.value, 0);
}

function spoolDir(): string {
  const parent = mkdtempSync(join(tmpdir(), 'spool-'));
  after(() => rmSync(parent, { recursive: true, force: true }));
  return join(parent, 'spool');
}
const segmentFiles = (dir: string) => readdirSync(dir).filter((name) => SPOOL_SEGMENT_NAMING.sequenceOf(name) !== undefined);

test('events reach the sink in order, valid, and acknowledged segments are deleted', async () => {
  const dir = spoolDir();
  const sink = new ScriptedSink();
  const { publisher: events, registry } = publisher(dir, sink, { segmentBytes: 2_048, segmentMaxAgeMs: 20 });
  await events.start();
  await Promise.all(Array.from({ length: 200 }, (_, index) => events.publish(served(index))));
  await eventually('all 200 delivered', () => sink.delivered.length === 200);
  assert.deepEqual(
    sink.delivered.map((envelope) => (envelope.data as { requestId: string }).requestId),
    Array.from({ length: 200 }, (_, index) => `req-${index}`),
  );
  for (const envelope of sink.delivered) assert.deepEqual(validateEvent(envelope), []);
  // Segments roll at 2 KiB and, once idle, after 20 ms; every acknowledged one is deleted.
  await eventually('every segment deleted', () => segmentFiles(dir).length === 0);
  // The sink has the events before the publisher has recorded their acknowledgement: wait for the books too.
  await eventually('200 counted as published', async () => (await metric(registry, 'infermesh_events_published_total', { type: 'infermesh.prediction.served' })) === 200);
  assert.equal(await metric(registry, 'infermesh_events_queued'), 0);
  assert.equal(await metric(registry, 'infermesh_events_spool_bytes'), 0);
  await events.stop();
});

/** A sink that holds its first send until released, then acknowledges everything. */
class GatedSink extends ScriptedSink {
  release: () => void = () => undefined;
  held = false;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));
  override send(events: readonly SpooledEvent[]): Promise<void> {
    if (this.held) return super.send(events);
    this.held = true;
    return this.gate.then(() => super.send(events));
  }
}

/** Publishes 10 events, overwrites the last 9 on disk while the first is in flight, and returns what the sink got. */
async function deliveredAfterOverwrite(tailBytes: number): Promise<{ delivered: EventEnvelope[]; corrupt: number }> {
  const dir = spoolDir();
  const sink = new GatedSink();
  const { publisher: events, registry } = publisher(dir, sink, { tailBytes, lingerMs: 0 });
  await events.start();
  await events.publish(served(0));
  await eventually('the first send', () => sink.held);
  await Promise.all(Array.from({ length: 9 }, (_, index) => events.publish(served(index + 1))));
  const [segment] = segmentFiles(dir);
  const file = join(dir, segment!);
  const text = readFileSync(file, 'utf8');
  const firstLineEnd = text.indexOf('\n') + 1;
  writeFileSync(file, text.slice(0, firstLineEnd) + text.slice(firstLineEnd).replace(/[^\n]/g, 'x'));
  sink.release();
  await eventually('nothing queued', async () => (await metric(registry, 'infermesh_events_queued')) === 0);
  await events.stop();
  return { delivered: sink.delivered, corrupt: await metric(registry, 'infermesh_events_dropped_total', { reason: 'corrupt' }) };
}

test('a sender that keeps up sends the events it just wrote from memory, the same bytes as the spool lines, without reading them back', async () => {
  const fromMemory = await deliveredAfterOverwrite(64 * 1024);
  assert.deepEqual(
    fromMemory.delivered.map((envelope) => (envelope.data as { requestId: string }).requestId),
    Array.from({ length: 10 }, (_, index) => `req-${index}`),
  );
  for (const envelope of fromMemory.delivered) assert.deepEqual(validateEvent(envelope), []);
  assert.equal(fromMemory.corrupt, 0);
  // Without the in-memory tail the same events are read back from the (overwritten) file.
  const fromDisk = await deliveredAfterOverwrite(0);
  assert.equal(fromDisk.delivered.length, 1);
  assert.equal(fromDisk.corrupt, 9);
});

test('a restart resends exactly the unacknowledged events, with their ids', async () => {
  const dir = spoolDir();
  // Two batches are acknowledged, the third never is.
  const first = new ScriptedSink((send) => (send <= 2 ? 'ack' : 'hang'));
  const before = publisher(dir, first);
  await before.publisher.start();
  const published = await Promise.all(Array.from({ length: 50 }, (_, index) => before.publisher.publish(served(index))));
  assert.equal(published.length, 50);
  await eventually('the third send', () => first.sends >= 3);
  await before.publisher.stop();
  const acked = new Set(first.delivered.map((envelope) => envelope.id));
  assert.ok(acked.size > 0 && acked.size < 50);

  const second = new ScriptedSink();
  const after = publisher(dir, second);
  await after.publisher.start();
  await eventually('the rest delivered', () => second.delivered.length >= 50 - acked.size);
  await after.publisher.stop();
  const resent = second.delivered.map((envelope) => envelope.id);
  assert.deepEqual(
    [...resent].sort(),
    Array.from({ length: 50 }, (_, index) => `id-${index + 1}`)
      .filter((id) => !acked.has(id))
      .sort(),
    'the ack file made the restart skip what was acknowledged, and ids were kept',
  );
});

test('a torn last line (killed mid-write) and a line that is not an event are skipped with warnings; the events are sent', async () => {
  const dir = spoolDir();
  mkdirSync(dir, { recursive: true });
  const lines = [1, 2].map((index) => JSON.stringify(createEnvelope(served(index), { source: SOURCE, id: `old-${index}`, timeMs: 0 })));
  // Two events, a line that is not an event between them, and half a line at the end.
  writeFileSync(join(dir, SPOOL_SEGMENT_NAMING.fileName(3)), `${lines[0]}\n{"type":"nonsense"}\n${lines[1]}\n${lines[0]?.slice(0, 40)}`);
  const sink = new ScriptedSink();
  const { logger, lines: logs } = capturingLogger();
  const { publisher: events, registry } = publisher(dir, sink, { logger });
  await events.start();
  await eventually('the two complete events', () => sink.delivered.length === 2);
  await eventually('the old segment deleted', () => segmentFiles(dir).length === 0);
  // Had the torn line been counted as an event, one would stay queued forever.
  await eventually('nothing queued', async () => (await metric(registry, 'infermesh_events_queued')) === 0);
  assert.deepEqual(
    sink.delivered.map((envelope) => envelope.id),
    ['old-1', 'old-2'],
  );
  assert.ok(logs.some((line) => line.level === 'warn' && /torn last line/.test(line.msg)));
  assert.equal(await metric(registry, 'infermesh_events_dropped_total', { reason: 'corrupt' }), 1, 'the line that is not an event is counted, the torn one is not');
  // New events go to a new segment after the old one.
  await events.publish(served(3));
  await eventually('the new event', () => sink.delivered.length === 3);
  await events.stop();
});

test('beyond the spool bound, events are dropped, counted and logged once, and publish still resolves', async () => {
  const dir = spoolDir();
  const sink = new ScriptedSink(() => 'hang');
  const { logger, lines: logs } = capturingLogger();
  const { publisher: events, registry } = publisher(dir, sink, { logger, maxBytes: 4_096 });
  await events.start();
  for (let index = 0; index < 100; index += 1) await events.publish(served(index));
  const queued = await metric(registry, 'infermesh_events_queued');
  const dropped = await metric(registry, 'infermesh_events_dropped_total', { reason: 'spool_full' });
  assert.ok(queued > 0 && dropped > 0, `${queued} spooled, ${dropped} dropped`);
  assert.equal(queued + dropped, 100);
  assert.ok((await metric(registry, 'infermesh_events_spool_bytes')) <= 4_096);
  const errors = logs.filter((line) => line.level === 'error');
  assert.equal(errors.length, 1, 'one ERROR line for the burst');
  await events.stop();
  const summary = logs.filter((line) => line.level === 'error').reduce((sum, line) => sum + ((line.dropped as { spool_full?: number }).spool_full ?? 0), 0);
  assert.equal(summary, dropped, 'the logged counts add up to the metric');
});

test('a failing sink is retried until it acknowledges; nothing is lost or duplicated', async () => {
  const dir = spoolDir();
  const sink = new ScriptedSink((send) => (send % 3 === 0 ? 'ack' : 'fail'));
  const { publisher: events } = publisher(dir, sink);
  await events.start();
  await Promise.all(Array.from({ length: 40 }, (_, index) => events.publish(served(index))));
  await eventually('all delivered', () => sink.delivered.length === 40);
  assert.equal(new Set(sink.delivered.map((envelope) => envelope.id)).size, 40);
  await events.stop();
});

test('the lock refuses a second publisher on the same spool; a dead process\'s lock is taken over', async () => {
  const dir = spoolDir();
  const first = publisher(dir, new ScriptedSink()).publisher;
  await first.start();
  await assert.rejects(publisher(dir, new ScriptedSink()).publisher.start(), (error: { code?: string; message: string }) => error.code === 'INVALID_CONFIG' && /in use/.test(error.message));
  await first.stop();

  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  writeFileSync(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: gone, host: 'x', acquiredAt: new Date(0).toISOString() }));
  const { logger, lines } = capturingLogger();
  const successor = publisher(dir, new ScriptedSink(), { logger }).publisher;
  await successor.start();
  assert.ok(lines.some((line) => line.level === 'warn' && line.pid === gone));
  await successor.stop();
});

test('publish never throws or rejects: after stop, and with data that cannot be serialised', async () => {
  const dir = spoolDir();
  const { publisher: events, registry } = publisher(dir, new ScriptedSink());
  await events.start();
  const cyclic = served(1) as unknown as { data: Record<string, unknown> };
  cyclic.data.inputs = cyclic.data;
  await events.publish(cyclic as unknown as EventInput);
  assert.equal(await metric(registry, 'infermesh_events_dropped_total', { reason: 'unserializable' }), 1);
  await events.stop();
  await events.publish(served(2));
  assert.equal(await metric(registry, 'infermesh_events_dropped_total', { reason: 'closed' }), 1);
});

test('an outage is a WARN when it starts, one ERROR once it lasts a minute, and an INFO when it ends', async () => {
  const dir = spoolDir();
  let clock = Date.UTC(2026, 0, 1);
  let down = true;
  const sink = new ScriptedSink(() => (down ? 'fail' : 'ack'));
  const { logger, lines } = capturingLogger();
  const { publisher: events } = publisher(dir, sink, { logger, now: () => clock });
  await events.start();
  await events.publish(served(1));
  await eventually('a few failed sends', () => sink.sends >= 3);
  clock += 61_000;
  const sendsThen = sink.sends;
  await eventually('more failed sends', () => sink.sends >= sendsThen + 3);
  down = false;
  await eventually('delivered after the outage', () => sink.delivered.length === 1);
  await events.stop();
  const outageLines = lines.filter((line) => ['warn', 'error', 'info'].includes(line.level) && /deliver|reached/.test(line.msg)).map((line) => line.level);
  assert.deepEqual(outageLines, ['warn', 'error', 'info']);
});
