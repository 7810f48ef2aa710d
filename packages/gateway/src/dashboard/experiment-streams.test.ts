import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createLogger, InfermeshError } from '@infermesh/shared';
import { ExperimentStreams, type EventSink, type StreamedExperiment } from './experiment-streams.js';

/** A client's end of a stream: what it received, and whether the gateway ended it. */
class RecordingSink implements EventSink {
  chunks: string[] = [];
  ended = false;
  private readonly listeners: (() => void)[] = [];
  write(chunk: string): void {
    this.chunks.push(chunk);
  }
  end(): void {
    this.ended = true;
    this.leave();
  }
  onClose(listener: () => void): void {
    this.listeners.push(listener);
  }
  /** The client goes away. */
  leave(): void {
    for (const listener of this.listeners.splice(0)) listener();
  }
  events(): string[] {
    return this.chunks.filter((chunk) => chunk.startsWith('event:'));
  }
}

function setup(options: { heartbeatMs?: number } = {}) {
  const state = { sequence: 1, exists: true, health: 1, described: 0 };
  const streams = new ExperimentStreams({
    describe: (model): StreamedExperiment => {
      state.described += 1;
      if (!state.exists) throw new InfermeshError('MODEL_NOT_FOUND', `model '${model}' has no experiment`);
      return { model, record: { sequence: state.sequence, ageMs: state.described, ageSeconds: 0 }, healthyWorkers: state.health } as StreamedExperiment;
    },
    logger: createLogger({ service: 'test', level: 'silent' }),
    coalesceMs: 10,
    heartbeatMs: options.heartbeatMs ?? 60_000,
  });
  return { streams, state };
}

test('a client gets the reconnect delay and the experiment at once, then one event per burst of changes', async () => {
  const { streams, state } = setup();
  const sink = new RecordingSink();
  streams.open('m', sink);
  assert.equal(sink.chunks[0], 'retry: 1000\n\n');
  assert.match(sink.events()[0]!, /^event: experiment\ndata: \{"model":"m","record":\{"sequence":1,/);
  state.sequence = 2;
  streams.changed('m');
  streams.changed('m');
  streams.changedAll();
  streams.changed('other');
  await sleep(50);
  assert.equal(sink.events().length, 2);
  assert.match(sink.events()[1]!, /"sequence":2/);
  streams.stop();
});

test('a client that left gets nothing more; stop ends every stream and refuses new ones', async () => {
  const { streams } = setup();
  const [gone, staying] = [new RecordingSink(), new RecordingSink()];
  streams.open('m', gone);
  streams.open('m', staying);
  gone.leave();
  assert.equal(streams.size(), 1);
  streams.changed('m');
  await sleep(50);
  assert.equal(gone.events().length, 1);
  assert.equal(staying.events().length, 2);
  streams.stop();
  assert.equal(staying.ended, true);
  assert.equal(streams.size(), 0);
  assert.throws(() => streams.admit('m'), { code: 'SHUTTING_DOWN' });
  const late = new RecordingSink();
  streams.open('m', late);
  assert.equal(late.ended, true);
});

test('heartbeats keep the connection busy and resend a description whose content moved unannounced', async () => {
  const { streams, state } = setup({ heartbeatMs: 20 });
  const sink = new RecordingSink();
  streams.open('m', sink);
  await sleep(70);
  assert.ok(sink.chunks.filter((chunk) => chunk === ': heartbeat\n\n').length >= 2);
  assert.equal(sink.events().length, 1, 'only the age moved: nothing resent');
  state.health = 0;
  await sleep(50);
  assert.equal(sink.events().length, 2);
  assert.match(sink.events()[1]!, /"healthyWorkers":0/);
  streams.stop();
});

test('a model that lost its experiment sends `gone`; admitting a stream on it is refused', async () => {
  const { streams, state } = setup();
  const sink = new RecordingSink();
  streams.open('m', sink);
  state.exists = false;
  streams.changed('m');
  await sleep(50);
  assert.equal(sink.events()[1], 'event: gone\ndata: {"model":"m"}\n\n');
  assert.throws(() => streams.admit('m'), { code: 'MODEL_NOT_FOUND' });
  streams.stop();
});
