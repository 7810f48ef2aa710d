import { randomUUID } from 'node:crypto';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { InfermeshError } from '../../errors/infermesh-error.js';
import { DirectoryLock } from '../segments/directory-lock.js';
import { DropReporter } from '../publisher/drop-reporter.js';
import { encodeEventLine } from '../contract/encode-event-line.js';
import type { EventInput } from '../contract/event-envelope.js';
import { EventMetrics } from '../publisher/event-metrics.js';
import { DEFAULT_MAX_EVENT_BYTES, type EventPublisher } from '../publisher/event-publisher.js';
import { GroupCommitAppender } from '../segments/group-commit-appender.js';
import { EVENT_FILE_NAMING } from '../segments/segment-files.js';

/** An event file is closed and the next one started past this size, bytes (64 MiB). */
export const DEFAULT_EVENT_FILE_BYTES = 64 * 1024 ** 2;
/** Event files kept; the oldest is deleted beyond this many. */
export const DEFAULT_EVENT_FILES = 10;

const RESOLVED = Promise.resolve();

/** Options of an {@link NdjsonEventPublisher}. */
export interface NdjsonEventPublisherOptions {
  /** Directory of `events-<seq>.ndjson` files; one writing process at a time. */
  dir: string;
  source: string;
  logger: Logger;
  registry: Registry;
  now?: () => number;
  randomId?: () => string;
  maxFileBytes?: number;
  maxFiles?: number;
  maxEventBytes?: number;
  fsync?: boolean;
}

/**
 * The embedded default without Kafka: the same CloudEvents envelopes, one per line, appended with
 * group commit to rotating NDJSON files that `infermesh events tail` reads (by file and byte
 * offset, see the CLI's NdjsonEventReader). Every file starts at a line boundary.
 */
export class NdjsonEventPublisher implements EventPublisher {
  readonly description: string;
  private readonly logger: Logger;
  private readonly metrics: EventMetrics;
  private readonly drops: DropReporter;
  private readonly now: () => number;
  private readonly randomId: () => string;
  private readonly maxFiles: number;
  private readonly maxEventBytes: number;
  private appender: GroupCommitAppender | undefined;
  private lock: DirectoryLock | undefined;
  private running = false;
  private retention: Promise<void> = RESOLVED;

  constructor(private readonly options: NdjsonEventPublisherOptions) {
    this.logger = options.logger.child({ module: 'event-publisher' });
    this.description = `event files in ${options.dir}`;
    this.now = options.now ?? Date.now;
    this.randomId = options.randomId ?? randomUUID;
    this.maxFiles = Math.max(1, options.maxFiles ?? DEFAULT_EVENT_FILES);
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.metrics = new EventMetrics(options.registry);
    this.drops = new DropReporter(this.logger, this.metrics, this.now);
  }

  /** Claims the directory (INVALID_CONFIG if another live process writes there) and starts a new file after the existing ones. */
  async start(): Promise<void> {
    if (this.running || this.appender !== undefined) throw new InfermeshError('INTERNAL', 'an event publisher starts only once');
    await mkdir(this.options.dir, { recursive: true });
    const { lock, tookOverFrom } = await DirectoryLock.acquire(this.options.dir, 'events directory');
    this.lock = lock;
    if (tookOverFrom !== undefined) this.logger.warn({ dir: this.options.dir, pid: tookOverFrom }, 'took over the events directory of a process that is gone');
    const existing = await EVENT_FILE_NAMING.list(this.options.dir);
    // Always a new file: the last one may end in a torn line that an append would glue to the next event.
    this.appender = new GroupCommitAppender({
      dir: this.options.dir,
      fileName: (sequence) => EVENT_FILE_NAMING.fileName(sequence),
      firstSegment: (existing.at(-1) ?? 0) + 1,
      maxSegmentBytes: this.options.maxFileBytes ?? DEFAULT_EVENT_FILE_BYTES,
      fsync: this.options.fsync ?? false,
      now: this.now,
      onCommitted: (_file, _size, types) => {
        for (const type of types) this.metrics.published.inc({ type });
      },
      onSealed: () => {
        this.retention = this.retention.then(() => this.deleteOldFiles());
      },
      onWriteFailed: (error, types) => this.drops.drop('write_failed', types.length, (error as Error).message),
    });
    await this.deleteOldFiles();
    this.running = true;
  }

  /** Appends the event; resolves once written (or dropped and counted). Never throws or rejects. */
  publish(event: EventInput): Promise<void> {
    try {
      if (!this.running || this.appender === undefined) {
        this.drops.drop('closed');
        return RESOLVED;
      }
      const { line, bytes, type } = encodeEventLine(event, { source: this.options.source, id: this.randomId(), timeMs: this.now() });
      if (bytes > this.maxEventBytes) {
        this.drops.drop('too_large', 1, `a ${event.type} event of ${bytes} bytes exceeds ${this.maxEventBytes}`);
        return RESOLVED;
      }
      return this.appender.append(line, bytes, type);
    } catch (error) {
      this.drops.drop('unserializable', 1, (error as Error).message);
      return RESOLVED;
    }
  }

  /** Writes what is pending and closes the current file. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.appender?.close();
    await this.retention;
    this.drops.flush();
    await this.lock?.release();
  }

  private async deleteOldFiles(): Promise<void> {
    const files = await EVENT_FILE_NAMING.list(this.options.dir);
    const active = this.appender?.activeSegment;
    for (const sequence of files.slice(0, Math.max(0, files.length - this.maxFiles))) {
      if (sequence === active) continue;
      await unlink(join(this.options.dir, EVENT_FILE_NAMING.fileName(sequence))).catch((error: Error) =>
        this.logger.warn({ err: error.message, file: sequence }, 'cannot delete an old event file'),
      );
    }
  }
}
