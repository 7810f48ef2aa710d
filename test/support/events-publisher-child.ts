/**
 * Child process of events-sigkill-replay.test.ts: publishes events to Kafka through a spool as
 * fast as it can and prints the prediction id of every event whose publish() has resolved, one
 * per line (stdout to a pipe is synchronous on Linux, so a printed id was resolved before any
 * kill). Arguments: brokers (comma list), topic prefix, spool directory.
 */
import { randomUUID } from 'node:crypto';
import { kafkaPublisher, servedEvent } from './events-support.js';

/** Concurrent publishing loops, like concurrent requests of a gateway. */
const CONCURRENCY = 32;

const [brokers = '', prefix = '', dir = ''] = process.argv.slice(2);
const { publisher } = kafkaPublisher(brokers.split(','), prefix, { dir });
await publisher.start();
let index = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    for (;;) {
      const predictionId = randomUUID();
      await publisher.publish(servedEvent((index += 1), predictionId));
      process.stdout.write(`${predictionId}\n`);
    }
  }),
);
