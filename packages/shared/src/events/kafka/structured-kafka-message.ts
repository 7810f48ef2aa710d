import { CONSTANTS as CLOUDEVENTS } from 'cloudevents';
import type { Message } from 'kafkajs';
import type { SpooledEvent } from '../contract/spooled-event.js';

/** Headers of every message: structured content mode, so the value is the whole CloudEvent. */
const STRUCTURED_MODE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ [CLOUDEVENTS.HEADER_CONTENT_TYPE]: CLOUDEVENTS.DEFAULT_CE_CONTENT_TYPE });

/**
 * The Kafka message of a spooled event in CloudEvents structured content mode, as the
 * `cloudevents` Kafka binding builds it (key = `partitionkey`, value = the event's JSON, the
 * content-type header, timestamp = the event's time) but from the spooled JSON as it is: the
 * binding would parse, rebuild and serialise every event again (a test keeps the two equal).
 */
export function structuredKafkaMessage(event: SpooledEvent): Message {
  return { key: event.partitionKey, value: event.json, headers: STRUCTURED_MODE_HEADERS, timestamp: String(event.timeMs) };
}
