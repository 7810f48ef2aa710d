import { ExponentialBackoff, InfermeshError, type Logger } from '@infermesh/shared';
import type { Batch, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { AggregatorMetrics } from '../metrics/aggregator-metrics.js';
import type { OutageReporter } from '../health/outage-reporter.js';
import { decodeEvent } from '../tally/decode-event.js';
import type { OffsetLookup } from './kafka-partition-offsets.js';
import type { PartitionOwnership, PreparedPartition, WrittenOffset } from './partition-ownership.js';

/**
 * Milliseconds without a heartbeat before the group gives a member's partitions to the others
 * (kafkajs' default is 30 s): a killed instance's partitions move on within about this long.
 */
export const KAFKA_SESSION_TIMEOUT_MS = 10_000;
/** Milliseconds between heartbeats; a third of the session timeout, as Kafka recommends. */
export const KAFKA_HEARTBEAT_INTERVAL_MS = 3_000;
/** Milliseconds between two looks for event topics that do not exist yet. */
export const TOPIC_WAIT_MS = 2_000;
/** Bounds of the backoff between attempts to (re)start the consumer or load a partition, milliseconds. */
export const CONSUMER_BACKOFF_BASE_MS = 500;
export const CONSUMER_BACKOFF_MAX_MS = 10_000;

/** What the consumer needs. */
export interface AggregatorConsumerDependencies {
  kafka: Kafka;
  groupId: string;
  /** The prediction and feedback topics. */
  topics: readonly string[];
  ownership: PartitionOwnership;
  offsets: OffsetLookup;
  metrics: AggregatorMetrics;
  /** Outages of Kafka (the consumer) and of what loading a partition reads (Consul, Kafka's offsets). */
  kafkaOutage: OutageReporter;
  loadOutage: OutageReporter;
  logger: Logger;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The offset a batch was fetched from: kafkajs has it on the batch without declaring it. */
function fetchedOffsetOf(batch: Batch): string {
  return (batch as Batch & { fetchedOffset?: string }).fetchedOffset ?? batch.firstOffset() ?? '0';
}

/**
 * The aggregator's member of the Kafka consumer group over the prediction and feedback topics.
 * kafkajs assigns partitions; each batch goes to its partition's tally, loaded from KV on first
 * use and positioned where its stored state says (re-reading the recent past first). Offsets are
 * resolved only as messages are tallied and committed to Kafka only after the state is in KV.
 * A consumer kafkajs gives up on is replaced with backoff: a Kafka outage never ends the process.
 */
export class AggregatorConsumer {
  private readonly abort = new AbortController();
  private consumer: Consumer | undefined;
  private loop: Promise<void> | undefined;
  private halted = false;
  private inFlight: Promise<void> | undefined;
  /** Stored states reported as unreadable (each reported once). */
  private readonly unreadable = new Set<string>();
  private resolveJoined!: () => void;
  private readonly logger: Logger;
  /** Resolves once the group assigned partitions for the first time. */
  readonly joined = new Promise<void>((resolve) => (this.resolveJoined = resolve));

  constructor(private readonly dependencies: AggregatorConsumerDependencies) {
    this.logger = dependencies.logger;
  }

  /** Joins the group in the background (waiting for the topics to exist). */
  start(): void {
    this.loop ??= this.run();
  }

  /** Stops tallying batches and waits for the one in progress: what is tallied now is final until stop(). */
  async halt(): Promise<void> {
    this.halted = true;
    await this.inFlight?.catch(() => undefined);
  }

  /** Commits offsets whose state is in KV; best effort (a commit lost to a rebalance only makes the next owner re-read more). */
  async commit(offsets: readonly WrittenOffset[]): Promise<void> {
    if (offsets.length === 0 || this.consumer === undefined) return;
    await this.consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset }))).catch((error: Error) => {
      this.logger.debug({ reason: error.message }, 'offsets not committed to Kafka; the stored states are what counts');
    });
  }

  /** Leaves the group and disconnects. */
  async stop(): Promise<void> {
    this.halted = true;
    this.abort.abort();
    await this.inFlight?.catch(() => undefined);
    await this.consumer?.disconnect().catch(() => undefined);
    await this.loop;
  }

  private async run(): Promise<void> {
    const { kafka, groupId, topics, ownership, metrics, kafkaOutage, random, sleep } = this.dependencies;
    const signal = this.abort.signal;
    const backoff = new ExponentialBackoff({ random, baseMs: CONSUMER_BACKOFF_BASE_MS, maxMs: CONSUMER_BACKOFF_MAX_MS });
    while (!signal.aborted) {
      const consumer = kafka.consumer({ groupId, sessionTimeout: KAFKA_SESSION_TIMEOUT_MS, heartbeatInterval: KAFKA_HEARTBEAT_INTERVAL_MS, allowAutoTopicCreation: false });
      this.consumer = consumer;
      const gaveUp = new Promise<unknown>((resolve) => {
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          metrics.upstreamUp.set({ upstream: 'kafka' }, 0);
          kafkaOutage.failed(payload.error);
          // kafkajs restarts itself after retriable failures; after any other, this loop does.
          if (!payload.restart) resolve(payload.error);
        });
      });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        ownership.assign(payload.memberAssignment);
        metrics.partitionsOwned.set(ownership.count());
        metrics.upstreamUp.set({ upstream: 'kafka' }, 1);
        kafkaOutage.succeeded();
        this.logger.info({ partitions: payload.memberAssignment }, 'partitions assigned');
        this.resolveJoined();
      });
      try {
        await this.waitForTopics(signal);
        if (signal.aborted) break;
        await consumer.connect();
        await consumer.subscribe({ topics: [...topics], fromBeginning: true });
        await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.track(payload) });
        backoff.succeed();
        const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        const error = await Promise.race([gaveUp, aborted]);
        if (signal.aborted) break;
        throw error;
      } catch (error) {
        if (signal.aborted) break;
        metrics.upstreamUp.set({ upstream: 'kafka' }, 0);
        kafkaOutage.failed(error);
        ownership.assign({});
        metrics.partitionsOwned.set(0);
        await consumer.disconnect().catch(() => undefined);
        await sleep(backoff.fail(), signal).catch(() => undefined);
      }
    }
  }

  private async waitForTopics(signal: AbortSignal): Promise<void> {
    const { topics, offsets, sleep } = this.dependencies;
    let told = false;
    while (!signal.aborted) {
      const found = new Set(await offsets.existingTopics(topics));
      const missing = topics.filter((topic) => !found.has(topic));
      if (missing.length === 0) return;
      if (!told) this.logger.info({ missing }, 'waiting for the event topics to be created (gateways create them when they first reach Kafka)');
      told = true;
      await sleep(TOPIC_WAIT_MS, signal).catch(() => undefined);
    }
  }

  private async track(payload: EachBatchPayload): Promise<void> {
    const work = this.handle(payload);
    this.inFlight = work;
    try {
      await work;
    } finally {
      if (this.inFlight === work) this.inFlight = undefined;
    }
  }

  private async handle({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.halted) return;
    const { topic, partition } = batch;
    const prepared = await this.prepare(topic, partition, heartbeat, isRunning);
    if (prepared === undefined || this.halted || isStale()) return;
    const fetched = fetchedOffsetOf(batch);
    const { tally } = prepared;
    let seekTo = prepared.seekTo;
    // A batch from beyond the tally would skip messages: read from the tally's offset instead.
    if (seekTo === undefined && BigInt(fetched) > BigInt(tally.offset)) seekTo = await this.dependencies.ownership.realign(topic, partition);
    if (this.halted || isStale()) return;
    if (seekTo !== undefined && seekTo !== fetched) {
      this.consumer?.seek({ topic, partition, offset: seekTo });
      return;
    }
    const { metrics } = this.dependencies;
    let last: string | undefined;
    for (const message of batch.messages) {
      if (this.halted || !isRunning() || isStale()) break;
      const timestampMs = Number(message.timestamp);
      const decoded = decodeEvent(message.value, timestampMs);
      const outcome = tally.apply({ offset: message.offset, timestampMs, evidence: decoded.evidence, eventTimeMs: decoded.eventTimeMs });
      metrics.observe(decoded.type, outcome, decoded.evidence?.kind);
      resolveOffset(message.offset);
      last = message.offset;
    }
    if (last !== undefined) {
      const lag = BigInt(batch.highWatermark) - BigInt(last) - 1n;
      metrics.partitionLag.set({ topic, partition: String(partition) }, Number(lag > 0n ? lag : 0n));
    }
    await heartbeat();
  }

  /** Loads the partition, retrying with backoff (and heartbeats, so the group keeps it here) while KV or Kafka's offsets are unreachable. */
  private async prepare(topic: string, partition: number, heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<PreparedPartition | undefined> {
    const { ownership, loadOutage, random, sleep } = this.dependencies;
    const backoff = new ExponentialBackoff({ random, baseMs: CONSUMER_BACKOFF_BASE_MS, maxMs: CONSUMER_BACKOFF_MAX_MS });
    for (;;) {
      try {
        const prepared = await ownership.prepare(topic, partition);
        loadOutage.succeeded();
        return prepared;
      } catch (error) {
        if (this.halted || !isRunning()) return undefined;
        const typed = InfermeshError.from(error);
        // A stored state that cannot be read will not get better by waiting: someone must look.
        if (typed.code !== 'INVALID_CONFIG') loadOutage.failed(error);
        else if (!this.unreadable.has(typed.message)) {
          this.unreadable.add(typed.message);
          this.logger.error({ topic, partition, reason: typed.message }, 'cannot resume the partition from its stored state; retrying until it is fixed or removed');
        }
        await sleep(backoff.fail(), this.abort.signal).catch(() => undefined);
        await heartbeat();
        if (this.halted || !isRunning()) return undefined;
      }
    }
  }
}
