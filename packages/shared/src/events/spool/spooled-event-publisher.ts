import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { InfermeshError } from '../../errors/infermesh-error.js';
import { ExponentialBackoff } from '../../watch/exponential-backoff.js';
import { DirectoryLock } from '../segments/directory-lock.js';
import { DropReporter } from '../publisher/drop-reporter.js';
import type { EventInput } from '../contract/event-envelope.js';
import { encodeEventLine } from '../contract/encode-event-line.js';
import { EventMetrics } from '../publisher/event-metrics.js';
import { DEFAULT_MAX_EVENT_BYTES, type EventPublisher, type EventSink } from '../publisher/event-publisher.js';
import { EventSpool } from './event-spool.js';
import { GroupCommitAppender } from '../segments/group-commit-appender.js';
import { SPOOL_SEGMENT_NAMING } from '../segments/segment-files.js';
import { SpoolSender } from './spool-sender.js';
import { DEFAULT_SPOOL_TAIL_BYTES, SpoolTail, type WrittenEvent } from './spool-tail.js';
import { spooledEventOfLine } from '../contract/spooled-event.js';

/** Largest spool on disk, bytes (1 GiB); new events are dropped and counted beyond it. */
export const DEFAULT_SPOOL_MAX_BYTES = 1024 ** 3;
/** A spool segment is closed past this size, bytes (16 MiB), so acknowledged ones can be deleted. */
export const DEFAULT_SPOOL_SEGMENT_BYTES = 16 * 1024 ** 2;
/** A spool segment is closed once this old, milliseconds, so a quiet process frees its disk too. */
export const DEFAULT_SPOOL_SEGMENT_MAX_AGE_MS = 5_000;
/** Most events in one batch sent to Kafka. */
export const DEFAULT_BATCH_MAX_EVENTS = 200;
/** Bytes of events read per batch (512 KiB), under the broker's default 1 MiB limit per partition batch. */
export const DEFAULT_BATCH_MAX_BYTES = 512 * 1024;
/** Milliseconds a batch that is not full waits for more events before it is sent (Kafka's linger.ms): fewer, fuller requests. */
export const DEFAULT_LINGER_MS = 50;
/** Milliseconds stop() keeps sending before it leaves the rest in the spool. */
export const DEFAULT_STOP_GRACE_MS = 5_000;
/** Retry delays of the sender while the sink fails, milliseconds. */
export const SEND_BACKOFF_BASE_MS = 100;
export const SEND_BACKOFF_MAX_MS = 2_000;
/** Milliseconds between checks for a segment old enough to close. */
const ROLL_CHECK_INTERVAL_MS = 1_000;

const RESOLVED = Promise.resolve();

/** Options of a {@link SpooledEventPublisher}. */
export interface SpooledEventPublisherOptions {
  /** The spool directory; one process at a time. */
  dir: string;
  sink: EventSink;
  /** CloudEvents `source` of every event this process emits. */
  source: string;
  logger: Logger;
  registry: Registry;
  now?: () => number;
  /** A fresh event id; random UUIDs by default. */
  randomId?: () => string;
  /** Uniform in [0, 1), for backoff jitter. */
  random?: () => number;
  maxBytes?: number;
  segmentBytes?: number;
  segmentMaxAgeMs?: number;
  maxEventBytes?: number;
  /** Bytes of the latest events kept in memory, so a sender that keeps up does not read them back from disk (0: always read back). */
  tailBytes?: number;
  batchMaxEvents?: number;
  batchMaxBytes?: number;
  /** Milliseconds a batch that is not full waits for more events (0: send at once). */
  lingerMs?: number;
  /** fdatasync every write: survives power loss, at the price of a disk flush per group of events. */
  fsync?: boolean;
  stopGraceMs?: number;
  /** Sender retry bounds, milliseconds. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/**
 * Durable publishing: each event is appended to a segment file of the local spool before
 * publish() resolves (group commit: concurrent publishes share one write), and a sender drains
 * the files into the sink, recording how far each segment is acknowledged. A sink outage, a
 * SIGTERM or a SIGKILL loses nothing: on start, unacknowledged events are sent again with their ids.
 */
export class SpooledEventPublisher implements EventPublisher {
  readonly description: string;
  private readonly logger: Logger;
  private readonly metrics: EventMetrics;
  private readonly drops: DropReporter;
  private readonly now: () => number;
  private readonly randomId: () => string;
  private readonly maxBytes: number;
  private readonly maxEventBytes: number;
  private readonly spool: EventSpool;
  private readonly tail: SpoolTail;
  private readonly sender: SpoolSender;
  private appender: GroupCommitAppender<WrittenEvent> | undefined;
  private lock: DirectoryLock | undefined;
  private rollTimer: NodeJS.Timeout | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(private readonly options: SpooledEventPublisherOptions) {
    this.logger = options.logger.child({ module: 'event-publisher' });
    this.description = `spool ${options.dir} → ${options.sink.description}`;
    this.now = options.now ?? Date.now;
    this.randomId = options.randomId ?? randomUUID;
    this.maxBytes = options.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.metrics = new EventMetrics(options.registry);
    this.drops = new DropReporter(this.logger, this.metrics, this.now);
    this.spool = new EventSpool(options.dir, this.logger, options.fsync ?? false, this.now);
    this.tail = new SpoolTail(options.tailBytes ?? DEFAULT_SPOOL_TAIL_BYTES);
    this.sender = new SpoolSender({
      spool: this.spool,
      tail: this.tail,
      sink: options.sink,
      logger: this.logger,
      metrics: this.metrics,
      drops: this.drops,
      now: this.now,
      backoff: new ExponentialBackoff({ random: options.random ?? Math.random, baseMs: options.backoffBaseMs ?? SEND_BACKOFF_BASE_MS, maxMs: options.backoffMaxMs ?? SEND_BACKOFF_MAX_MS }),
      batchMaxEvents: options.batchMaxEvents ?? DEFAULT_BATCH_MAX_EVENTS,
      batchMaxBytes: options.batchMaxBytes ?? DEFAULT_BATCH_MAX_BYTES,
      lingerMs: options.lingerMs ?? DEFAULT_LINGER_MS,
    });
    this.metrics.attach({
      queued: () => this.spool.queued,
      spoolBytes: () => this.spool.bytes,
      oldestUnackedAgeSeconds: () => {
        if (this.spool.queued === 0) return 0;
        const oldest = this.sender.oldestUnackedMs ?? this.spool.pendingSinceMs;
        return oldest === undefined ? 0 : Math.max(0, this.now() - oldest) / 1000;
      },
    });
  }

