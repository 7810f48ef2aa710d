import { open, readFile, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SPOOL_ACK_NAMING, SPOOL_SEGMENT_NAMING } from '../segments/segment-files.js';

/** Bytes read at once when counting the unacknowledged events of an existing spool. */
const COUNT_BUFFER_BYTES = 1024 * 1024;
/** Width of the acknowledged offset in an ack file: fixed, so an update is one small overwrite in place. */
const ACK_OFFSET_DIGITS = 20;
const NEWLINE = 0x0a;

/** One segment file of the spool and how far the sink has acknowledged it. */
export interface SpoolSegment {
  readonly sequence: number;
  /** Bytes written so far (only whole writes); the final size once sealed. */
  size: number;
  /** No more writes will come: the segment may be deleted once acknowledged to its end. */
  sealed: boolean;
  /** Bytes, from the start, whose events the sink has acknowledged (always a line boundary). */
  acked: number;
  ackHandle?: FileHandle;
}

/**
 * The spool directory's bookkeeping: its segments in order, their acknowledged offsets (kept in
 * an ack file beside each segment, so a restart resends at most the batch in flight), how many
 * events wait and how many bytes the files take.
 */
export class EventSpool {
  readonly segments: SpoolSegment[] = [];
  /** Events written and not yet acknowledged. */
  queued = 0;
  /** Bytes of the segment files on disk. */
  bytes = 0;
  /** When the queue last became non-empty (ms since the epoch); undefined while it is empty. */
  pendingSinceMs: number | undefined;

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
    private readonly fsync: boolean,
    private readonly now: () => number,
  ) {}

  /** Reads what a previous process left: every segment is sealed; fully acknowledged ones are deleted. Returns the next free sequence. */
  async load(): Promise<number> {
    const segmentSequences = await SPOOL_SEGMENT_NAMING.list(this.dir);
    const ackSequences = await SPOOL_ACK_NAMING.list(this.dir);
    const existing = new Set(segmentSequences);
    for (const sequence of ackSequences) {
      if (!existing.has(sequence)) await unlink(this.ackPath(sequence)).catch(() => undefined);
    }
    for (const sequence of segmentSequences) {
      const size = (await stat(this.segmentPath(sequence))).size;
      const acked = Math.min(size, await this.readAck(sequence));
      const segment: SpoolSegment = { sequence, size, sealed: true, acked };
      if (acked >= size) {
        await this.deleteFiles(segment);
        continue;
      }
      this.segments.push(segment);
      this.bytes += size;
      this.queued += await this.countLines(sequence, acked, size);
    }
    if (this.queued > 0) this.pendingSinceMs = this.now();
    if (this.segments.length > 0) {
      this.logger.info({ segments: this.segments.length, events: this.queued, bytes: this.bytes }, 'replaying unacknowledged events from the spool');
    }
    return Math.max(0, ...segmentSequences, ...ackSequences) + 1;
  }

  /** The appender wrote `count` events: segment `sequence` is now `size` bytes. */
  committed(sequence: number, size: number, count: number): void {
    let segment = this.segments.at(-1);
    if (segment?.sequence !== sequence) {
      segment = { sequence, size: 0, sealed: false, acked: 0 };
      this.segments.push(segment);
    }
    this.bytes += size - segment.size;
    segment.size = size;
    if (this.queued === 0 && count > 0) this.pendingSinceMs = this.now();
    this.queued += count;
  }

  /** The appender closed segment `sequence` for good at `size` bytes (its size on disk). */
  sealed(sequence: number, size: number): void {
    let segment = this.segments.find((candidate) => candidate.sequence === sequence);
    if (segment === undefined) {
      // Opened but never committed (its first write failed): the sender still reads it, skips the torn bytes and deletes it.
      if (size === 0) return;
      segment = { sequence, size: 0, sealed: true, acked: 0 };
      this.segments.push(segment);
    }
    this.bytes += size - segment.size;
    segment.size = size;
    segment.sealed = true;
  }

  /** Records that the sink acknowledged `segment` up to byte `offset` (`count` events); deletes it when done. */
  async acknowledge(segment: SpoolSegment, offset: number, count: number): Promise<void> {
    segment.acked = offset;
    this.queued = Math.max(0, this.queued - count);
    if (this.queued === 0) this.pendingSinceMs = undefined;
    if (segment.sealed && segment.acked >= segment.size) {
      await this.remove(segment);
      return;
    }
    segment.ackHandle ??= await this.openAckFile(segment.sequence);
    await segment.ackHandle.write(`${String(offset).padStart(ACK_OFFSET_DIGITS, '0')}\n`, 0);
    if (this.fsync) await segment.ackHandle.datasync();
  }

  /** Deletes a sealed, fully acknowledged segment and its ack file. */
  async remove(segment: SpoolSegment): Promise<void> {
    const index = this.segments.indexOf(segment);
    if (index !== -1) this.segments.splice(index, 1);
    this.bytes -= segment.size;
    await this.deleteFiles(segment);
  }

  /** Closes the open ack files. */
  async close(): Promise<void> {
    for (const segment of this.segments) {
      await segment.ackHandle?.close().catch(() => undefined);
      delete segment.ackHandle;
    }
  }

  /** Path of segment `sequence`'s file. */
  segmentPath(sequence: number): string {
    return join(this.dir, SPOOL_SEGMENT_NAMING.fileName(sequence));
  }

  private ackPath(sequence: number): string {
    return join(this.dir, SPOOL_ACK_NAMING.fileName(sequence));
  }

  private async deleteFiles(segment: SpoolSegment): Promise<void> {
    await segment.ackHandle?.close().catch(() => undefined);
    delete segment.ackHandle;
    // The segment goes first: a crash in between leaves an orphan ack file (removed on load), never an unacked-looking segment.
    await unlink(this.segmentPath(segment.sequence)).catch(() => undefined);
    await unlink(this.ackPath(segment.sequence)).catch(() => undefined);
  }

  /** Opens an ack file for in-place updates; never truncates one a previous process wrote. */
  private async openAckFile(sequence: number): Promise<FileHandle> {
    const path = this.ackPath(sequence);
    return open(path, 'r+').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return open(path, 'w');
      throw error;
    });
  }

  private async readAck(sequence: number): Promise<number> {
    const text = await readFile(this.ackPath(sequence), 'utf8').catch(() => '');
    const offset = Number.parseInt(text, 10);
    if (text !== '' && !Number.isSafeInteger(offset)) this.logger.warn({ segment: sequence }, 'unreadable ack file; resending the whole segment');
    return Number.isSafeInteger(offset) && offset > 0 ? offset : 0;
  }

  /** Complete lines between `from` and `to` in segment `sequence` (a torn last line is not counted). */
  private async countLines(sequence: number, from: number, to: number): Promise<number> {
    const handle = await open(this.segmentPath(sequence), 'r');
    try {
      const buffer = Buffer.allocUnsafe(COUNT_BUFFER_BYTES);
      let count = 0;
      for (let position = from; position < to; ) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, to - position), position);
        if (bytesRead === 0) break;
        for (let index = buffer.indexOf(NEWLINE, 0); index !== -1 && index < bytesRead; index = buffer.indexOf(NEWLINE, index + 1)) count += 1;
        position += bytesRead;
      }
      return count;
    } finally {
      await handle.close();
    }
  }
}
