import { writeSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InfermeshError } from '../../errors/infermesh-error.js';

/** Options of a {@link GroupCommitAppender}; `Tag` is what the caller keeps per line (its event type, say). */
export interface GroupCommitAppenderOptions<Tag> {
  dir: string;
  /** File name of a segment, e.g. `events-00000000000000000007.ndjson`. */
  fileName(segment: number): string;
  /** Sequence number of the first segment this appender opens (past every existing one). */
  firstSegment: number;
  /** A write that would take a non-empty segment past this size opens the next segment first, bytes. */
  maxSegmentBytes: number;
  /** fdatasync after every write: survives power loss, not just a killed process. */
  fsync: boolean;
  /** Milliseconds since the epoch, for segment ages. */
  now(): number;
  /** After each write: the segment, its size now, and the tags of the lines written. */
  onCommitted?(segment: number, size: number, tags: readonly Tag[]): void;
  /** A write failed: its lines are not durable and their appends resolve anyway. */
  onWriteFailed?(error: unknown, tags: readonly Tag[]): void;
  /** A segment was closed for good at `size` bytes; the next write opens a new segment. */
  onSealed?(segment: number, size: number): void;
}

/** Lines waiting for the next write; every append in it resolves when that write completes. */
class Batch<Tag> {
  readonly lines: string[] = [];
  readonly tags: Tag[] = [];
  bytes = 0;
  readonly done: Promise<void>;
  resolve!: () => void;

  constructor() {
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }
}

/**
 * Appends lines to numbered segment files with group commit: the appends of one event-loop turn
 * go into a single write at the end of that turn (setImmediate), and appends made while a write
 * is in progress go together into the next one. Many concurrent publishers thus cost few system
 * calls, and none waits for a timer. The write itself is synchronous: a few kilobytes into the
 * page cache cost microseconds, less than handing them to libuv's thread pool and being woken
 * when it is done (which also put a thread hop on every request's path at light load); with
 * `fsync`, the flush to disk still runs on the thread pool.
 */
export class GroupCommitAppender<Tag = string> {
  private pending: Batch<Tag> | undefined;
  private inFlightBytes = 0;
  /** True while a drain loop runs; cleared by the loop itself in the same tick it finds nothing left. */
  private draining = false;
  private drained: Promise<void> = Promise.resolve();
  private sealRequested = false;
  private closed = false;
  private handle: FileHandle | undefined;
  private active: { segment: number; size: number; openedAtMs: number } | undefined;
  private nextSegment: number;

  constructor(private readonly options: GroupCommitAppenderOptions<Tag>) {
    this.nextSegment = options.firstSegment;
  }

  /** Bytes appended but not yet written (queued or being written). */
  get unwrittenBytes(): number {
    return this.inFlightBytes + (this.pending?.bytes ?? 0);
  }

  /** The segment being written, or undefined between a seal and the next write. */
  get activeSegment(): number | undefined {
    return this.active?.segment;
  }

  /** Milliseconds since the active segment was opened; undefined when none is open. */
  activeAgeMs(): number | undefined {
    return this.active === undefined ? undefined : this.options.now() - this.active.openedAtMs;
  }

  /**
   * Queues `line` (ending in a newline; `bytes` is its UTF-8 length) for the next write. Resolves
   * when that write has completed or failed (failures go to `onWriteFailed`); never rejects.
   */
  append(line: string, bytes: number, tag: Tag): Promise<void> {
    if (this.closed) throw new InfermeshError('SHUTTING_DOWN', 'the appender is closed');
    const batch = (this.pending ??= new Batch<Tag>());
    batch.lines.push(line);
    batch.tags.push(tag);
    batch.bytes += bytes;
    this.kick();
    return batch.done;
  }

  /** Closes the active segment after the write in progress, so the next write starts a new one. */
  requestSeal(): void {
    if (this.active === undefined || this.closed) return;
    this.sealRequested = true;
    this.kick();
  }

  /** Writes what is queued, closes the active segment and refuses further appends. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drained;
    await this.seal();
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    // The rest of this turn's appends join the first write.
    this.drained = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.sealRequested) {
          this.sealRequested = false;
          await this.seal();
          continue;
        }
        const batch = this.pending;
        if (batch === undefined) return;
        this.pending = undefined;
        this.inFlightBytes = batch.bytes;
        try {
          await this.write(batch);
        } finally {
          this.inFlightBytes = 0;
          batch.resolve();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async write(batch: Batch<Tag>): Promise<void> {
    try {
      if (this.active !== undefined && this.active.size > 0 && this.active.size + batch.bytes > this.options.maxSegmentBytes) await this.seal();
      const { handle, active } = await this.openIfNeeded();
      const buffer = Buffer.from(batch.lines.join(''));
      let written = 0;
      // A regular file takes the whole buffer in one write in practice; the loop covers a short write.
      while (written < buffer.length) written += writeSync(handle.fd, buffer, written, buffer.length - written);
      if (this.options.fsync) await handle.datasync();
      active.size += buffer.length;
      this.options.onCommitted?.(active.segment, active.size, batch.tags);
    } catch (error) {
      this.options.onWriteFailed?.(error, batch.tags);
      // Part of the batch may be in the file: seal it there, so that part is a torn last line readers skip.
      await this.seal(true).catch(() => undefined);
    }
  }

  private async openIfNeeded(): Promise<{ handle: FileHandle; active: NonNullable<GroupCommitAppender['active']> }> {
    if (this.handle !== undefined && this.active !== undefined) return { handle: this.handle, active: this.active };
    const segment = this.nextSegment;
    const handle = await open(join(this.options.dir, this.options.fileName(segment)), 'a');
    this.nextSegment += 1;
    this.handle = handle;
    this.active = { segment, size: 0, openedAtMs: this.options.now() };
    return { handle, active: this.active };
  }

  private async seal(sizeFromDisk = false): Promise<void> {
    const { handle, active } = this;
    if (handle === undefined || active === undefined) return;
    this.handle = undefined;
    this.active = undefined;
    await handle.close();
    const size = sizeFromDisk ? await stat(join(this.options.dir, this.options.fileName(active.segment))).then((stats) => stats.size, () => active.size) : active.size;
    this.options.onSealed?.(active.segment, size);
  }
}
