import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { EventEnvelope, EventInput } from '../contract/event-envelope.js';
import type { SpooledEvent } from '../contract/spooled-event.js';
import type { EventSink } from '../publisher/event-publisher.js';
import { SpooledEventPublisher } from './spooled-event-publisher.js';

/** Milliseconds an action may wait for the sender to settle (hand the sink a batch, or have nothing left). */
const SETTLE_TIMEOUT_MS = 5_000;

/** Resolves once `predicate` holds; polls, failing after the timeout. */
async function until(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

interface PendingSend {
  events: readonly SpooledEvent[];
  resolve(): void;
  reject(error: Error): void;
}

function envelopeOf(event: SpooledEvent): EventEnvelope {
  return JSON.parse(event.json) as EventEnvelope;
}

/** A sink that holds every send until the test acknowledges or fails it. */
class ManualSink implements EventSink {
  readonly description = 'manual sink';
  readonly pending: PendingSend[] = [];
  constructor(
    private readonly delivered: EventEnvelope[],
    private readonly auto = false,
  ) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  send(events: readonly SpooledEvent[]): Promise<void> {
    if (this.auto) {
      this.delivered.push(...events.map(envelopeOf));
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.pending.push({ events, resolve, reject }));
  }
  acknowledge(send: PendingSend): void {
    this.delivered.push(...send.events.map(envelopeOf));
    send.resolve();
  }
}

type Action = { kind: 'publish'; count: number } | { kind: 'ack' } | { kind: 'fail' } | { kind: 'restart' };

const actions = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('publish' as const), count: fc.integer({ min: 1, max: 8 }) }),
    fc.constant({ kind: 'ack' as const }),
    fc.constant({ kind: 'fail' as const }),
    fc.constant({ kind: 'restart' as const }),
  ),
  { minLength: 1, maxLength: 25 },
);

function feedback(index: number): EventInput {
  return {
    type: 'infermesh.feedback.received',
    subject: `entity-${index % 3}`,
    data: { predictionId: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`, model: 'm', variant: 'a', version: 'v1', reward: index, delayMs: 0, requestId: `r${index}` },
  };
}

function start(dir: string, sink: EventSink, tailBytes: number): SpooledEventPublisher {
  return new SpooledEventPublisher({
    dir,
    sink,
    source: 'urn:infermesh:gateway:property:0',
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    random: () => 0.5,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
    batchMaxEvents: 5,
    segmentBytes: 700,
    segmentMaxAgeMs: 5,
    stopGraceMs: 0,
    tailBytes,
  });
}

async function run(script: readonly Action[], tailBytes: number): Promise<void> {
  const parent = mkdtempSync(join(tmpdir(), 'spool-property-'));
  try {
    await runIn(join(parent, 'spool'), script, tailBytes);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

async function runIn(dir: string, script: readonly Action[], tailBytes: number): Promise<void> {
  const delivered: EventEnvelope[] = [];
  let published = 0;
  let sink = new ManualSink(delivered);
  let publisher = start(dir, sink, tailBytes);
  await publisher.start();
  for (const action of script) {
    switch (action.kind) {
      case 'publish':
        await Promise.all(Array.from({ length: action.count }, () => publisher.publish(feedback((published += 1)))));
        break;
      case 'ack':
      case 'fail': {
        // The sender either hands over a batch or has nothing left to send (an acknowledgement may still be settling).
        await until('a send or an empty queue', () => sink.pending.length > 0 || publisher.queued === 0);
        const send = sink.pending.shift();
        if (send === undefined) break;
        if (action.kind === 'ack') sink.acknowledge(send);
        else send.reject(new Error('broker down'));
        break;
      }
      case 'restart':
        // Sends still unanswered are abandoned, as when a process dies with a batch in flight.
        await publisher.stop();
        sink = new ManualSink(delivered);
        publisher = start(dir, sink, tailBytes);
        await publisher.start();
        break;
    }
  }
  await publisher.stop();
  const final = start(dir, new ManualSink(delivered, true), tailBytes);
  await final.start();
  await until('every spooled event delivered', () => final.queued === 0);
  await final.stop();

  const idsByEvent = new Map<number, Set<string>>();
  const eventById = new Map<string, number>();
  for (const envelope of delivered) {
    const event = (envelope.data as { reward: number }).reward;
    idsByEvent.set(event, (idsByEvent.get(event) ?? new Set()).add(envelope.id));
    const seen = eventById.get(envelope.id);
    assert.ok(seen === undefined || seen === event, `id ${envelope.id} names two different events`);
    eventById.set(envelope.id, event);
  }
  for (let event = 1; event <= published; event += 1) {
    assert.equal(idsByEvent.get(event)?.size, 1, `event ${event} delivered under exactly one id (at least once)`);
  }
  assert.equal(idsByEvent.size, published, 'nothing delivered that was not published');
}

/** No tail (every batch read back from the files), one that holds a few events (batches from both), and the default. */
const tailSizes = fc.constantFrom(0, 1_000, 4 * 1024 ** 2);

test('whatever the interleaving of publish, ack, failure and restart, every event is delivered at least once under one id', async () => {
  await fc.assert(fc.asyncProperty(actions, tailSizes, run), { numRuns: 60 });
});
