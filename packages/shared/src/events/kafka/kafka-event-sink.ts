import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, Partitioners, type Message, type Producer, type TopicMessages } from 'kafkajs';
import type { Logger } from 'pino';
import { InfermeshError } from '../../errors/infermesh-error.js';
import { ExponentialBackoff } from '../../watch/exponential-backoff.js';
import type { EventSink } from '../publisher/event-publisher.js';
import { EVENT_TOPICS, topicFor, type EventTopic } from '../contract/event-types.js';
import type { SpooledEvent } from '../contract/spooled-event.js';
import { structuredKafkaMessage } from './structured-kafka-message.js';
import { KAFKA_INITIAL_RETRY_MS, KAFKA_MAX_RETRY_MS, KAFKA_RETRIES, kafkaClientConfig, type KafkaConnectionOptions } from './kafka-client-config.js';

/** Partitions of each topic created at start when it is missing. */
export const DEFAULT_TOPIC_PARTITIONS: Readonly<Record<EventTopic, number>> = { predictions: 6, feedback: 6, lifecycle: 3 };
/** Milliseconds a send waits for the producer to (re)connect before it fails and the sender backs off. */
export const SEND_CONNECT_WAIT_MS = 5_000;
/** Reconnect backoff bounds, milliseconds: a restarted broker is found within about the maximum. */
export const RECONNECT_BACKOFF_BASE_MS = 250;
export const RECONNECT_BACKOFF_MAX_MS = 2_000;
/** Milliseconds stop() waits for a connection attempt in progress; a late one is closed as soon as it completes. */
export const STOP_CONNECT_WAIT_MS = 1_000;