  /** Events written to the spool and not yet acknowledged by the sink. */
  get queued(): number {
    return this.spool.queued;
  }

  /** Claims the spool directory (INVALID_CONFIG if another live process has it), replays what it holds, starts the sink and the sender. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new InfermeshError('INTERNAL', 'an event publisher starts only once');
    await mkdir(this.options.dir, { recursive: true });
    const { lock, tookOverFrom } = await DirectoryLock.acquire(this.options.dir, 'event spool directory');
    this.lock = lock;
    if (tookOverFrom !== undefined) this.logger.warn({ dir: this.options.dir, pid: tookOverFrom }, 'took over the spool of a process that is gone');
    try {
      const firstSegment = await this.spool.load();
      this.appender = new GroupCommitAppender<WrittenEvent>({
        dir: this.options.dir,
        fileName: (segment) => SPOOL_SEGMENT_NAMING.fileName(segment),
        firstSegment,
        maxSegmentBytes: this.options.segmentBytes ?? Math.min(DEFAULT_SPOOL_SEGMENT_BYTES, Math.max(64 * 1024, Math.floor(this.maxBytes / 16))),
        fsync: this.options.fsync ?? false,
        now: this.now,
        onCommitted: (segment, size, written) => {
          this.spool.committed(segment, size, written.length);
          this.tail.committed(segment, size, written);
          this.sender.notify();
        },
        onSealed: (segment, size) => {
          this.spool.sealed(segment, size);
          this.sender.notify();
        },
        onWriteFailed: (error, written) => this.drops.drop('write_failed', written.length, (error as Error).message),
      });
      await this.options.sink.start();
    } catch (error) {
      await lock.release();
      throw error;
    }
    this.sender.start();
    const maxAgeMs = this.options.segmentMaxAgeMs ?? DEFAULT_SPOOL_SEGMENT_MAX_AGE_MS;
    this.rollTimer = setInterval(() => {
      if ((this.appender?.activeAgeMs() ?? 0) >= maxAgeMs) this.appender?.requestSeal();
    }, Math.min(maxAgeMs, ROLL_CHECK_INTERVAL_MS)).unref();
    this.state = 'running';
  }

  /** Appends the event to the spool; resolves once written (or dropped and counted). Never throws or rejects. */
  publish(event: EventInput): Promise<void> {
    try {
      const appender = this.appender;
      if (this.state !== 'running' || appender === undefined) {
        this.drops.drop('closed');
        return RESOLVED;
      }
      const encoded = encodeEventLine(event, { source: this.options.source, id: this.randomId(), timeMs: this.now() });
      const { bytes } = encoded;
      if (bytes > this.maxEventBytes) {
        this.drops.drop('too_large', 1, `a ${event.type} event of ${bytes} bytes exceeds ${this.maxEventBytes}`);
        return RESOLVED;
      }
      if (this.spool.bytes + appender.unwrittenBytes + bytes > this.maxBytes) {
        this.drops.drop('spool_full', 1, `the spool ${this.options.dir} holds ${this.spool.bytes} bytes (limit ${this.maxBytes}); is Kafka reachable?`);
        return RESOLVED;
      }
      return appender.append(encoded.line, bytes, { event: spooledEventOfLine(encoded), bytes });
    } catch (error) {
      this.drops.drop('unserializable', 1, (error as Error).message);
      return RESOLVED;
    }
  }

  /** Writes what is pending, keeps sending for the grace period, then closes; unsent events stay spooled. */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    clearInterval(this.rollTimer);
    await this.appender?.close();
    await this.sender.stop(this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
    await this.options.sink.stop();
    await this.spool.close();
    this.drops.flush();
    if (this.spool.queued > 0) this.logger.info({ queued: this.spool.queued, dir: this.options.dir }, 'events left in the spool for the next start');
    await this.lock?.release();
    this.state = 'stopped';
  }
}
