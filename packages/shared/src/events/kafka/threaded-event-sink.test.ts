import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { InfermeshError } from '../../errors/infermesh-error.js';
import type { SpooledEvent } from '../contract/spooled-event.js';
import { ThreadedEventSink } from './threaded-event-sink.js';

const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './scripted-sink-thread.fixture.ts' : './scripted-sink-thread.fixture.js', import.meta.url);

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info', formatters: { level: (label) => ({ level: label }) } }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

function batch(script: string, size = 2): SpooledEvent[] {
  return Array.from({ length: size }, (_, index) => ({ json: `{"n":${index}}`, type: 'infermesh.prediction.served', partitionKey: script, timeMs: 1_764_000_000_000 + index }));
}

function sinkWith(logger: ReturnType<typeof capturingLogger>['logger']) {
  return new ThreadedEventSink({ entry: ENTRY, data: { logLevel: 'info' }, description: 'scripted', logger });
}

test('a threaded sink acknowledges, and fails with the code and retriability its thread gave, so the spool sender reacts as to a local sink', async () => {
  const { logger, lines } = capturingLogger();
  const sink = sinkWith(logger);
  await sink.start();
  await sink.send(batch('ack', 3));
  await assert.rejects(sink.send(batch('unavailable')), (error: unknown) => error instanceof InfermeshError && error.code === 'UPSTREAM_UNAVAILABLE' && error.retriable && error.message === 'broker down');
  await assert.rejects(sink.send(batch('refused')), (error: unknown) => error instanceof InfermeshError && !error.retriable && /MESSAGE_TOO_LARGE/.test(error.message));
  await assert.rejects(sink.send(batch('plain')), (error: unknown) => error instanceof Error && !(error instanceof InfermeshError) && (error as { retriable?: boolean }).retriable === undefined && error.message === 'something else');
  await sink.send(batch('ack', 1));
  await sink.stop();

  const acknowledged = lines.filter((line) => line.msg === 'batch acknowledged');
  assert.deepEqual(
    acknowledged.map((line) => [line.level, line.events, line.types]),
    [
      ['info', 3, ['infermesh.prediction.served', 'infermesh.prediction.served', 'infermesh.prediction.served']],
      ['info', 1, ['infermesh.prediction.served']],
    ],
    "the thread's log lines are written by the owner's logger with their level and fields",
  );
  assert.equal(lines.filter((line) => line.msg === 'batch received').length, 0, 'lines below the level are not logged');
  assert.ok(lines.some((line) => line.msg === 'scripted sink stopped'), "stop() stops the thread's sink before the thread ends");
});

test('a sink thread that dies fails the send in flight as retriable, is logged at ERROR, and the next send runs on a new thread', async () => {
  const { logger, lines } = capturingLogger();
  const sink = sinkWith(logger);
  await sink.start();
  await assert.rejects(sink.send(batch('crash')), (error: unknown) => error instanceof InfermeshError && error.retriable && /thread ended/.test(error.message));
  assert.equal(lines.filter((line) => line.level === 'error').length, 1, 'one ERROR: a bug a human should look at');
  await sink.send(batch('ack'));
  await sink.stop();
});

test('stop() fails sends still in flight (their events stay spooled) and refuses new ones; the thread ends', async () => {
  const { logger } = capturingLogger();
  const sink = sinkWith(logger);
  await sink.start();
  const hanging = sink.send(batch('hang'));
  await sink.stop();
  await assert.rejects(hanging, (error: unknown) => error instanceof InfermeshError && error.retriable);
  await assert.rejects(sink.send(batch('ack')), (error: unknown) => error instanceof InfermeshError && error.retriable);
});
