/**
 * A sink thread for threaded-event-sink.test.ts: the first event's partition key of each batch
 * says what the sink does with it, so the test drives every path across the thread boundary.
 */
import { InfermeshError } from '../../errors/infermesh-error.js';
import type { EventSink } from '../publisher/event-publisher.js';
import { serveSinkInThread } from './serve-sink-in-thread.js';
import type { SpooledEvent } from '../contract/spooled-event.js';

await serveSinkInThread((logger) => {
  const sink: EventSink = {
    description: 'scripted',
    async start() {},
    async stop() {
      logger.info('scripted sink stopped');
    },
    send(events: readonly SpooledEvent[]): Promise<void> {
      const script = events[0]?.partitionKey;
      logger.debug({ events: events.length }, 'batch received');
      switch (script) {
        case 'ack':
          logger.info({ events: events.length, types: events.map((event) => event.type) }, 'batch acknowledged');
          return Promise.resolve();
        case 'unavailable':
          return Promise.reject(new InfermeshError('UPSTREAM_UNAVAILABLE', 'broker down', { retriable: true }));
        case 'refused':
          return Promise.reject(new InfermeshError('UPSTREAM_UNAVAILABLE', 'batch too large (MESSAGE_TOO_LARGE)', { retriable: false }));
        case 'plain':
          return Promise.reject(new Error('something else'));
        case 'crash':
          setImmediate(() => {
            throw new Error('a bug in the sink');
          });
          return new Promise(() => undefined);
        default:
          return new Promise(() => undefined);
      }
    },
  };
  return sink;
}, 'info');
