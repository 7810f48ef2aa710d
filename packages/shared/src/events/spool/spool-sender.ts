import { open, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { ExponentialBackoff } from '../../watch/exponential-backoff.js';
import type { DropReporter } from '../publisher/drop-reporter.js';
import type { EventMetrics } from '../publisher/event-metrics.js';
import type { EventSink } from '../publisher/event-publisher.js';
import type { EventSpool, SpoolSegment } from './event-spool.js';
import { readLines } from '../segments/read-lines.js';
import type { SpoolTail } from './spool-tail.js';
import { readSpooledEvent, type SpooledEvent } from '../contract/spooled-event.js';

/** Milliseconds the sender sleeps when idle before looking at the spool again (it is also woken by every write). */
export const SENDER_IDLE_POLL_MS = 1_000;

/** Milliseconds of failed delivery after which the outage is logged at ERROR (once): the spool is filling up and a human should look. */
export const OUTAGE_ERROR_AFTER_MS = 60_000;

/** Options of a {@link SpoolSender}. */
export interface SpoolSenderOptions {
  spool: EventSpool;
  /** The events last written, in memory: sent from there when it holds them, read from the files otherwise. */
  tail: SpoolTail;
  sink: EventSink;
  logger: Logger;
  metrics: EventMetrics;
  drops: DropReporter;
  backoff: ExponentialBackoff;
  now(): number;
  /** Most events per batch sent to the sink. */
  batchMaxEvents: number;
  /** Bytes read from the spool per batch (a single larger event still goes alone). */
  batchMaxBytes: number;
  /** Milliseconds a batch that is not full waits for more events of the segment being written (0: send at once). */
  lingerMs: number;
}

/** Events of one segment from its acknowledged offset on. */
interface Read {
  events: SpooledEvent[];
  /** Offset after the batch's last line. */
  end: number;
  /** Lines consumed, including unreadable ones skipped. */
  lines: number;
}

/** Events read from one segment, to be sent and acknowledged together. */
interface Batch extends Read {
  segment: SpoolSegment;
}

class StopDeadline extends Error {}

/**
 * Drains the spool into the sink: takes a batch from the spool's in-memory tail while it keeps up,
 * else reads it back from the segment files (so memory stays bounded, whatever the backlog), sends
 * it until the sink acknowledges it, records the acknowledged offset, deletes finished segments,
 * and backs off while the sink is unavailable.
 */
export class SpoolSender {
  private loop: Promise<void> | undefined;
  private wake: () => void = () => undefined;
  private stopping = false;
  private deadlineMs = Number.POSITIVE_INFINITY;
  private deadlineReached: Promise<never>;
  private reachDeadline: () => void = () => undefined;
  private reader: { sequence: number; handle: FileHandle } | undefined;
  private batchLimit: number;
  private failingSince: number | undefined;
  private outageReported = false;
  /** The batch about to be read was already given its linger time. */
  private lingered = false;
  /** Publish time of the first event of the batch being sent. */
  private oldestInFlightMs: number | undefined;

  constructor(private readonly options: SpoolSenderOptions) {
    this.batchLimit = options.batchMaxEvents;
    this.deadlineReached = new Promise<never>((_, reject) => (this.reachDeadline = () => reject(new StopDeadline())));
    this.deadlineReached.catch(() => undefined);
  }

  /** Publish time of the oldest event not yet acknowledged, when it is known (ms since the epoch). */
  get oldestUnackedMs(): number | undefined {
    return this.oldestInFlightMs;
  }

  /** Starts draining in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /** New data was written: look now instead of at the next poll. */
  notify(): void {
    this.wake();
  }

  /** Keeps sending for up to `graceMs` (the batch in flight, and more while the sink keeps up), then stops; the rest stays spooled. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.deadlineMs = this.options.now() + graceMs;
    // Referenced: whoever awaits stop() keeps the process alive until the deadline.
    const timer = setTimeout(() => this.reachDeadline(), graceMs);
    this.wake();
    await this.loop;
    clearTimeout(timer);
    await this.reader?.handle.close().catch(() => undefined);
    this.reader = undefined;
  }

  private pastDeadline(): boolean {
    return this.stopping && this.options.now() >= this.deadlineMs;
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    while (!this.pastDeadline()) {
      try {
        const batch = await this.readBatch();
        if (batch === undefined) {
          if (this.stopping) return;
          await this.idle(SENDER_IDLE_POLL_MS);
          continue;
        }
        const outcome = batch.events.length === 0 ? 'sent' : await this.deliver(batch);
        if (outcome === 'stopped') return;
        if (outcome === 'reread') continue;
        await this.options.spool.acknowledge(batch.segment, batch.end, batch.lines);
        this.recordDelivered(batch.events);
      } catch (error) {
        if (error instanceof StopDeadline) return;
        // A local file error (deleted spool, full disk for the ack file): keep the events, retry later.
        logger.warn({ err: (error as Error).message }, 'event spool sender failed; retrying');
        await this.idle(this.options.backoff.fail());
      }
    }
  }

  /** A small batch from the segment still being written waits (once) for more events to join it. */
  private shouldLinger(segment: SpoolSegment, lines: number): boolean {
    return !this.lingered && !this.stopping && this.options.lingerMs > 0 && !segment.sealed && lines < this.batchLimit;
  }

  private async readBatch(): Promise<Batch | undefined> {
    const { spool, tail } = this.options;
    for (;;) {
      const segment = spool.segments[0];
      if (segment === undefined) return undefined;
      if (segment.acked >= segment.size) {
        if (!segment.sealed) return undefined;
        await this.closeReader();
        await spool.remove(segment);
        continue;
      }
      const held = tail.peek(segment.sequence, segment.acked, this.batchLimit, this.options.batchMaxBytes);
      const read = held === undefined ? await this.readFile(segment) : { ...held, lines: held.events.length };
      if (read === 'torn') continue;
      if (read === undefined) return undefined;
      if (this.shouldLinger(segment, read.lines)) {
        // Fewer, fuller requests: at a steady trickle, each send would otherwise carry a handful of events.
        this.lingered = true;
        await new Promise((resolve) => setTimeout(resolve, this.options.lingerMs));
        continue;
      }
      this.lingered = false;
      this.oldestInFlightMs = read.events[0]?.timeMs;
      return { segment, ...read };
    }
  }

  /** The next lines of `segment` from its files; `torn` when a torn last line was skipped, undefined when nothing complete is there yet. */
  private async readFile(segment: SpoolSegment): Promise<Read | 'torn' | undefined> {
    const handle = await this.readerFor(segment);
    const chunk = await readLines(handle, segment.acked, segment.size, { bufferBytes: this.options.batchMaxBytes, maxLines: this.batchLimit });
    if (chunk.lines.length === 0) {
      if (!chunk.partial || !segment.sealed) return undefined;
      // A process killed mid-write left half a line: its publish() never resolved, so no response promised it.
      this.options.logger.warn({ segment: segment.sequence, offset: segment.acked, bytes: segment.size - segment.acked }, 'skipping a torn last line in the spool');
      await this.options.spool.acknowledge(segment, segment.size, 0);
      return 'torn';
    }
    const events: SpooledEvent[] = [];
    for (const line of chunk.lines) {
      const event = readSpooledEvent(line.text);
      if (event !== undefined) {
        events.push(event);
      } else {
        this.options.logger.warn({ segment: segment.sequence, offset: line.start }, 'skipping an unreadable line in the spool');
        this.options.drops.drop('corrupt');
      }
    }
    return { events, end: chunk.end, lines: chunk.lines.length };
  }

  /** Sends until acknowledged; `stopped` when stopping cut it short, `reread` to retry in smaller batches. */
  private async deliver(batch: Batch): Promise<'sent' | 'stopped' | 'reread'> {
    const { sink, logger, backoff, spool } = this.options;
    for (;;) {
      try {
        await Promise.race([sink.send(batch.events), this.deadlineReached]);
        backoff.succeed();
        if (this.failingSince !== undefined) {
          logger.info({ outageMs: this.options.now() - this.failingSince, queued: spool.queued }, `delivering events to ${sink.description} again`);
          this.failingSince = undefined;
          this.outageReported = false;
        }
        this.batchLimit = this.options.batchMaxEvents;
        return 'sent';
      } catch (error) {
        if (error instanceof StopDeadline || this.pastDeadline()) return 'stopped';
        const message = (error as Error).message;
        if (this.failingSince === undefined) {
          this.failingSince = this.options.now();
          logger.warn({ err: message, queued: spool.queued }, `cannot deliver events to ${sink.description}; they stay in the spool and are retried`);
        } else if (!this.outageReported && this.options.now() - this.failingSince >= OUTAGE_ERROR_AFTER_MS) {
          this.outageReported = true;
          logger.error({ err: message, queued: spool.queued, spoolBytes: spool.bytes, outageMs: this.options.now() - this.failingSince }, `events have not reached ${sink.description} for over a minute; the spool keeps them until it is full`);
        } else {
          logger.debug({ err: message, queued: spool.queued }, 'event delivery failed again');
        }
        if ((error as { retriable?: boolean }).retriable === false && batch.events.length > 1) {
          // A refusal of the batch itself (e.g. too large for the broker): retry it in smaller pieces.
          this.batchLimit = Math.max(1, Math.floor(batch.events.length / 2));
          await this.idle(backoff.fail());
          return this.pastDeadline() ? 'stopped' : 'reread';
        }
        await this.idle(backoff.fail());
        if (this.pastDeadline()) return 'stopped';
      }
    }
  }

  private recordDelivered(events: readonly SpooledEvent[]): void {
    const { metrics, now } = this.options;
    const nowMs = now();
    const publishedByType = new Map<string, number>();
    for (const event of events) {
      publishedByType.set(event.type, (publishedByType.get(event.type) ?? 0) + 1);
      metrics.publishLatency.observe(Math.max(0, nowMs - event.timeMs) / 1000);
    }
    for (const [type, count] of publishedByType) metrics.published.inc({ type }, count);
    this.oldestInFlightMs = undefined;
  }

  private async readerFor(segment: SpoolSegment): Promise<FileHandle> {
    if (this.reader?.sequence === segment.sequence) return this.reader.handle;
    await this.closeReader();
    const handle = await open(this.options.spool.segmentPath(segment.sequence), 'r');
    this.reader = { sequence: segment.sequence, handle };
    return handle;
  }

  private async closeReader(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    await reader?.handle.close().catch(() => undefined);
  }

  /** Waits `ms`, or less when woken by new data or stop(). */
  private idle(ms: number): Promise<void> {
    const wait = this.stopping ? Math.min(ms, Math.max(0, this.deadlineMs - this.options.now())) : ms;
    return new Promise((resolve) => {
      const timer = setTimeout(done, wait);
      // An idle sender must not keep the process alive, but a stopping one is awaited.
      if (!this.stopping) timer.unref();
      this.wake = done;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}
