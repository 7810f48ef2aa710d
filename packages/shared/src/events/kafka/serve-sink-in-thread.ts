import { parentPort, type MessagePort } from 'node:worker_threads';
import { pino, type LevelWithSilent, type Logger } from 'pino';
import { InfermeshError } from '../../errors/infermesh-error.js';
import type { EventSink } from '../publisher/event-publisher.js';
import { toSinkThreadFailure, type SinkThreadReply, type SinkThreadRequest } from './sink-thread-protocol.js';

/** What every sink thread is given besides its sink's own options. */
export interface SinkThreadData {
  /** The owner's log level: lines below it are not even formatted here. */
  logLevel: LevelWithSilent;
}

/** A logger whose lines go to the owning thread, which writes them with its own logger (one stream, one format). */
export function ownerLogger(port: MessagePort, level: LevelWithSilent): Logger {
  const destination = { write: (line: string) => port.postMessage({ kind: 'log', line } satisfies SinkThreadReply) };
  return pino({ level, base: null, timestamp: false, formatters: { level: (label) => ({ level: label }) } }, destination);
}

/**
 * The body of a sink thread: starts the sink, serves the owner's sends one message each and
 * stops it when asked, after which the thread ends. Call once from a worker thread's entry file.
 */
export async function serveSinkInThread(createSink: (logger: Logger) => EventSink, level: LevelWithSilent): Promise<void> {
  const port = parentPort;
  if (port === null) throw new InfermeshError('INTERNAL', 'a sink thread runs only in a worker thread');
  const reply = (message: SinkThreadReply) => port.postMessage(message);
  const sink = createSink(ownerLogger(port, level));
  await sink.start();
  port.on('message', (request: SinkThreadRequest) => {
    if (request.kind === 'send') {
      sink.send(request.events).then(
        () => reply({ kind: 'sent', id: request.id }),
        (error: unknown) => reply({ kind: 'failed', id: request.id, error: toSinkThreadFailure(error) }),
      );
    } else {
      void sink
        .stop()
        .catch(() => undefined)
        .then(() => {
          reply({ kind: 'stopped' });
          port.close();
        });
    }
  });
  reply({ kind: 'started' });
}
