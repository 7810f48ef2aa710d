import type { EventInput, EventPublisher } from '@infermesh/shared';

/**
 * A publisher that also hands every event to `observe` (the in-process aggregator) as it is
 * published: the embedded mesh's aggregator reads the same event stream the aggregator service
 * reads from Kafka, so there is one way evidence is counted.
 */
export function observedEventPublisher(inner: EventPublisher, observe: (event: EventInput) => void): EventPublisher {
  return {
    description: inner.description,
    start: () => inner.start(),
    stop: () => inner.stop(),
    publish(event) {
      observe(event);
      return inner.publish(event);
    },
  };
}