/** Errors that mean the producer's idempotence state is gone: a fresh producer (new producer id) fixes them. */
const PRODUCER_STATE_ERRORS = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);
/** Errors that refuse the batch itself: resending it unchanged cannot succeed. */
const BATCH_REFUSED_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE']);
/** Errors after which topic creation is left to the operator. */
const NOT_ALLOWED_ERRORS = new Set(['TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'POLICY_VIOLATION']);

/** Options of a {@link KafkaEventSink}. */
export interface KafkaEventSinkOptions {
  connection: KafkaConnectionOptions;
  topicPrefix: string;
  /** Create missing topics at start with these partition counts (replication: the broker's default). */
  createTopics?: Partial<Record<EventTopic, number>> | false;
  logger: Logger;
  /** Uniform in [0, 1), for backoff jitter. */
  random: () => number;
}

/** The Kafka protocol error type (e.g. MESSAGE_TOO_LARGE) somewhere in a kafkajs error's cause chain. */
function protocolErrorType(error: unknown): string | undefined {
  for (let current = error as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined, depth = 0; current && depth < 5; depth += 1) {
    if (typeof current.type === 'string') return current.type;
    current = (current.cause ?? current.originalError) as typeof current;
  }
  return undefined;
}

/**
 * Sends event batches to Kafka: an idempotent producer with acks=all, keyed by the event's
 * partition key, each value the event's CloudEvents structured-mode JSON as spooled. Connects in the background and reconnects with backoff, so a broker that is down at
 * start or restarts later never crashes the process; the spool holds the events meanwhile.
 */
export class KafkaEventSink implements EventSink {
  readonly description: string;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private producer: Producer | undefined;
  private connecting: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private topicsReady: boolean;
  private checkingTopics: Promise<void> | undefined;
  private readonly partitions: Record<EventTopic, number>;

  constructor(private readonly options: KafkaEventSinkOptions) {
    this.logger = options.logger.child({ module: 'kafka-event-sink' });
    this.kafka = new Kafka(kafkaClientConfig(options.connection, this.logger));
    this.description = `Kafka ${options.connection.brokers.join(',')}`;
    this.topicsReady = options.createTopics === false;
    this.partitions = { ...DEFAULT_TOPIC_PARTITIONS, ...(options.createTopics || {}) };
  }

  /** Starts connecting; resolves at once, whether or not a broker answers. */
  async start(): Promise<void> {
    this.connectInBackground();
  }

  /** Resolves when Kafka has acknowledged every message (acks=all); rejects otherwise. */
  async send(events: readonly SpooledEvent[]): Promise<void> {
    const producer = await this.connectedProducer();
    if (!this.topicsReady) await this.topicsChecked();
    const byTopic = new Map<string, Message[]>();
    for (const event of events) {
      const topic = topicFor(event.type, this.options.topicPrefix);
      let messages = byTopic.get(topic);
      if (messages === undefined) byTopic.set(topic, (messages = []));
      messages.push(structuredKafkaMessage(event));
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    try {
      await producer.sendBatch({ topicMessages, acks: -1 });
    } catch (error) {
      throw this.classify(error, producer);
    }
  }

  /** Disconnects; a send still in flight is abandoned (its events stay in the spool). */
  async stop(): Promise<void> {
    this.abort.abort();
    if (this.connecting !== undefined) await Promise.race([this.connecting.catch(() => undefined), sleep(STOP_CONNECT_WAIT_MS, undefined, { ref: false })]);
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect().catch(() => undefined);
  }

  private connectInBackground(): void {
    if (this.producer !== undefined || this.connecting !== undefined || this.abort.signal.aborted) return;
    this.connecting = this.connectLoop().finally(() => (this.connecting = undefined));
  }

  private async connectLoop(): Promise<void> {
    const backoff = new ExponentialBackoff({ random: this.options.random, baseMs: RECONNECT_BACKOFF_BASE_MS, maxMs: RECONNECT_BACKOFF_MAX_MS });
    while (!this.abort.signal.aborted) {
      const producer = this.kafka.producer({
        idempotent: true,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { initialRetryTime: KAFKA_INITIAL_RETRY_MS, maxRetryTime: KAFKA_MAX_RETRY_MS, retries: KAFKA_RETRIES },
      });
      try {
        await producer.connect();
        if (this.abort.signal.aborted) {
          await producer.disconnect().catch(() => undefined);
          return;
        }
        this.producer = producer;
        this.logger.info({ brokers: this.options.connection.brokers }, 'connected to Kafka');
        // Topics are created as soon as a broker answers; if this fails, the first send tries again.
        if (!this.topicsReady) await this.topicsChecked().catch((error: Error) => this.logger.debug({ err: error.message }, 'event topics not checked yet'));
        return;
      } catch (error) {
        await producer.disconnect().catch(() => undefined);
        const log = backoff.failures === 0 ? this.logger.warn.bind(this.logger) : this.logger.debug.bind(this.logger);
        log({ err: (error as Error).message }, 'cannot connect to Kafka yet; retrying');
        await sleep(backoff.fail(), undefined, { signal: this.abort.signal, ref: false }).catch(() => undefined);
      }
    }
  }

  private async connectedProducer(): Promise<Producer> {
    if (this.producer !== undefined) return this.producer;
    this.connectInBackground();
    await Promise.race([this.connecting, sleep(SEND_CONNECT_WAIT_MS, undefined, { ref: false })]);
    if (this.producer !== undefined) return this.producer;
    throw new InfermeshError('UPSTREAM_UNAVAILABLE', `not connected to Kafka (${this.options.connection.brokers.join(',')})`, { retriable: true });
  }

  /** One topic check at a time: the connect loop and the first send may both ask. */
  private topicsChecked(): Promise<void> {
    this.checkingTopics ??= this.ensureTopics().finally(() => (this.checkingTopics = undefined));
    return this.checkingTopics;
  }

  /** Creates the missing topics; leaves them to the operator when not allowed to. */
  private async ensureTopics(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const missing = EVENT_TOPICS.filter((topic) => !existing.has(`${this.options.topicPrefix}${topic}`));
      if (missing.length > 0) {
        await admin.createTopics({
          topics: missing.map((topic) => ({ topic: `${this.options.topicPrefix}${topic}`, numPartitions: this.partitions[topic] })),
          waitForLeaders: true,
        });
        this.logger.info({ topics: missing.map((topic) => `${this.options.topicPrefix}${topic}`) }, 'created event topics');
      }
      this.topicsReady = true;
    } catch (error) {
      const types = [protocolErrorType(error), ...((error as { errors?: unknown[] }).errors ?? []).map(protocolErrorType)];
      if (types.includes('TOPIC_ALREADY_EXISTS')) {
        this.topicsReady = true;
      } else if (types.some((type) => type !== undefined && NOT_ALLOWED_ERRORS.has(type))) {
        this.logger.warn({ err: (error as Error).message }, 'not allowed to create event topics; producing to existing ones');
        this.topicsReady = true;
      } else {
        throw new InfermeshError('UPSTREAM_UNAVAILABLE', `cannot check the event topics: ${(error as Error).message}`, { retriable: true, cause: error });
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private classify(error: unknown, producer: Producer): InfermeshError {
    const type = protocolErrorType(error);
    const message = `sending to Kafka failed: ${(error as Error).message}${type === undefined ? '' : ` (${type})`}`;
    if ((type !== undefined && PRODUCER_STATE_ERRORS.has(type)) || /producer is disconnect/i.test((error as Error).message)) {
      // Start over with a new producer id; the batch is resent by the sender.
      if (this.producer === producer) this.producer = undefined;
      void producer.disconnect().catch(() => undefined);
      this.connectInBackground();
    }
    return new InfermeshError('UPSTREAM_UNAVAILABLE', message, { retriable: type === undefined || !BATCH_REFUSED_ERRORS.has(type), cause: error });
  }
}
